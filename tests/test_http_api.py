"""The HTTP API through httpx, on SQLite and PostgreSQL: every resource and every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.http_world import GOOD, PASSWORD, World, http_world

from crmcms import Limits
from crmcms.engine import IdempotencyRecord
from crmcms.http.idempotency import PENDING, request_fingerprint
from crmcms.http.replies import plain
from crmcms.http.schemas import AppealCreate
from crmcms.model import SYSTEM
from crmcms.storage.sql import AppealFilters, FilterTab, SavedFilter

PROBLEM = "application/problem+json"
NEW = {"topic": "TERMINATION", "attributes": GOOD, "place": "CC", "channel": "PHONE"}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with http_world(database_url, limits=Limits(text_length=100, request_size=2000)) as w:
        yield w


@pytest.fixture
def client(world: World) -> Iterator[TestClient[Any]]:
    with TestClient(world.app) as c:
        yield c


def login(client: TestClient[Any], who: str = "olga") -> dict[str, str]:
    reply = client.post("/sessions", json={"login": who, "password": PASSWORD})
    assert reply.status_code == 201, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def new_appeal(client: TestClient[Any], auth: dict[str, str], client_id: int = 1) -> Any:
    reply = client.post("/appeals", json={**NEW, "client_id": client_id}, headers=auth)
    assert reply.status_code == 201, reply.text
    return reply.json()


def problem(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith(PROBLEM)
    body = reply.json()
    assert body["status"] == status
    return body


def test_a_session_token_opens_the_api_and_logging_out_closes_it(client) -> None:  # type: ignore[no-untyped-def]
    problem(client.post("/sessions", json={"login": "bis", "password": "wrong"}), 401)
    auth = login(client)
    assert client.get("/queues", headers=auth).status_code == 200
    assert client.delete("/sessions/current", headers=auth).status_code == 204
    gone = problem(client.get("/queues", headers=auth), 401)
    assert gone["detail"] == "the session is not valid"


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nonsense", "Basic b2xnYTp4", "bearer " + "x" * 300]
)
def test_a_missing_or_bad_token_is_401_with_a_bearer_challenge(client, header) -> None:  # type: ignore[no-untyped-def]
    headers = {} if header is None else {"Authorization": header}
    reply = client.get("/appeals/1", headers=headers)
    problem(reply, 401)
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_contacts_are_registered_with_their_appeals_and_read_back(client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    body = {
        "place": "CC",
        "channel": "PHONE",
        "client_id": 1,
        "appeals": [{"topic": "TERMINATION", "attributes": GOOD}],
    }
    reply = client.post("/contacts", json=body, headers=auth)
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert made["contact"]["client_id"] == 1
    assert [a["topic"] for a in made["appeals"]] == ["TERMINATION"]
    contact_id = made["contact"]["id"]
    assert reply.headers["location"] == f"/contacts/{contact_id}"
    assert client.get(f"/contacts/{contact_id}", headers=auth).json() == made["contact"]
    problem(client.get("/contacts/999999", headers=auth), 404)
    bad = {**body, "direction": "sideways", "appeals": [{"topic": "TERMINATION"}]}
    refused = problem(client.post("/contacts", json=bad, headers=auth), 422)
    assert "direction" in {e["code"] for e in refused["errors"]}


def test_an_appeal_is_registered_read_and_edited_under_its_etag(client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    made = new_appeal(client, auth)
    reply = client.get(f"/appeals/{made['id']}", headers=auth)
    assert reply.json() == made
    assert reply.headers["etag"] == '"1"'
    edited = client.patch(
        f"/appeals/{made['id']}",
        json={"attributes": {"166": "Другое"}},
        headers={**auth, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["attributes"]["166"] == "Другое"
    assert edited.headers["etag"] == '"2"'
    stale = client.patch(
        f"/appeals/{made['id']}",
        json={"attributes": {"166": "Переезд"}},
        headers={**auth, "If-Match": '"1"'},
    )
    problem(stale, 412)
    after = client.get(f"/appeals/{made['id']}", headers=auth).json()
    assert after["attributes"]["166"] == "Другое"
    assert after["version"] == 2
    bad = {**auth, "If-Match": "version two"}
    body = {"attributes": {"166": "x"}}
    problem(client.patch(f"/appeals/{made['id']}", json=body, headers=bad), 400)


def test_every_invalid_attribute_value_is_reported_at_once(client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    body = {**NEW, "client_id": 1, "attributes": {"168": "soon", "nope": "x", "166": "Переезд"}}
    refused = problem(client.post("/appeals", json=body, headers=auth), 422)
    assert {e["code"] for e in refused["errors"]} == {"168", "nope"}
    made = new_appeal(client, auth)
    edit = {"attributes": {"168": "later", "203": "maybe"}}
    refused = problem(client.patch(f"/appeals/{made['id']}", json=edit, headers=auth), 422)
    assert {e["code"] for e in refused["errors"]} == {"168", "203"}
    assert client.get(f"/appeals/{made['id']}", headers=auth).json()["version"] == 1


def test_a_malformed_body_is_400_naming_the_field(client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    problem(client.post("/appeals", content=b"{not json", headers=auth), 400)
    refused = problem(client.post("/appeals", json={"attributes": {}}, headers=auth), 400)
    assert refused["errors"]


def test_oversized_bodies_and_texts_are_refused_before_any_work(world, client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    huge = {**NEW, "description": "x" * (4 * 2000 + 70000)}
    problem(client.post("/appeals", json=huge, headers=auth), 413)
    long = {**NEW, "client_id": 1, "description": "x" * 101}
    refused = problem(client.post("/appeals", json=long, headers=auth), 422)
    assert [e["code"] for e in refused["errors"]] == ["description"]
    assert world.engine.queue_appeals("REGISTRATION", operator=SYSTEM) == []


def test_an_appeal_of_another_queue_is_as_missing_as_none(client) -> None:  # type: ignore[no-untyped-def]
    olga, bis = login(client), login(client, "desk")
    made = new_appeal(client, olga)
    client.post(f"/appeals/{made['id']}/transitions/to_sd", headers=olga)
    for path in ("", "/attributes", "/transitions", "/why-in-queue", "/children"):
        missing = problem(client.get(f"/appeals/{made['id']}{path}", headers=bis), 404)
        assert missing["detail"] == f"appeal {made['id']!r} not found"
    problem(client.post(f"/appeals/{made['id']}/take", headers=bis), 404)
    problem(client.get("/appeals/987654", headers=bis), 404)


def test_idempotency_keys_replay_refuse_other_bodies_and_hold_running_ones(world, client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    body = {**NEW, "client_id": 1}
    first = client.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "crm-1"})
    again = client.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "crm-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(world.engine.queue_appeals("REGISTRATION", operator=SYSTEM)) == 1
    other = {**body, "description": "another"}
    reused = client.post("/appeals", json=other, headers={**auth, "Idempotency-Key": "crm-1"})
    assert "another request" in problem(reused, 422)["detail"]
    problem(client.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "a b"}), 400)
    # A request with the key still running: its in-flight marker is there, its result not.
    mark = request_fingerprint("olga", "POST /appeals", plain(AppealCreate(**body)))

    def running(tx):  # type: ignore[no-untyped-def]
        tx.uow.idempotency.add(IdempotencyRecord(PENDING + "crm-2", "http", mark, {}, tx.now))

    world.engine.run(running)
    busy = client.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "crm-2"})
    assert "still running" in problem(busy, 409)["detail"]
    assert len(world.engine.queue_appeals("REGISTRATION", operator=SYSTEM)) == 1


def test_an_abandoned_marker_stops_blocking_after_the_lease(world, client) -> None:  # type: ignore[no-untyped-def]
    auth = login(client)
    body = {**NEW, "client_id": 1}
    mark = request_fingerprint("olga", "POST /appeals", plain(AppealCreate(**body)))
    old = datetime.now(UTC) - timedelta(minutes=5)

    def abandoned(tx):  # type: ignore[no-untyped-def]
        tx.uow.idempotency.add(IdempotencyRecord(PENDING + "crm-3", "http", mark, {}, old))

    world.engine.run(abandoned)
    done = client.post("/appeals", json=body, headers={**auth, "Idempotency-Key": "crm-3"})
    assert done.status_code == 201, done.text


def test_a_key_of_the_integration_facade_is_the_same_key(world, client) -> None:  # type: ignore[no-untyped-def]
    from crmcms import Integration

    facade = Integration(world.engine, "olga")
    world.engine.trust_logins = True
    try:
        facade.create_appeal({**NEW, "client_id": 1}, idempotency_key="shared")
    finally:
        world.engine.trust_logins = False
    auth = login(client)
    reply = client.post(
        "/appeals", json={**NEW, "client_id": 1}, headers={**auth, "Idempotency-Key": "shared"}
    )
    problem(reply, 422)


def test_an_appeal_moves_along_its_route_with_every_reason_for_a_refusal(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client)
    made = new_appeal(client, olga)
    path = f"/appeals/{made['id']}"
    [option] = client.get(f"{path}/transitions", headers=olga).json()
    assert (option["code"], option["available"], option["reasons"]) == ("to_sd", True, [])
    moved = client.post(f"{path}/transitions/to_sd", json={"comment": "BIS"}, headers=olga)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["process"], moved.json()["queue"]) == ("transfer_sd", "67")
    assert moved.headers["etag"] == '"2"'
    why = client.get(f"{path}/why-in-queue", headers=olga).json()
    assert (why["queue"], why["transition"]) == ("67", "to_sd")
    assert "NOT_PSKOV" in why["reason"]
    options = client.get(f"{path}/transitions", headers=olga).json()
    assert options
    assert all(o["reasons"] for o in options if not o["available"])
    blocked = [o for o in options if not o["available"]]
    if blocked:
        refused = client.post(f"{path}/transitions/{blocked[0]['code']}", headers=olga)
        assert refused.status_code in (403, 409)
        assert refused.json()["reasons"] == blocked[0]["reasons"]
    problem(client.post(f"{path}/transitions/no_such", headers=olga), 404)
    kinds = [e["kind"] for e in client.get(f"{path}/history", headers=olga).json()]
    assert kinds[0] == "created"
    registered_at = datetime.fromisoformat(made["registered_at"])
    then = (registered_at + timedelta(microseconds=1)).isoformat()
    past = client.get(f"{path}/state", params={"at": then}, headers=olga)
    assert past.status_code == 200, past.text
    assert past.json()["process"] == "registration"
    problem(client.get(f"{path}/state", params={"at": "2026-01-01T00:00:00"}, headers=olga), 422)


def test_take_assign_close_and_reopen(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client)
    made = new_appeal(client, olga)
    path = f"/appeals/{made['id']}"
    client.post(f"{path}/transitions/to_sd", headers=olga)
    taken = client.post(f"{path}/take", headers={**olga, "If-Match": '"2"'})
    assert taken.status_code == 200, taken.text
    assert taken.json()["responsible"] == "olga"
    problem(client.post(f"{path}/take", headers={**olga, "If-Match": '"2"'}), 412)
    refused = problem(client.post(f"{path}/assign", json={"assignee": "bis"}, headers=olga), 403)
    assert refused["reasons"] == ["olga is not an administrator of queue 67"]
    admin = login(client, "Администратор")
    given = client.post(f"{path}/assign", json={"assignee": "bis"}, headers=admin)
    assert given.status_code == 200, given.text
    assert given.json()["responsible"] == "bis"
    closed = client.post(f"{path}/close", json={"comment": "done"}, headers=olga)
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    problem(client.post(f"{path}/close", headers=olga), 409)
    # Reopening is for the closed queue's administrators, which the seed names none of.
    reopen = client.post(f"{path}/reopen", json={"reason": "client called"}, headers=olga)
    assert problem(reopen, 403)["reasons"] == ["olga is not an administrator of queue 14"]
    assert client.get(path, headers=olga).json()["state"] == "closed"


def test_external_events_and_child_appeals(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client)
    made = new_appeal(client, olga)
    path = f"/appeals/{made['id']}"
    problem(client.post(f"{path}/events", json={"event": "nothing"}, headers=olga), 409)
    moved = client.post(f"{path}/events", json={"event": "to_sd"}, headers=olga)
    assert moved.status_code == 200, moved.text
    assert moved.json()["process"] == "transfer_sd"
    child = client.post(
        f"{path}/children", json={"topic": "TERMINATION", "attributes": GOOD}, headers=olga
    )
    assert child.status_code in (201, 403, 409, 422), child.text
    if child.status_code == 201:
        assert child.json()["parent_id"] == made["id"]
        ids = [c["id"] for c in client.get(f"{path}/children", headers=olga).json()]
        assert ids == [child.json()["id"]]


def test_queue_pages_follow_an_opaque_cursor(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client)
    ids = []
    for _ in range(3):
        made = new_appeal(client, olga)
        client.post(f"/appeals/{made['id']}/transitions/to_sd", headers=olga)
        ids.append(made["id"])
    first = client.get("/queues/67/appeals", params={"limit": 2}, headers=olga).json()
    assert first["total"] is None
    assert len(first["items"]) == 2
    second = client.get(
        "/queues/67/appeals", params={"limit": 2, "cursor": first["next_cursor"]}, headers=olga
    ).json()
    assert second["next_cursor"] is None
    assert sorted(i["id"] for i in first["items"] + second["items"]) == ids
    counted = client.get("/queues/67/appeals", params={"total": "true"}, headers=olga).json()
    assert counted["total"] == 3
    for cursor in ("nonsense", first["next_cursor"][:-2] + "AA", first["next_cursor"] + "x"):
        problem(client.get("/queues/67/appeals", params={"cursor": cursor}, headers=olga), 400)
    elsewhere = {"cursor": first["next_cursor"]}
    problem(client.get("/queues/79/appeals", params=elsewhere, headers=olga), 400)
    problem(client.get("/queues/67/appeals", params={"limit": 500}, headers=olga), 400)
    problem(client.get("/queues/NOPE/appeals", headers=olga), 404)
    assert (
        client.get("/queues/REGISTRATION/appeals", headers=login(client, "bis")).json()["items"]
        == []
    )


def test_saved_filters_page_with_a_cursor_and_count_when_asked(world, client) -> None:  # type: ignore[no-untyped-def]
    filters = AppealFilters(world.store.engine)
    rule = 'Appeal.Topic.Code = "TERMINATION"'
    filters.save(SavedFilter("term", "Terminations", rule, tabs=(FilterTab("all", "All", "true"),)))
    filters.save(SavedFilter("private", "Someone's", "true", owner="bis"))
    olga = login(client)
    made = [new_appeal(client, olga)["id"] for _ in range(3)]
    assert [f["code"] for f in client.get("/filters", headers=olga).json()] == ["term"]
    problem(client.get("/filters/private", headers=olga), 404)
    page = client.get(
        "/filters/term/appeals", params={"limit": 2, "total": "true"}, headers=olga
    ).json()
    assert page["total"] == 3
    rest = client.get(
        "/filters/term/appeals",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=olga,
    ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == sorted(made, reverse=True)
    other_order = {"cursor": page["next_cursor"], "order": "deadline"}
    problem(client.get("/filters/term/appeals", params=other_order, headers=olga), 400)
    problem(client.get("/filters/term/appeals", params={"tab": "nope"}, headers=olga), 404)


def test_dictionaries_definitions_and_health(client) -> None:  # type: ignore[no-untyped-def]
    olga = login(client)
    dictionaries = client.get("/dictionaries", headers=olga).json()
    assert dictionaries
    code = dictionaries[0]["code"]
    assert client.get(f"/dictionaries/{code}", headers=olga).json() == dictionaries[0]
    problem(client.get("/dictionaries/NOPE", headers=olga), 404)
    catalog = client.get("/definitions", headers=olga).json()
    assert catalog["type"] == "Catalog"
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ok"}
    problem(client.get("/definitions"), 401)
