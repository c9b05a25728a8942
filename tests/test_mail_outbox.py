"""Mail through the outbox to a real SMTP server: an outage loses nothing and duplicates
nothing, a 451 is retried until it passes, a 550 is a dead letter at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmcms.dsl import load_catalog, load_catalog_text
from crmcms.engine import Engine
from crmcms.engine.relay import RelaySettings
from crmcms.entrypoints.cli import cli
from crmcms.mail import MailPlugin, MailSettings
from crmcms.model import Notification, NotificationKind, OutboxMessage, OutboxStatus
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import ManualClock
from crmcms.testing.smtp import SmtpTestServer

CATALOG = load_catalog_text(
    'operator olga "Ольга" { email: "olga@example.ru" }\n'
    'operator ivan "Иван" { email: "ivan@example.ru" }\n'
)
SETTINGS = RelaySettings(
    retry_base=timedelta(seconds=10), retry_cap=timedelta(minutes=1), max_attempts=20, batch=100
)


class World:
    def __init__(self, url: str, server: SmtpTestServer) -> None:
        self.store = SqlStore(url)
        self.server = server
        self.clock = ManualClock()
        self.mail = MailPlugin(MailSettings.from_url(server.url, timeout=5), CATALOG)
        self.pm = make_plugin_manager([self.mail], load_entry_points=False)
        self.engine = Engine(
            CATALOG,
            self.store.unit_of_work,
            plugins=self.pm,
            clock=self.clock,
            relay=SETTINGS,
            delivery_domain="crm.example",
            trust_logins=True,
        )

    def notify(self, count: int) -> None:
        for n in range(count):
            note = Notification(
                NotificationKind.MESSAGE, None, ("olga",), ("olga", "ivan"), f"Письмо №{n}"
            )
            self.engine.run(lambda tx, note=note: tx.notify(note))

    def messages(self) -> list[OutboxMessage]:
        with self.store.unit_of_work() as uow:
            return list(uow.outbox.find(limit=10_000))

    def drain(self, rounds: int = 30) -> None:
        """Deliver, letting the clock past every back-off, until nothing is pending."""
        for _ in range(rounds):
            self.engine.deliver_outbox()
            if all(m.status is not OutboxStatus.PENDING for m in self.messages()):
                return
            self.clock.advance(minutes=2)
        raise AssertionError("messages still pending")

    def close(self) -> None:
        self.mail.close()
        self.store.dispose()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with SmtpTestServer() as server:
        made = World(database_url, server)
        yield made
        made.close()


class Outage:
    """Takes the SMTP server down in the middle of a relay run, before the ``at``-th message."""

    def __init__(self, server: SmtpTestServer, at: int) -> None:
        self.server = server
        self.at = at
        self.calls = 0

    @hookimpl(tryfirst=True)
    def crmcms_notify(self, notification: Notification) -> None:
        self.calls += 1
        if self.calls == self.at:
            self.server.stop()


def test_a_server_down_in_the_middle_of_a_run_loses_nothing_and_sends_nothing_twice(
    world: World,
) -> None:
    world.notify(15)  # 30 messages: one per recipient
    world.pm.register(Outage(world.server, at=11))
    report = world.engine.deliver_outbox()
    assert len(report.delivered) == 10
    assert len(report.retried) == 20
    assert report.dead == ()
    world.engine.deliver_outbox()  # still down: nothing due yet, nothing lost
    world.server.start()  # a new listener on the same port
    world.drain()
    ids = world.server.message_ids()
    assert len(ids) == 30
    assert set(ids.values()) == {1}  # each Message-ID exactly once
    assert ids.keys() == {f"<outbox-{m.id}.crmcms@crm.example>" for m in world.messages()}
    assert Counter(m.status for m in world.messages()) == {OutboxStatus.DELIVERED: 30}


def test_a_451_is_retried_until_the_server_takes_it_once(world: World) -> None:
    world.server.answer("451 4.3.0 Try later", "451 4.3.0 Try later", "451 4.3.0 Try later")
    world.engine.run(
        lambda tx: tx.notify(Notification(NotificationKind.MESSAGE, None, (), ("olga",), "Тема"))
    )
    world.drain()
    [message] = world.messages()
    assert message.status is OutboxStatus.DELIVERED
    assert message.attempts == 4
    assert world.server.attempts == 4
    assert len(world.server.mails) == 1


def test_a_550_is_a_dead_letter_at_once_and_never_retried(world: World) -> None:
    world.server.answer("550 5.1.1 No such user")
    world.engine.run(
        lambda tx: tx.notify(Notification(NotificationKind.MESSAGE, None, (), ("olga",), "Тема"))
    )
    report = world.engine.deliver_outbox()
    [message] = world.messages()
    assert report.dead == (message.id,)
    assert message.status is OutboxStatus.DEAD
    assert "550" in message.last_error
    world.clock.advance(hours=2)
    assert world.engine.deliver_outbox().claimed == 0
    assert world.server.attempts == 1
    assert world.server.mails == []


def test_the_worker_sends_the_outbox_as_mail_to_the_server_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definitions = tmp_path / "people.crm"
    definitions.write_text('operator olga "Ольга" { email: "olga@example.ru" }\n', "utf-8")
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    engine = Engine(
        load_catalog([definitions]),
        store.unit_of_work,
        delivery_domain="crm.example",
        trust_logins=True,
    )
    note = Notification(NotificationKind.MESSAGE, None, ("olga",), ("olga",), "Тема письма")
    engine.run(lambda tx: tx.notify(note))
    with SmtpTestServer() as server:
        monkeypatch.setenv("CRMCMS_SMTP_URL", server.url)
        monkeypatch.setenv("CRMCMS_SMTP_SENDER", "crm@operator.ru")
        args = ["worker", "--db", url, "--definitions", str(definitions), "--once", "--mail"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        [got] = server.wait_for(1)
    assert got.message["Subject"] == "Тема письма"
    assert got.recipients == ("olga@example.ru",)
    with store.unit_of_work() as uow:
        assert [m.status for m in uow.outbox.find(limit=10)] == [OutboxStatus.DELIVERED]
    store.dispose()


def test_the_worker_refuses_to_start_mail_without_a_server(tmp_path: Path) -> None:
    definitions = tmp_path / "people.crm"
    definitions.write_text('operator olga "Ольга"\n', "utf-8")
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    args = ["worker", "--db", url, "--definitions", str(definitions), "--once", "--mail"]
    result = CliRunner(env={"CRMCMS_SMTP_URL": "", "CRMCMS_SMTP_HOST": ""}).invoke(cli, args)
    assert result.exit_code != 0
    assert "CRMCMS_SMTP_URL or CRMCMS_SMTP_HOST" in str(result.exception) + result.output
