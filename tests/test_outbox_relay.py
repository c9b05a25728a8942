"""The outbox relay: notifications leave after commit, failures retry with back-off, none lost."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from examples.telecom.seed_catalog import build_catalog
from hypothesis import given
from hypothesis import strategies as st

from crmcms import Client, DeliveryError
from crmcms.engine import AppealDraft, Engine, Notification, NotificationKind
from crmcms.engine.relay import RelaySettings, retry_delay
from crmcms.engine.transaction import Tx
from crmcms.model import OutboxMessage, OutboxStatus
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing.engine import FakeBilling, ManualClock

CLIENT = Client(1, "ООО Ромашка", category="BIS", region="Moscow")
GOOD = {"166": "Переезд", "168": date(2026, 4, 1)}
SETTINGS = RelaySettings(
    retry_base=timedelta(seconds=10), retry_cap=timedelta(minutes=5), max_attempts=4
)


class Flaky:
    """A notifier that fails with the errors it is given, in order, then delivers."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.tries: list[Notification] = []
        self.delivered: list[Notification] = []

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.tries.append(notification)
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(notification)


class World:
    def __init__(self, notifier: Flaky, *, after_commit: bool = False) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock()
        self.notifier = notifier
        pm = make_plugin_manager([FakeBilling([CLIENT]), notifier], load_entry_points=False)
        self.engine = Engine(
            build_catalog(),
            self.store.unit_of_work,
            plugins=pm,
            clock=self.clock,
            relay=SETTINGS,
            deliver_after_commit=after_commit,
            delivery_domain="crm.example.com",
            trust_logins=True,
        )
        # Full jitter with the draw fixed at its top: the waits are the ceilings.
        self.engine.runtime.relay.draw = lambda: 1.0

    def notify(self, *recipients: str) -> None:
        note = Notification(NotificationKind.MESSAGE, None, ("team",), recipients, "Тема")
        self.engine.run(lambda tx: tx.notify(note))

    def messages(self) -> list[OutboxMessage]:
        with self.store.unit_of_work() as uow:
            return sorted(uow.outbox.find(limit=1000), key=lambda m: m.id)


@pytest.fixture
def world() -> World:
    return World(Flaky())


def test_nothing_is_delivered_inside_the_action(world: World) -> None:
    world.notify("olga")
    assert world.notifier.tries == []
    [message] = world.messages()
    assert message.status is OutboxStatus.PENDING
    report = world.engine.deliver_outbox()
    assert report.delivered == (message.id,)
    [sent] = world.notifier.delivered
    assert sent.recipients == ("olga",)
    assert sent.delivery_id == f"<outbox-{message.id}.crmcms@crm.example.com>"
    assert world.messages()[0].status is OutboxStatus.DELIVERED
    assert world.engine.deliver_outbox().claimed == 0  # delivered once, not again


def test_an_action_that_fails_leaves_nothing_to_deliver(world: World) -> None:
    note = Notification(NotificationKind.MESSAGE, None, ("team",), ("olga",), "Тема")

    def act(tx: Tx) -> None:
        tx.notify(note)
        raise RuntimeError("the action fails after notifying")

    with pytest.raises(RuntimeError):
        world.engine.run(act)
    assert world.messages() == []
    assert world.engine.deliver_outbox().claimed == 0
    assert world.notifier.tries == []


def test_one_message_per_recipient_each_with_its_own_delivery_id(world: World) -> None:
    world.notify("olga", "sd@example.com")
    world.engine.deliver_outbox()
    sent = world.notifier.delivered
    assert [n.recipients for n in sent] == [("olga",), ("sd@example.com",)]
    assert [n.to for n in sent] == [("team",), ("team",)]
    assert len({n.delivery_id for n in sent}) == 2


def test_the_action_succeeds_while_delivery_fails() -> None:
    world = World(Flaky(ConnectionRefusedError("mail server down")), after_commit=True)
    reg = world.engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("TERMINATION", GOOD)]
    )
    moved = world.engine.transition(reg.appeals[0].id, "olga", "to_sd")
    assert moved.process == "transfer_sd"
    assert world.engine.appeal(moved.id).process == "transfer_sd"
    assert len(world.notifier.tries) == 2  # tried at once after the commit: both recipients
    assert len(world.notifier.delivered) == 1
    failed = [m for m in world.messages() if m.last_error]
    assert [m.status for m in failed] == [OutboxStatus.PENDING]
    assert "mail server down" in failed[0].last_error
    world.clock.advance(seconds=10)
    assert world.engine.deliver_outbox().delivered == (failed[0].id,)
    assert len(world.notifier.delivered) == 2


def test_delivery_after_commit_shows_notifications_when_the_action_returns() -> None:
    world = World(Flaky(), after_commit=True)
    world.notify("olga")
    assert [n.recipients for n in world.notifier.delivered] == [("olga",)]
    assert [m.status for m in world.messages()] == [OutboxStatus.DELIVERED]


def test_failures_are_retried_with_capped_exponential_back_off() -> None:
    world = World(Flaky(OSError("451 try later"), OSError("451"), OSError("451")))
    world.notify("olga")
    start = world.clock.now
    waits = []
    for _ in range(3):
        report = world.engine.deliver_outbox()
        [message] = world.messages()
        assert report.retried == (message.id,)
        waits.append(message.available_at - world.clock.now)
        # Not due before its time.
        world.clock.now = message.available_at - timedelta(microseconds=1)
        assert world.engine.deliver_outbox().claimed == 0
        world.clock.now = message.available_at
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    report = world.engine.deliver_outbox()
    [message] = world.messages()
    assert report.delivered == (message.id,)
    assert (message.status, message.attempts) == (OutboxStatus.DELIVERED, 4)
    assert world.clock.now - start == timedelta(seconds=70)
    ids = {n.delivery_id for n in world.notifier.tries}
    assert len(world.notifier.tries) == 4
    assert len(ids) == 1
    assert len(world.notifier.delivered) == 1


def test_a_permanent_failure_is_dead_at_once_and_not_retried() -> None:
    world = World(Flaky(DeliveryError("smtp", "550 no such user", permanent=True)))
    world.notify("nobody@example.com")
    report = world.engine.deliver_outbox()
    [message] = world.messages()
    assert report.dead == (message.id,)
    assert message.status is OutboxStatus.DEAD
    assert "550 no such user" in message.last_error
    world.clock.advance(days=30)
    assert world.engine.deliver_outbox().claimed == 0
    assert len(world.notifier.tries) == 1


def test_a_message_is_dead_after_the_last_attempt_allowed() -> None:
    world = World(Flaky(*(OSError(f"down {n}") for n in range(10))))
    world.notify("olga")
    for _n in range(SETTINGS.max_attempts):
        report = world.engine.deliver_outbox()
        assert report.claimed == 1
        world.clock.advance(hours=1)
    [message] = world.messages()
    assert report.dead == (message.id,)
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, SETTINGS.max_attempts)
    assert message.last_error.endswith("OSError: down 3")
    assert world.engine.deliver_outbox().claimed == 0
    assert len(world.notifier.tries) == SETTINGS.max_attempts


def test_the_receivers_retry_after_is_honoured() -> None:
    world = World(Flaky(DeliveryError("smtp", "421 busy", retry_after=900)))
    world.notify("olga")
    world.engine.deliver_outbox()
    [message] = world.messages()
    assert message.available_at == world.clock.now + timedelta(seconds=900)


def test_a_stopped_run_hands_back_what_it_did_not_try(world: World) -> None:
    world.notify("a", "b", "c")
    asked = iter([False, True])
    report = world.engine.runtime.relay.run(stop=lambda: next(asked, True))
    assert len(report.delivered) == 1
    assert len(report.released) == 2
    left = [m for m in world.messages() if m.status is OutboxStatus.PENDING]
    assert [(m.attempts, m.lease_owner) for m in left] == [(0, None), (0, None)]
    assert world.engine.deliver_outbox().delivered == report.released


@given(
    attempts=st.integers(1, 100),
    base=st.integers(1, 3600),
    cap=st.integers(1, 86400),
    draw=st.floats(0, 1),
)
def test_back_off_stays_between_zero_and_its_capped_ceiling(
    attempts: int, base: int, cap: int, draw: float
) -> None:
    settings = RelaySettings(retry_base=timedelta(seconds=base), retry_cap=timedelta(seconds=cap))
    ceiling = timedelta(seconds=min(base * 2 ** (attempts - 1), cap))
    wait = retry_delay(attempts, settings, lambda: draw)
    assert timedelta(0) <= wait <= ceiling
    assert abs(wait - ceiling * draw) <= timedelta(milliseconds=1)
    if draw == 1:
        assert retry_delay(attempts + 1, settings, lambda: 1.0) >= wait
