"""``/webhooks`` through httpx: subscriptions kept in the database beside the declared ones,
and the relay delivering committed events to both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.event_world import Receiver, World, webhook

from crmcms.engine import KeyProfile, LoginGateway
from crmcms.engine.webhooks import verify_request
from crmcms.http import create_app
from crmcms.model import SYSTEM, OutboxStatus
from crmcms.storage.sql import SqlLoginStore

PASSWORD = "кошка на окне 2026"
SECRET = "s3cret"
OPERATORS = 'operator root "Root" { roles: ADMINISTRATOR }\n'


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def world(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, TestClient[Any]]]:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("CRM_API_HOOK", SECRET)
    w = World(database_url, OPERATORS + webhook("FILES", receiver.url("/declared")))
    logins = SqlLoginStore(database_url)
    gateway = LoginGateway(logins, w.engine.catalog, profile=KeyProfile.CHEAPEST)
    for login in ("root", "ann"):
        gateway.set_password(SYSTEM, login, PASSWORD)
    try:
        with TestClient(create_app(w.engine, gateway, w.store)) as client:
            yield w, client
    finally:
        logins.dispose()
        w.close()


def login(client: TestClient[Any], who: str = "root") -> dict[str, str]:
    reply = client.post("/sessions", json={"login": who, "password": PASSWORD})
    assert reply.status_code == 201, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def problem(reply: Any, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


def test_subscriptions_are_listed_added_and_removed_beside_the_declared_ones(
    world: tuple[World, TestClient[Any]], receiver: Receiver
) -> None:
    _, client = world
    auth = login(client)
    [declared] = client.get("/webhooks", headers=auth).json()
    assert (declared["code"], declared["source"]) == ("FILES", "definitions")
    assert declared["secret_env"] == "HOOK_SECRET"
    body = {
        "code": "CRM_API",
        "name": "Billing events",
        "url": receiver.url("/api"),
        "events": ["moved", "closed"],
        "secret_env": "CRM_API_HOOK",
    }
    made = client.post("/webhooks", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["source"] == "api"
    listed = client.get("/webhooks", headers=auth).json()
    assert [(w["code"], w["source"], w["events"]) for w in listed] == [
        ("FILES", "definitions", []),
        ("CRM_API", "api", ["moved", "closed"]),
    ]
    again = problem(client.post("/webhooks", json=body, headers=auth), 409)
    assert "already exists" in again["detail"]
    taken = problem(client.post("/webhooks", json={**body, "code": "FILES"}, headers=auth), 409)
    assert "declared in the definition files" in taken["detail"]
    assert client.delete("/webhooks/CRM_API", headers=auth).status_code == 204
    assert [w["code"] for w in client.get("/webhooks", headers=auth).json()] == ["FILES"]
    problem(client.delete("/webhooks/CRM_API", headers=auth), 404)
    read_only = problem(client.delete("/webhooks/FILES", headers=auth), 409)
    assert "remove it there" in read_only["detail"]


def test_bad_subscriptions_are_refused_field_by_field_and_kept_nowhere(
    world: tuple[World, TestClient[Any]],
) -> None:
    _, client = world
    auth = login(client)
    bad = {
        "code": " ",
        "name": "",
        "url": "ftp://billing.example",
        "events": ["moved", "exploded"],
        "secret_env": "not a name",
    }
    refused = problem(client.post("/webhooks", json=bad, headers=auth), 422)
    assert sorted(e["code"] for e in refused["errors"]) == [
        "code",
        "events",
        "name",
        "secret_env",
        "url",
    ]
    problem(client.post("/webhooks", json={"code": "X"}, headers=auth), 400)
    assert [w["code"] for w in client.get("/webhooks", headers=auth).json()] == ["FILES"]


def test_only_an_administrator_manages_subscriptions(world: tuple[World, TestClient[Any]]) -> None:
    _, client = world
    auth = login(client, "ann")
    problem(client.get("/webhooks", headers=auth), 403)
    body = {"code": "X", "name": "X", "url": "https://x.example", "secret_env": "X_SECRET"}
    problem(client.post("/webhooks", json=body, headers=auth), 403)
    problem(client.delete("/webhooks/FILES", headers=auth), 403)
    problem(client.get("/webhooks"), 401)


def test_the_relay_delivers_to_declared_and_stored_subscriptions_alike(
    world: tuple[World, TestClient[Any]], receiver: Receiver
) -> None:
    w, client = world
    auth = login(client)
    body = {
        "code": "CRM_API",
        "name": "Moves",
        "url": receiver.url("/api"),
        "events": ["moved"],
        "secret_env": "CRM_API_HOOK",
    }
    assert client.post("/webhooks", json=body, headers=auth).status_code == 201
    appeal_id = w.register()
    w.engine.transition(appeal_id, "ann", "start")
    targets = sorted(m.payload["target"] for m in w.messages())
    # FILES hears of everything (created, moved), CRM_API of the move only.
    assert targets == ["webhook:CRM_API", "webhook:FILES", "webhook:FILES"]
    w.drain()
    assert {m.status for m in w.messages()} == {OutboxStatus.DELIVERED}
    by_hook: dict[str, list[str]] = {}
    for headers, raw in receiver.requests:
        verify_request(SECRET.encode(), headers, raw)
        document = receiver.documents()[receiver.requests.index((headers, raw))]
        by_hook.setdefault(document["webhook"], []).append(document["event"]["data"]["kind"])
    assert sorted(by_hook["FILES"]) == ["created", "moved"]
    assert by_hook["CRM_API"] == ["moved"]


def test_a_subscription_made_by_another_process_is_served_and_one_removed_given_up(
    world: tuple[World, TestClient[Any]], receiver: Receiver
) -> None:
    from crmcms.model import Webhook
    from crmcms.storage.sql import SqlWebhookStore

    w, _ = world
    store = SqlWebhookStore(w.store.engine)
    w.engine.runtime.webhook_store = store
    elsewhere = Webhook("OTHER", "Other", receiver.url("/other"), "CRM_API_HOOK")
    store.add(elsewhere, by="root")
    w.engine.runtime.refresh_webhooks()  # what webhook_refresh seconds do on their own
    w.register()
    assert sorted(m.payload["target"] for m in w.messages()) == ["webhook:FILES", "webhook:OTHER"]
    store.remove("OTHER")
    w.engine.runtime.webhook_refresh = 0.0  # as if its seconds had passed
    w.drain()
    statuses = {m.payload["target"]: m.status for m in w.messages()}
    assert statuses == {"webhook:FILES": OutboxStatus.DELIVERED, "webhook:OTHER": OutboxStatus.DEAD}
