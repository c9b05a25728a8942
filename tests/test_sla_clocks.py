"""SLA clocks per appeal: first response, resolution and process clocks, pauses, reopening,
overrides and recomputation, always equal to what the appeal's history gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcms import Client
from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, Engine
from crmcms.engine.clock_store import clocks_now
from crmcms.engine.sla_clocks import clocks_from_history
from crmcms.errors import WorkflowError
from crmcms.model import ClockKind, SlaClock
from crmcms.model.business_time import timeline
from crmcms.model.calendars import WEEKDAYS
from crmcms.plugins import make_plugin_manager
from crmcms.storage.memory import MemoryStore
from crmcms.testing.engine import FakeBilling, ManualClock

DEFINITIONS = """
priority NORMAL "Normal"
priority URGENT "Urgent"
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
role AGENT "Agent"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" {
    roles: AGENT
    template: T
}
operator boss "Boss" {
    roles: AGENT
    template: T
}
topic REPAIR "Repair"
queue LINE "First line" {
    members: ann, boss
    admins: boss
}
route R "Repair" {
    topics: REPAIR
    deadline: RESOLUTION priority URGENT 4h
    first response: 30m business
    process new "New" initial { deadline: 4h }
    process wait "Waiting for the client" pauses
    process done "Done" final
    transition ask new -> wait "Ask the client"
    transition answer wait -> new "Client answered"
    transition finish new -> done "Finish"
}
"""

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def definitions(resolution: str = "2d business") -> str:
    return DEFINITIONS.replace("RESOLUTION", resolution)


def world(
    resolution: str = "2d business", store: MemoryStore | None = None
) -> tuple[Engine, ManualClock, MemoryStore]:
    store = store or MemoryStore()
    clock = ManualClock(MONDAY)
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS", region="Moscow")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    catalog = load_catalog_text(definitions(resolution))
    return (
        Engine(catalog, store.unit_of_work, plugins=plugins, clock=clock, trust_logins=True),
        clock,
        store,
    )


def register(engine: Engine, priority: str | None = None) -> int:
    made = engine.register_contact(
        "ann",
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("REPAIR", priority=priority)],
    )
    return made.appeals[0].id


def clocks(engine: Engine, appeal_id: int) -> dict[str, SlaClock]:
    return {c.key: c for c in engine.sla_clocks(appeal_id)}


def stored(store: MemoryStore, appeal_id: int) -> dict[str, SlaClock]:
    with store.unit_of_work() as uow:
        return {c.key: c for c in uow.clocks.for_appeal(appeal_id)}


def test_a_new_appeal_has_its_three_clocks() -> None:
    engine, _, store = world()
    appeal_id = register(engine)
    found = clocks(engine, appeal_id)
    assert list(found) == ["first_response", "resolution", "process:new"]
    first = found["first_response"]
    assert (first.start, first.due, first.remaining) == (
        MONDAY,
        MONDAY + timedelta(minutes=30),
        timedelta(minutes=30),
    )
    assert found["resolution"].due == MONDAY + timedelta(days=2)
    assert found["process:new"].due == MONDAY + timedelta(hours=4)
    assert stored(store, appeal_id) == found


def test_taking_the_appeal_stops_the_first_response_clock() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    clock.advance(minutes=20)
    engine.take(appeal_id, "ann")
    clock.advance(hours=1)
    first = clocks(engine, appeal_id)["first_response"]
    assert first.stopped_at == MONDAY + timedelta(minutes=20)
    assert first.elapsed == timedelta(minutes=20)
    assert not first.breached
    assert clocks(engine, appeal_id)["resolution"].running


def test_an_untaken_appeal_breaches_its_first_response() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    clock.advance(hours=1)
    first = clocks(engine, appeal_id)["first_response"]
    assert first.breached_at == MONDAY + timedelta(minutes=30)
    assert first.remaining == -timedelta(minutes=30)


def test_pause_and_resume_move_the_due_time_by_the_paused_working_time() -> None:
    engine, clock, _ = world()
    appeal_id = register(engine)
    before = clocks(engine, appeal_id)["resolution"].due
    assert before == datetime(2026, 3, 4, 9, tzinfo=UTC)
    clock.advance(hours=3)
    engine.transition(appeal_id, "ann", "ask")
    paused = clocks(engine, appeal_id)["resolution"]
    assert paused.paused_since == clock.now
    assert paused.due is None
    # Paused from Monday 12:00 to Saturday 12:00: four days and a half of which are working
    # time (Monday to Friday), the weekend is not.
    clock.now = datetime(2026, 3, 7, 12, tzinfo=UTC)
    assert clocks(engine, appeal_id)["resolution"].remaining == timedelta(days=2) - timedelta(
        hours=3
    )
    engine.transition(appeal_id, "ann", "answer")
    resumed = clocks(engine, appeal_id)["resolution"]
    assert resumed.paused_since is None
    # Due Wednesday 09:00 before, now Tuesday 21:00: exactly 4.5 working days later.
    assert resumed.due == datetime(2026, 3, 10, 21, tzinfo=UTC)
    assert timeline(WEEKDAYS).elapsed(before, resumed.due) == timedelta(days=4, hours=12)
    assert resumed.elapsed == timedelta(hours=3)


def test_reopening_restarts_the_resolution_and_process_clocks_not_the_first_response() -> None:
    engine, clock, store = world()
    appeal_id = register(engine)
    engine.take(appeal_id, "ann")
    clock.advance(hours=1)
    engine.transition(appeal_id, "ann", "finish")
    closed = clocks(engine, appeal_id)
    assert all(c.stopped for c in closed.values())
    clock.advance(days=1)
    engine.reopen(appeal_id, "boss", "the client called back")
    found = clocks(engine, appeal_id)
    resolution, process = found["resolution"], found["process:new"]
    assert (resolution.cycle, resolution.start, resolution.stopped_at) == (2, clock.now, None)
    assert resolution.due == clock.now + timedelta(days=2)
    assert (process.cycle, process.start) == (2, clock.now)
    assert found["first_response"] == attrs.evolve(closed["first_response"], at=clock.now)
    assert stored(store, appeal_id) == found


def test_a_priority_of_its_own_limits_the_resolution() -> None:
    engine, _, _ = world()
    appeal_id = register(engine, priority="URGENT")
    assert clocks(engine, appeal_id)["resolution"].due == MONDAY + timedelta(hours=4)


def test_an_override_survives_recomputation_and_still_moves_with_pauses() -> None:
    engine, clock, store = world()
    appeal_id = register(engine)
    agreed = MONDAY + timedelta(days=10)
    engine.change_deadlines(appeal_id, "boss", deadline=agreed, reason="agreed with the client")
    assert clocks(engine, appeal_id)["resolution"].due == agreed
    assert engine.recompute_deadlines() == 0
    assert stored(store, appeal_id)["resolution"].due == agreed
    engine.transition(appeal_id, "ann", "ask")
    clock.advance(days=1)
    engine.transition(appeal_id, "ann", "answer")
    resolution = clocks(engine, appeal_id)["resolution"]
    assert resolution.overridden
    assert resolution.due == agreed + timedelta(days=1)


def test_changed_definitions_recompute_the_stored_deadlines() -> None:
    engine, _, store = world("2d business")
    first, second = register(engine), register(engine)
    engine.transition(second, "ann", "finish")
    assert stored(store, first)["resolution"].due == MONDAY + timedelta(days=2)
    later, _, _ = world("3d business", store)
    assert later.recompute_deadlines(batch=1) == 1
    assert stored(store, first)["resolution"].due == MONDAY + timedelta(days=3)
    assert stored(store, second)["resolution"].due == MONDAY + timedelta(days=2)
    assert later.recompute_deadlines() == 0


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["take", "ask", "answer", "finish", "reopen", "override", "wait"]),
        st.integers(min_value=1, max_value=60 * 60 * 30),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, urgent=st.booleans())
def test_stored_clocks_are_the_clocks_recomputed_from_history(
    actions: list[tuple[str, int]], urgent: bool
) -> None:
    engine, clock, store = world()
    appeal_id = register(engine, priority="URGENT" if urgent else None)
    for action, seconds in actions:
        clock.advance(seconds=seconds)
        try:
            if action == "take":
                engine.take(appeal_id, "ann")
            elif action in ("ask", "answer", "finish"):
                engine.transition(appeal_id, "ann", action)
            elif action == "reopen":
                engine.reopen(appeal_id, "boss", "again")
            elif action == "override":
                engine.change_deadlines(
                    appeal_id, "boss", deadline=clock.now + timedelta(hours=5), reason="agreed"
                )
        except WorkflowError:
            pass
        with store.unit_of_work() as uow:
            kept = uow.clocks.for_appeal(appeal_id)
            appeal = uow.appeals.get(appeal_id)
            at = kept[0].at
            fresh = clocks_now(uow, engine.catalog, appeal, at)
            history = uow.history.for_appeal(appeal_id)
        assert tuple(kept) == fresh
        route = engine.catalog.route("R", 1)
        now = clocks_from_history(appeal, history, route, clock.now)
        for c in now:
            assert c.elapsed >= timedelta(0)
            if c.limit is not None and c.remaining is not None:
                assert c.remaining == c.limit - c.elapsed
            kinds = {ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION, ClockKind.PROCESS}
            assert c.kind in kinds


def test_business_days_on_a_clock_are_working_days_of_its_calendar() -> None:
    """In an office calendar (nine working hours a day) 2d business ends two working days
    on at the same time of day, on the clock as in the appeal's deadline, not after 48
    working hours."""
    office = """
calendar OFFICE "Office" {
    timezone: "UTC"
    mon..fri: 09:00-18:00
}
"""
    store = MemoryStore()
    clock = ManualClock(MONDAY + timedelta(hours=1))  # Monday 10:00
    billing = FakeBilling([Client(1, "ООО Ромашка", category="BIS", region="Moscow")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    text = definitions("2d business").replace(
        "topics: REPAIR\n", "topics: REPAIR\n    calendar: OFFICE\n"
    )
    catalog = load_catalog_text(office + text)
    engine = Engine(catalog, store.unit_of_work, plugins=plugins, clock=clock, trust_logins=True)
    appeal_id = register(engine)
    resolution = clocks(engine, appeal_id)["resolution"]
    wednesday = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert resolution.due == wednesday
    assert resolution.remaining == timedelta(hours=18)  # two working days of nine hours
    assert engine.appeal(appeal_id).deadline == wednesday
