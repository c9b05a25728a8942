"""Reports over HTTP on SQLite and PostgreSQL: the list, a report streamed as CSV, the format
chosen by parameter or Accept, and the permission checked."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.http_world import GOOD, PASSWORD, World, http_world

PROBLEM = "application/problem+json"
NEW = {"topic": "TERMINATION", "attributes": GOOD, "place": "CC", "channel": "PHONE"}
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with http_world(database_url) as w:
        yield w


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(world.app) as c:
        yield c


def login(client: TestClient[Any], who: str) -> dict[str, str]:
    reply = client.post("/sessions", json={"login": who, "password": PASSWORD})
    assert reply.status_code == 201, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_a_manager_lists_the_reports_and_downloads_one_as_csv(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client, "olga")
    for client_id in (1, 2, 1):
        reply = client.post("/appeals", json={**NEW, "client_id": client_id}, headers=olga)
        assert reply.status_code == 201, reply.text
    anna = login(client, "anna")
    listed = client.get("/reports", headers=anna)
    assert listed.status_code == 200, listed.text
    codes = [r["code"] for r in listed.json()]
    assert codes[:6] == ["by_topic", "by_operator", "repeat_appeals", "sla", "backlog", "reopened"]
    reply = client.get(
        "/reports/by_topic", params={"from": TODAY, "to": TODAY, "tz": "UTC"}, headers=anna
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert 'filename="by_topic.csv"' in reply.headers["content-disposition"]
    header, *body = rows(reply.text)
    assert header[:2] == ["Topic", "Appeals"]
    assert body == [["TERMINATION", "3", *body[0][2:]]]
    repeats = client.get(
        "/reports/repeat_appeals",
        params={"from": TODAY, "to": TODAY, "repeat_days": "2", "by": "topic"},
        headers={**anna, "Accept": "text/csv"},
    )
    assert repeats.status_code == 200, repeats.text
    assert rows(repeats.text)[1][:3] == ["TERMINATION", "3", "1"]


def test_a_filter_narrows_and_bad_parameters_are_problems(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client, "olga")
    client.post("/appeals", json={**NEW, "client_id": 1}, headers=olga)
    anna = login(client, "anna")
    narrowed = client.get(
        "/reports/by_topic",
        params={"from": TODAY, "to": TODAY, "filter": 'Client.Category = "VIP"'},
        headers=anna,
    )
    assert narrowed.status_code == 200, narrowed.text
    assert rows(narrowed.text)[1:] == []
    for params, status, word in (
        ({"from": "yesterday", "to": TODAY}, 422, "from"),
        ({"from": TODAY, "to": TODAY, "format": "pdf"}, 422, "pdf"),
        ({"from": TODAY, "to": TODAY, "by": "colour"}, 422, "colour"),
        ({"from": TODAY, "to": TODAY, "tz": "Mars/Base"}, 422, "Mars/Base"),
        ({"from": TODAY, "to": TODAY, "filter": "Appeal.Nope = 1"}, 422, "filter:1:8: Appeal"),
    ):
        reply = client.get("/reports/by_topic", params=params, headers=anna)
        assert reply.status_code == status, (params, reply.text)
        assert reply.headers["content-type"] == PROBLEM
        assert word in reply.text
    missing = client.get("/reports/nope", params={"from": TODAY, "to": TODAY}, headers=anna)
    assert missing.status_code == 404


def test_reports_need_the_report_and_export_permissions(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client, "olga")
    assert client.get("/reports", headers=olga).status_code == 403
    reply = client.get("/reports/by_topic", params={"from": TODAY, "to": TODAY}, headers=olga)
    assert reply.status_code == 403
    assert client.get("/reports").status_code == 401


def test_the_openapi_document_describes_the_report_routes(client) -> None:  # type: ignore[no-untyped-def]
    document = client.get("/schema/openapi.json").json()
    operation = document["paths"]["/reports/{code}"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"from", "to", "tz", "filter", "by", "bucket", "archived", "format"} <= names
    assert "/reports" in document["paths"]


def test_schemathesis_finds_no_server_error_in_the_report_routes(world: World) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    olga = world.gateway.authenticate("olga", PASSWORD).principal
    world.engine.register_contact(olga, place="CC", channel="PHONE", client_id=1, drafts=[_draft()])
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", world.app)
    token = world.gateway.authenticate("anna", PASSWORD).token
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/reports")
    ]
    assert len(operations) == 2
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()


def _draft() -> Any:
    from datetime import date

    from crmcms import AppealDraft

    return AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})
