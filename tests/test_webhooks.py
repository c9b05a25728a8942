"""Webhook subscriptions: committed history events POSTed, signed, to a real HTTP server,
each webhook retried on its own with one delivery id, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from crmcms import AppealDraft, Client, ValidationError
from crmcms.dsl import load_catalog_text
from crmcms.engine.webhooks import (
    DELIVERY_HEADER,
    WebhookSignatureError,
    sign,
    verify_request,
    verify_signature,
)
from crmcms.entrypoints.cli import cli
from crmcms.model import OutboxStatus
from crmcms.plugins import make_plugin_manager
from crmcms.testing import in_memory_engine
from crmcms.testing.engine import FakeBilling
from event_world import DEFINITIONS, Receiver, World, webhook

SECRET = "s3cret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def test_a_committed_event_is_posted_signed_to_the_webhooks_that_want_its_kind(
    database_url: str, receiver: Receiver
) -> None:
    w = World(
        database_url,
        webhook("ALL", receiver.url("/all")) + webhook("MOVES", receiver.url("/moves"), "moved"),
    )
    try:
        appeal_id = w.register()
        staged = w.messages()
        # Registration records one event ("created"): only ALL wants it.
        assert [m.payload["target"] for m in staged] == ["webhook:ALL"]
        w.engine.transition(appeal_id, "ann", "start")
        assert len(w.messages()) == 3
        w.drain()
        assert {m.status for m in w.messages()} == {OutboxStatus.DELIVERED}
        by_path: dict[str, list[str]] = {}
        for headers, body in receiver.requests:
            delivery = verify_request(SECRET.encode(), headers, body)
            document = receiver.documents()[receiver.requests.index((headers, body))]
            assert document["delivery_id"] == delivery
            assert document["event"]["data"]["appeal_id"] == appeal_id
            by_path.setdefault(document["webhook"], []).append(document["event"]["data"]["kind"])
        assert by_path == {"ALL": ["created", "moved"], "MOVES": ["moved"]}
    finally:
        w.close()


def test_a_failing_webhook_is_retried_alone_with_the_same_delivery_id(
    database_url: str, receiver: Receiver
) -> None:
    ok, failing = Receiver(), receiver
    w = World(database_url, webhook("OK", ok.url()) + webhook("DOWN", failing.url()))
    try:
        failing.statuses = [503, 500, 200]
        w.register()
        w.drain()
        assert len(ok.requests) == 1
        ids = [headers[DELIVERY_HEADER] for headers, _ in failing.requests]
        assert len(ids) == 3
        assert len(set(ids)) == 1
        down = next(m for m in w.messages() if m.payload["target"] == "webhook:DOWN")
        assert down.status is OutboxStatus.DELIVERED
        assert down.attempts == 3
    finally:
        ok.close()
        w.close()


@pytest.mark.parametrize(("status", "outcome"), [(400, "dead"), (408, "retried"), (429, "retried")])
def test_a_4xx_gives_the_message_up_but_408_and_429_retry(
    tmp_path: object, receiver: Receiver, status: int, outcome: str
) -> None:
    w = World(f"sqlite:///{tmp_path}/db.sqlite", webhook("H", receiver.url()))
    try:
        receiver.statuses = [status]
        w.register()
        report = w.engine.deliver_outbox()
        assert len(getattr(report, outcome)) == 1
        assert str(status) in next(iter(report.errors.values()))
    finally:
        w.close()


def test_a_receiver_slower_than_the_timeout_is_tried_again(
    tmp_path: object, receiver: Receiver
) -> None:
    w = World(f"sqlite:///{tmp_path}/db.sqlite", webhook("H", receiver.url()))
    try:
        w.engine.runtime.webhooks["H"].timeout = 0.2
        receiver.delay = 0.6
        w.register()
        assert len(w.engine.deliver_outbox().retried) == 1
        receiver.delay = 0.0
        w.drain()
        assert [m.status for m in w.messages()] == [OutboxStatus.DELIVERED]
    finally:
        w.close()


def test_without_its_secret_a_webhook_waits_and_the_secret_comes_from_settings_too(
    tmp_path: object, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_SECRET")
    w = World(f"sqlite:///{tmp_path}/db.sqlite", webhook("H", receiver.url()))
    try:
        w.register()
        report = w.engine.deliver_outbox()
        assert len(report.retried) == 1
        assert "HOOK_SECRET" in next(iter(report.errors.values()))
        assert receiver.requests == []
        w.engine.runtime.webhook_secrets["H"] = b"from-settings"
        w.drain()
        headers, body = receiver.requests[0]
        verify_request(b"from-settings", headers, body)
    finally:
        w.close()


def test_a_failed_action_stages_no_event(database_url: str, receiver: Receiver) -> None:
    w = World(database_url, webhook("H", receiver.url()))
    try:
        with pytest.raises(ValidationError):
            w.engine.register_contact(
                "ann", place="CC", channel="PHONE", drafts=[AppealDraft("REPAIR", {"NOPE": "x"})]
            )
        assert w.messages() == []
    finally:
        w.close()


def test_without_webhooks_no_event_is_staged(database_url: str) -> None:
    w = World(database_url)
    try:
        w.register()
        assert w.messages() == []
    finally:
        w.close()


def test_a_signature_is_refused_when_anything_signed_changed() -> None:
    body = b'{"a": 1}'
    signature = sign(b"k", "<d>", 1000, body)
    verify_signature(b"k", "<d>", "1000", signature, body, now=1000)
    for args in (
        (b"other", "<d>", "1000", signature, body),
        (b"k", "<e>", "1000", signature, body),
        (b"k", "<d>", "1000", signature, b'{"a": 2}'),
        (b"k", "<d>", "1001", signature, body),
    ):
        with pytest.raises(WebhookSignatureError):
            verify_signature(*args, now=1000)
    with pytest.raises(WebhookSignatureError, match="away from now"):
        verify_signature(b"k", "<d>", "1000", signature, body, now=2000)


def test_crmcms_outbox_list_names_each_event_message_s_webhook(
    tmp_path: object, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    w = World(url, webhook("BILLING", receiver.url()))
    try:
        w.register()
        shown = CliRunner().invoke(cli, ["outbox", "list", "--db", url])
        assert shown.exit_code == 0, shown.output
        assert "webhook:BILLING" in shown.output
    finally:
        w.close()


def test_an_engine_that_delivers_after_commit_posts_the_event_as_the_action_returns(
    receiver: Receiver,
) -> None:
    catalog = load_catalog_text(DEFINITIONS + webhook("H", receiver.url(), "created"))
    plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
    engine = in_memory_engine(catalog, plugins=plugins)
    made = engine.register_contact(
        "ann", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("REPAIR")]
    )
    [(headers, body)] = receiver.requests
    verify_request(SECRET.encode(), headers, body)
    assert receiver.documents()[0]["event"]["data"]["appeal_id"] == made.appeals[0].id


def test_a_message_for_a_webhook_no_longer_defined_is_given_up(
    tmp_path: object, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    before = World(url, webhook("GONE", receiver.url()))
    after = World(url)  # the definitions as they are now: no webhook GONE
    try:
        before.register()
        report = after.engine.deliver_outbox()
        assert len(report.dead) == 1
        assert "no such webhook" in next(iter(report.errors.values()))
        assert receiver.requests == []
    finally:
        before.close()
        after.close()
