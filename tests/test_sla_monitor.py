"""Escalation ladders and the SLA monitor: each level of each clock cycle fires once, at
its moment (or the next working minute), with its actions, even with two monitors at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from crmcms import Client, DefinitionError
from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, Engine, NotificationKind, SlaLevel
from crmcms.engine.ports import UnitOfWork
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

DEFINITIONS = """
priority NORMAL "Normal"
priority URGENT "Urgent"
mailing list LEADS "Team leads" {
    operators: lead
    addresses: "leads@example.com"
}
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
role AGENT "Agent"
role CHIEF "Chief"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" {
    roles: AGENT
    template: T
}
operator lead "Lead" {
    roles: AGENT
    template: T
}
operator boss "Boss" {
    roles: AGENT, CHIEF
    template: T
}
topic REPAIR "Repair"
queue LINE "First line" {
    members: ann, lead, boss
    admins: boss
}
queue CHIEFS "Chiefs" {
    members: boss
    admins: boss
}
route R "Repair" {
    topics: REPAIR
    deadline: 4h business { LADDER }
    process new "New" initial
    process done "Done" final
    transition finish new -> done "Finish"
}
"""

LADDER = (
    "at 50%: notify LEADS  "
    "at -1h: notify responsible and call record_risk  "
    "at +0: notify role CHIEF and raise priority URGENT  "
    "at +2h: move to queue CHIEFS"
)
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def definitions(ladder: str = LADDER) -> str:
    return DEFINITIONS.replace("LADDER", ladder)


class World:
    def __init__(
        self,
        factory: Callable[[], UnitOfWork] | None = None,
        ladder: str = LADDER,
        start: datetime = MONDAY,
    ) -> None:
        self.clock = ManualClock(start)
        self.billing = FakeBilling([Client(1, "ООО Ромашка")])
        self.calls: list[int] = []
        self.billing.functions["record_risk"] = lambda call: self.calls.append(call.appeal.id)
        self.factory = factory or MemoryStore().unit_of_work
        self.engine = self.make_engine(ladder)

    def make_engine(self, ladder: str = LADDER) -> Engine:
        plugins = make_plugin_manager([self.billing], load_entry_points=False)
        catalog = load_catalog_text(definitions(ladder))
        return Engine(
            catalog,
            self.factory,
            plugins=plugins,
            clock=self.clock,
            deliver_after_commit=True,
            trust_logins=True,
        )

    def register(self) -> int:
        made = self.engine.register_contact(
            "ann", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("REPAIR")]
        )
        return made.appeals[0].id


def sent(billing: FakeBilling) -> list[str]:
    """Who the notifications delivered since the last call went to."""
    found = [r for n in billing.notifications for r in n.recipients]
    billing.notifications.clear()
    return found


def test_a_ladder_fires_each_level_once_with_its_actions() -> None:
    world = World()
    engine, clock, billing = world.engine, world.clock, world.billing
    appeal_id = world.register()
    engine.take(appeal_id, "ann")
    assert engine.scan_deadlines() == []
    clock.advance(hours=2)
    [half] = engine.scan_deadlines()
    assert (half.level, half.scope, half.step, half.notified) == (
        SlaLevel.AT_RISK,
        "appeal",
        0,
        True,
    )
    assert sent(billing) == ["lead", "leads@example.com"]
    assert engine.scan_deadlines() == []
    clock.advance(hours=1)
    [risk] = engine.scan_deadlines()
    assert risk.step == 1
    assert sent(billing) == ["ann"]
    assert world.calls == [appeal_id]
    clock.advance(hours=1)
    [broken] = engine.scan_deadlines()
    assert (broken.level, broken.step) == (SlaLevel.OVERDUE, 2)
    assert billing.notifications[-1].kind is NotificationKind.ESCALATION
    assert sent(billing) == ["boss"]
    assert engine.appeal(appeal_id).priority == "URGENT"
    clock.advance(hours=2)
    [moved] = engine.scan_deadlines()
    assert moved.step == 3
    assert engine.appeal(appeal_id).queue == "CHIEFS"
    clock.advance(days=3)
    assert engine.scan_deadlines() == []
    assert sent(billing) == []
    assert world.calls == [appeal_id]
    kinds = [e.kind.value for e in engine.history(appeal_id)]
    assert kinds.count("deadline_warning") == 2
    assert kinds.count("deadline_broken") == 2


def test_a_late_scan_fires_every_level_passed_once() -> None:
    world = World()
    appeal_id = world.register()
    world.clock.advance(days=1)
    found = world.engine.scan_deadlines()
    assert [f.step for f in found] == [0, 1, 2, 3]
    assert world.engine.scan_deadlines() == []
    assert world.engine.appeal(appeal_id).queue == "CHIEFS"


def test_a_closed_appeal_escalates_no_more() -> None:
    world = World()
    appeal_id = world.register()
    world.engine.transition(appeal_id, "ann", "finish")
    world.clock.advance(days=2)
    assert world.engine.scan_deadlines() == []


def test_a_level_in_working_time_waits_for_the_next_working_minute() -> None:
    friday_evening = datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    ladder = "at +0 in working time: notify LEADS  at +0: notify boss"
    world = World(ladder=ladder, start=friday_evening)
    world.register()  # due Monday 02:00: 2h of Friday, then the weekend
    world.clock.now = datetime(2026, 3, 7, 1, tzinfo=UTC)  # Saturday night
    assert world.engine.scan_deadlines() == []
    world.clock.now = datetime(2026, 3, 9, 2, tzinfo=UTC)  # Monday 02:00
    assert [f.step for f in world.engine.scan_deadlines()] == [0, 1]


def test_the_shorthand_is_a_warning_and_an_escalation() -> None:
    text = DEFINITIONS.replace(
        "deadline: 4h business { LADDER }", "deadline: 4h warn 1h notify LEADS escalate boss"
    )
    catalog = load_catalog_text(text)
    levels = catalog.route("R").deadline.levels()  # type: ignore[union-attr]
    assert [(lv.offset, lv.actions[0].targets) for lv in levels] == [
        (-timedelta(hours=1), ("LEADS",)),
        (timedelta(0), ("LEADS", "boss")),
    ]


@pytest.mark.parametrize(
    ("ladder", "message", "at"),
    [
        ("at 50%: move to queue CHEFS", "unknown queue 'CHEFS'", "CHEFS"),
        ("at 50%: raise priority HOT", "unknown priority 'HOT'", "HOT"),
        ("at 50%: notify LEDS", "unknown mailing list or operator 'LEDS'", "LEDS"),
        ("at 50%: notify role CHEEF", "unknown role 'CHEEF'", "CHEEF"),
        ("at 120%: notify LEADS", "0-100%", "120%"),
        ("at 90%: notify LEADS  at 50%: notify boss", "out of order", "50%"),
    ],
)
def test_ladders_are_checked_where_they_are_written(ladder: str, message: str, at: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_catalog_text(definitions(ladder), file="r.crm")
    text = str(caught.value)
    assert message in text
    lines = definitions(ladder).splitlines()
    line = lines.index(f"    deadline: 4h business {{ {ladder} }}")
    assert f"r.crm:{line + 1}:{lines[line].index(at) + 1}:" in text


def test_the_monitor_works_on_sqlite(tmp_path: object) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/sla.sqlite")
    world = World(store.unit_of_work)
    appeal_id = world.register()
    world.clock.advance(hours=2)
    assert [f.step for f in world.engine.scan_deadlines()] == [0]
    world.clock.advance(hours=10)
    assert [f.step for f in world.engine.scan_deadlines()] == [1, 2, 3]
    assert world.engine.scan_deadlines() == []
    assert world.engine.appeal(appeal_id).priority == "URGENT"
    store.dispose()


@pytest.mark.postgres
def test_two_monitors_at_once_never_fire_a_level_twice(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    world = World(store.unit_of_work)
    ids = [world.register() for _ in range(30)]
    world.clock.advance(days=1)
    monitors = [world.make_engine(), world.make_engine()]
    found: list[list[object]] = [[], []]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        found[i] = list(monitors[i].scan_deadlines())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # An appeal both monitors met at once may be left by both (each sees the other's write
    # and steps aside): it stays due, and the next scan fires it. Never twice, never lost.
    later = list(monitors[0].scan_deadlines())
    assert list(monitors[1].scan_deadlines()) == []
    every = found[0] + found[1] + later
    fired = [(f.appeal_id, f.clock, f.step) for f in every]  # type: ignore[attr-defined]
    assert sorted(fired) == sorted((a, "resolution", s) for a in ids for s in range(4))
    assert len(later) < len(fired)  # the two shared the work
    assert sorted(world.calls) == sorted(ids)
    # LEADS (an operator and an address) and role CHIEF; nobody took them: no responsible
    assert len(world.billing.notifications) == 3 * len(ids)
    store.dispose()


def test_a_level_that_fails_keeps_nothing_and_fires_once_on_the_next_scan() -> None:
    world = World(ladder="at 50%: notify LEADS and call record_risk")
    appeal_id = world.register()
    world.clock.advance(hours=3)
    failing = {"on": True}

    def record(call: object) -> None:
        if failing["on"]:
            raise RuntimeError("the ticket system is down")
        world.calls.append(appeal_id)

    world.billing.functions["record_risk"] = record
    scan = world.engine.scan_deadlines()
    assert scan == []
    assert [(f.appeal_id, f.step, f.attempts) for f in scan.failures] == [(appeal_id, 0, 1)]
    assert "the ticket system is down" in scan.failures[0].error
    # Nothing of the level stayed: no notification, no history event, not marked fired.
    assert sent(world.billing) == []
    assert [e.kind.value for e in world.engine.history(appeal_id)] == ["created"]
    failing["on"] = False
    assert world.engine.scan_deadlines() == []  # it waits for its retry
    world.clock.advance(minutes=1)
    [fired] = world.engine.scan_deadlines()
    assert fired.step == 0
    assert world.calls == [appeal_id]
    assert sent(world.billing) == ["lead", "leads@example.com"]
    assert world.engine.scan_deadlines() == []
