"""The audit leaves through the outbox: each event with its message, delivered after commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crmcms import (
    AuditLog,
    AuthenticationError,
    DeliveryError,
    Engine,
    KeyProfile,
    LoginGateway,
    LoginPolicy,
    LoginStore,
    MemoryLoginStore,
    Notification,
    NotificationKind,
    SqlLoginStore,
    SqlStore,
    StorageError,
)
from crmcms.dsl import load_catalog_text
from crmcms.engine import LoginRecords, RelaySettings, audit_event_of
from crmcms.entrypoints.cli import cli
from crmcms.model import (
    AUDIT,
    NOTIFICATION,
    SYSTEM,
    AuditEvent,
    AuditKind,
    OutboxMessage,
    OutboxStatus,
)
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.schema import outbox
from crmcms.storage.sql.ids import bump_counters
from crmcms.testing.engine import ManualClock

PASSWORD = "correct horse battery"
CATALOG = load_catalog_text(
    """
operator ivan "Ivan"
operator olga "Olga"
operator sec "Security" { roles: SECURITY_ADMINISTRATOR }
"""
)
LENIENT = LoginPolicy(first_delay=timedelta(0), max_failures=3, lockout=None)
SETTINGS = RelaySettings(retry_base=timedelta(seconds=10), max_attempts=3)


class Exporter:
    """A ``crmcms_audit`` plugin failing with the errors it is given, in order, then taking
    every event."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.tries: list[AuditEvent] = []
        self.taken: list[AuditEvent] = []

    @hookimpl
    def crmcms_audit(self, event: AuditEvent) -> None:
        self.tries.append(event)
        if self.failures:
            raise self.failures.pop(0)
        self.taken.append(event)


class Notifier:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.sent.append(notification)


class World:
    """An engine and a login gateway sharing one store, as a host wires them."""

    def __init__(self, kind: str, url: str | None, *plugins: object) -> None:
        self.kind = kind
        self.url = url
        self.clock = ManualClock()
        self.memory: MemoryStore | None = None
        self.sql: SqlStore | None = None
        self.logins: LoginStore
        if url is None:
            self.memory = MemoryStore()
            self.logins = MemoryLoginStore(store=self.memory)
            factory: Any = self.memory.unit_of_work
        else:
            self.sql = SqlStore(url)
            self.logins = SqlLoginStore(self.sql.engine, upgrade=False)
            factory = self.sql.unit_of_work
        self.engine = self.make_engine(factory, *plugins)
        self.gateway = self.make_gateway(self.logins)
        self.log = AuditLog(self.logins, clock=self.clock)

    def make_engine(self, factory: Any, *plugins: object) -> Engine:
        engine = Engine(
            CATALOG,
            factory,
            plugins=make_plugin_manager(list(plugins), load_entry_points=False),
            clock=self.clock,
            relay=SETTINGS,
            trust_logins=True,
        )
        engine.runtime.relay.draw = lambda: 1.0  # the waits are their ceilings
        return engine

    def make_gateway(self, store: LoginStore) -> LoginGateway:
        return LoginGateway(
            store, CATALOG, policy=LENIENT, profile=KeyProfile.CHEAPEST, clock=self.clock
        )

    def messages(self, kind: str = AUDIT) -> list[OutboxMessage]:
        factory = self.memory.unit_of_work if self.memory is not None else self.sql_factory()
        with factory() as uow:
            found = uow.outbox.find(limit=1000)
        return sorted((m for m in found if m.kind == kind), key=lambda m: m.id)

    def sql_factory(self) -> Any:
        assert self.sql is not None
        return self.sql.unit_of_work

    def events(self, **filters: Any) -> list[AuditEvent]:
        return self.log.list(limit=1000, **filters)

    def close(self) -> None:
        if self.sql is not None:
            self.sql.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[str, str | None]:
    if request.param == "memory":
        return "memory", None
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path}/audit.sqlite"
    return "postgresql", str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_world(backend: tuple[str, str | None]) -> Iterator[Any]:
    made: list[World] = []

    def make(*plugins: object) -> World:
        world = World(backend[0], backend[1], *plugins)
        made.append(world)
        return world

    yield make
    for world in made:
        world.close()


def _sign_in_twice(world: World) -> None:
    """A password set by the system, a wrong password, then the right one."""
    world.gateway.set_password(SYSTEM, "ivan", PASSWORD)
    world.clock.advance(minutes=1)
    with pytest.raises(AuthenticationError):
        world.gateway.authenticate("ivan", "a wrong guess", source="10.0.0.7")
    world.clock.advance(minutes=1)
    world.gateway.authenticate("ivan", PASSWORD, source="10.0.0.7")


# --- Written together ----------------------------------------------------------------------


def test_a_failed_and_a_successful_login_write_audit_rows_and_outbox_messages(
    make_world: Any,
) -> None:
    world = make_world()
    _sign_in_twice(world)
    events = world.events(login="ivan")
    assert [e.kind for e in events] == [
        AuditKind.LOGIN,
        AuditKind.LOGIN_FAILED,
        AuditKind.PASSWORD_RESET,
    ]
    messages = world.messages()
    assert all(m.status is OutboxStatus.PENDING for m in messages)
    # One message per event, holding the event as stored.
    assert [audit_event_of(m) for m in messages] == sorted(events, key=lambda e: e.id)
    failed = audit_event_of(messages[1])
    assert (failed.outcome, failed.source) == ("wrong_password", "10.0.0.7")
    assert messages[1].created_at == messages[1].available_at == failed.at


def test_audit_messages_and_notifications_share_the_outbox_without_clashing_ids(
    make_world: Any,
) -> None:
    notifier = Notifier()
    world = make_world(notifier, Exporter())
    note = Notification(NotificationKind.MESSAGE, None, ("team",), ("olga",), "Hi")
    world.engine.run(lambda tx: tx.notify(note))
    _sign_in_twice(world)
    world.engine.run(lambda tx: tx.notify(note))
    audits, notes = world.messages(AUDIT), world.messages(NOTIFICATION)
    ids = [m.id for m in [*audits, *notes]]
    assert len(audits) == 3
    assert len(notes) == 2
    assert len(set(ids)) == len(ids)
    report = world.engine.deliver_outbox()
    assert sorted(report.delivered) == sorted(ids)
    assert len(notifier.sent) == 2  # notifications to crmcms_notify, and only they


# --- Delivered after commit ----------------------------------------------------------------


def test_the_relay_delivers_each_event_to_crmcms_audit_exactly_once(make_world: Any) -> None:
    exporter = Exporter()
    world = make_world(exporter)
    _sign_in_twice(world)
    assert exporter.tries == []  # nothing leaves inside the gateway's transactions
    report = world.engine.deliver_outbox()
    assert report.delivered == tuple(m.id for m in world.messages())
    assert exporter.taken == sorted(world.events(), key=lambda e: e.id)
    assert all(m.status is OutboxStatus.DELIVERED for m in world.messages())
    assert world.engine.deliver_outbox().claimed == 0
    assert len(exporter.tries) == 3


def test_without_an_audit_plugin_the_messages_are_marked_delivered(make_world: Any) -> None:
    world = make_world()
    _sign_in_twice(world)
    report = world.engine.deliver_outbox()
    assert len(report.delivered) == 3
    assert not report.dead
    assert all(m.status is OutboxStatus.DELIVERED for m in world.messages())


def test_every_kind_of_gateway_event_is_exported(make_world: Any) -> None:
    exporter = Exporter()
    world = make_world(exporter)
    gateway = world.gateway
    gateway.set_password(SYSTEM, "sec", PASSWORD)
    gateway.set_password(SYSTEM, "ivan", PASSWORD)
    admin = gateway.authenticate("sec", PASSWORD).principal
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            gateway.authenticate("ivan", "a wrong guess")
    gateway.unlock(admin, "ivan")
    session = gateway.authenticate("ivan", PASSWORD)
    gateway.change_password(session.token, PASSWORD, "another long password")
    gateway.revoke_sessions(admin, "ivan")
    other = gateway.authenticate("ivan", "another long password")
    gateway.logout(other.token)
    with pytest.raises(Exception, match="administer_security"):
        gateway.unlock(other.principal, "olga")
    world.engine.deliver_outbox()
    assert {str(k) for k in AuditKind} - {e.kind for e in exporter.taken} == {
        AuditKind.DEFINITIONS_PUBLISHED,
        AuditKind.ROLES_SET_UP,
        AuditKind.SYSTEM_PROBLEM,
    }
    assert exporter.taken == sorted(world.events(), key=lambda e: e.id)


def test_events_recorded_outside_the_gateway_are_exported_too(make_world: Any) -> None:
    exporter = Exporter()
    world = make_world(exporter)
    event = world.log.record(
        AuditKind.REFUSED,
        "olga",
        actor="olga",
        source="10.0.0.8",
        outcome="denied",
        detail="close appeal 17: needs close",
    )
    assert world.events() == [event]
    assert event.at == world.clock.now
    [message] = world.messages()
    assert audit_event_of(message) == event
    world.engine.deliver_outbox()
    assert exporter.taken == [event]


# --- Never sent when not stored ------------------------------------------------------------


class CommitFails:
    """A login store whose commits fail: everything the transaction did is rolled back."""

    def __init__(self, inner: LoginStore) -> None:
        self.inner = inner

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[LoginRecords]:
        with self.inner.transaction(write=write) as tx:
            yield tx
            if write:
                raise StorageError("login records: the commit failed")


def test_a_transaction_that_fails_writes_neither_the_event_nor_its_message(
    make_world: Any,
) -> None:
    exporter = Exporter()
    world = make_world(exporter)
    world.gateway.set_password(SYSTEM, "ivan", PASSWORD)
    before_events, before_messages = world.events(), world.messages()
    failing = world.make_gateway(CommitFails(world.logins))
    with pytest.raises(StorageError):
        failing.authenticate("ivan", "a wrong guess")
    with pytest.raises(StorageError):
        failing.authenticate("ivan", PASSWORD)
    with pytest.raises(StorageError):
        AuditLog(CommitFails(world.logins)).record(AuditKind.REFUSED, "olga")
    assert world.events() == before_events
    assert world.messages() == before_messages
    assert world.gateway.failures(SYSTEM, "ivan") is None  # the failure went with them
    world.engine.deliver_outbox()
    assert [e.kind for e in exporter.taken] == [AuditKind.PASSWORD_RESET]


def test_a_message_the_database_refuses_takes_the_event_and_the_failure_with_it(
    database_url: str,
) -> None:
    world = World("sql", database_url)
    assert world.sql is not None
    world.gateway.set_password(SYSTEM, "ivan", PASSWORD)
    [last] = world.messages()
    # A row already holding the id the next message gets: the insert breaks the primary key.
    with world.sql.engine.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                id=last.id + 1,
                kind="other",
                payload={},
                created_at=last.created_at,
                available_at=last.created_at,
                attempts=0,
                status=OutboxStatus.DELIVERED.value,
                last_error="",
            )
        )
    with pytest.raises(StorageError):
        world.gateway.authenticate("ivan", "a wrong guess")
    assert [e.kind for e in world.events()] == [AuditKind.PASSWORD_RESET]
    assert world.messages() == [last]
    assert world.gateway.failures(SYSTEM, "ivan") is None
    with world.sql.engine.begin() as conn:
        bump_counters(conn)  # the remedy for rows written with ids of their own
    with pytest.raises(AuthenticationError):
        world.gateway.authenticate("ivan", "a wrong guess")
    assert world.events()[0].kind == AuditKind.LOGIN_FAILED
    assert world.messages()[-1].id == last.id + 2
    world.close()


# --- Retried like any message --------------------------------------------------------------


def test_a_failing_audit_plugin_leaves_the_message_for_a_retry(make_world: Any) -> None:
    exporter = Exporter(ConnectionError("the SIEM is down"))
    world = make_world(exporter)
    world.log.record(AuditKind.REFUSED, "olga", outcome="denied")
    first = world.engine.deliver_outbox()
    [message_id] = first.retried
    [waiting] = world.messages()
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert "crmcms_audit" in waiting.last_error
    assert "the SIEM is down" in waiting.last_error
    assert world.engine.deliver_outbox().claimed == 0  # not due yet
    later = world.engine.deliver_outbox(now=waiting.available_at)
    assert later.delivered == (message_id,)
    assert [e.kind for e in exporter.taken] == [AuditKind.REFUSED]
    assert len(exporter.tries) == 2


def test_a_permanent_refusal_gives_the_message_up(make_world: Any) -> None:
    refusal = DeliveryError("siem", "schema rejected", permanent=True, hook="crmcms_audit")
    exporter = Exporter(refusal)
    world = make_world(exporter)
    world.log.record(AuditKind.REFUSED, "olga", outcome="denied")
    report = world.engine.deliver_outbox()
    assert len(report.dead) == 1
    [dead] = world.messages()
    assert dead.status is OutboxStatus.DEAD
    assert dead.last_error == "plugin 'siem' failed in crmcms_audit: schema rejected"


# --- Read back -----------------------------------------------------------------------------


def test_the_audit_filters_by_a_time_range_newest_first(make_world: Any) -> None:
    world = make_world()
    start = world.clock.now
    for minute in range(5):
        world.log.record(AuditKind.REFUSED, "olga", detail=f"minute {minute}")
        world.clock.advance(minutes=1)
    found = world.events(since=start + timedelta(minutes=1), until=start + timedelta(minutes=3))
    assert [e.detail for e in found] == ["minute 2", "minute 1"]  # until is left out
    assert [e.detail for e in world.events(until=start + timedelta(minutes=1))] == ["minute 0"]
    assert len(world.events(since=start, until=start + timedelta(minutes=5))) == 5
    sec = CATALOG.principal("sec")
    through_gateway = world.gateway.audit(sec, since=start + timedelta(minutes=4))
    assert [e.detail for e in through_gateway] == ["minute 4"]


def test_the_command_lists_events_filtered_by_login_and_kind(database_url: str) -> None:
    world = World("sql", database_url)
    _sign_in_twice(world)
    world.gateway.set_password(SYSTEM, "olga", PASSWORD)
    with pytest.raises(AuthenticationError):
        world.gateway.authenticate("olga", "a wrong guess")
    runner = CliRunner()
    base = ["audit", "list", "--db", database_url]
    table = runner.invoke(cli, [*base, "--login", "ivan", "--kind", "login_failed"])
    assert table.exit_code == 0, table.output
    assert "wrong_password" in table.output
    assert "10.0.0.7" in table.output
    assert "olga" not in table.output
    assert table.output.rstrip().endswith("1 event(s)")

    lines = runner.invoke(cli, [*base, "--json", "--login", "ivan"])
    assert lines.exit_code == 0, lines.output
    rows = [json.loads(line) for line in lines.output.splitlines()]
    assert [r["kind"] for r in rows] == ["login", "login_failed", "password_reset"]
    assert rows[1]["outcome"] == "wrong_password"
    assert rows[1]["source"] == "10.0.0.7"

    kinds = runner.invoke(cli, [*base, "--json", "--kind", "login_failed"])
    assert {json.loads(line)["login"] for line in kinds.output.splitlines()} == {"ivan", "olga"}

    since = (world.clock.now + timedelta(seconds=1)).isoformat()
    later = runner.invoke(cli, [*base, "--json", "--since", since])
    assert later.exit_code == 0
    assert later.output == ""

    limited = runner.invoke(cli, [*base, "--json", "--limit", "1"])
    assert len(limited.output.splitlines()) == 1
    world.close()


def test_the_command_shows_a_login_as_typed_not_as_markup(database_url: str) -> None:
    world = World("sql", database_url)
    with pytest.raises(AuthenticationError):
        world.gateway.authenticate("[bold red]admin[/]", "whatever")
    shown = CliRunner().invoke(cli, ["audit", "list", "--db", database_url])
    assert shown.exit_code == 0, shown.output
    assert "[bold red]admin[/]" in shown.output
    world.close()
