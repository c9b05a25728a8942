"""Deadlines count in the calendar of the process, queue or route; WEEKDAYS when none is named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmcms.engine.deadlines import calendar_for, due_at, is_business_day
from crmcms.errors import NotFoundError
from crmcms.model import (
    ALWAYS,
    WEEKDAYS,
    BusinessCalendar,
    Catalog,
    Deadline,
    Process,
    Queue,
    Route,
)

MOSCOW = ZoneInfo("Europe/Moscow")
OFFICE = BusinessCalendar(
    "OFFICE",
    "Moscow office",
    "Europe/Moscow",
    week=[["09:00-13:00", "14:00-18:00"]] * 5 + [[], []],
    exceptions={date(2026, 2, 23): (), date(2026, 2, 28): ["09:00-18:00"]},
)


def _route(process_calendar: str | None, route_calendar: str | None) -> Route:
    return Route(
        "R",
        "Route",
        "a",
        (Process("a", "A", calendar=process_calendar), Process("b", "B", final=True)),
        topics=("T",),
        calendar=route_calendar,
    )


def test_days_are_working_days_and_hours_working_time() -> None:
    friday = datetime(2026, 2, 20, 15, 30, tzinfo=MOSCOW)
    # Monday 23 February is a holiday and Saturday 28 February a working day.
    assert due_at(friday, Deadline(timedelta(days=1), business_time=True), OFFICE) == datetime(
        2026, 2, 24, 15, 30, tzinfo=MOSCOW
    )
    assert due_at(friday, Deadline(timedelta(hours=4), business_time=True), OFFICE) == datetime(
        2026, 2, 24, 10, 30, tzinfo=MOSCOW
    )
    # 1d12h: one working day to Tuesday 15:30, then twelve working hours to Thursday 10:30.
    assert due_at(
        friday, Deadline(timedelta(days=1, hours=12), business_time=True), OFFICE
    ) == datetime(2026, 2, 26, 10, 30, tzinfo=MOSCOW)
    # The same working time into the day: 5 h 30 min, which on Saturday (no lunch) is 14:30.
    assert due_at(friday, Deadline(timedelta(days=5), business_time=True), OFFICE) == datetime(
        2026, 2, 28, 14, 30, tzinfo=MOSCOW
    )


def test_clock_deadlines_ignore_the_calendar() -> None:
    friday = datetime(2026, 2, 20, 15, 30, tzinfo=UTC)
    assert due_at(friday, Deadline(timedelta(days=1)), OFFICE) == friday + timedelta(days=1)


def test_without_a_calendar_business_means_monday_to_friday() -> None:
    friday = datetime(2026, 3, 6, 16, tzinfo=UTC)
    two_days = Deadline(timedelta(days=2), business_time=True)
    assert due_at(friday, two_days) == datetime(2026, 3, 10, 16, tzinfo=UTC)
    assert is_business_day(friday)
    assert not is_business_day(friday + timedelta(days=1))
    assert not is_business_day(datetime(2026, 2, 23, 12, tzinfo=UTC), OFFICE)


def test_the_process_calendar_wins_then_the_queue_then_the_route() -> None:
    catalog = Catalog(calendars=(OFFICE,))
    queue = Queue("Q", "Queue", calendar="ALWAYS")
    route = _route("OFFICE", "WEEKDAYS")
    assert calendar_for(catalog, route, route.process("a"), queue) is OFFICE
    assert calendar_for(catalog, route, route.process("b"), queue) is ALWAYS
    assert calendar_for(catalog, route, route.process("b"), None) is WEEKDAYS
    assert calendar_for(catalog, _route(None, None), None, Queue("P", "P")) is WEEKDAYS


def test_unknown_calendars_are_reported_with_a_hint() -> None:
    catalog = Catalog(calendars=(OFFICE,))
    assert catalog.calendar("WEEKDAYS") is WEEKDAYS
    with pytest.raises(NotFoundError, match="did you mean 'OFFICE'"):
        catalog.calendar("OFICE")
    route = _route("NOPE", None)
    with pytest.raises(NotFoundError):
        calendar_for(catalog, route, route.process("a"), None)


ENGINE_TEXT = """
topic T "T" { attribute A "A": string required }
calendar OFFICE "Office" {
    timezone: "Europe/Moscow"
    mon..fri: 09:00-13:00, 14:00-18:00
    holidays: 2026-03-09
}
queue REG "Registration" {
    processes: a
}
queue WORK "Work" {
    processes: b, c
    calendar: OFFICE
}
operator olga "Olga"
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
route R "R" {
    topics: T
    deadline: 1d business
    process a "A" initial
    process b "B" { deadline: 4h business }
    process c "C" final
    transition go a -> b "Go"
    transition done b -> c "Done"
}
"""


def test_the_engine_counts_a_process_deadline_in_its_queue_calendar() -> None:
    from crmcms.dsl import load_catalog_text
    from crmcms.engine import AppealDraft
    from crmcms.model import Client
    from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

    friday_evening = datetime(2026, 3, 6, 17, 0, tzinfo=MOSCOW)
    engine, _, _ = make_engine(
        load_catalog_text({"e.crm": ENGINE_TEXT}),
        FakeBilling((Client(1, "Client", category="BIS", region="Moscow"),)),
        clock=ManualClock(friday_evening.astimezone(UTC)),
    )
    made = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("T", {"A": "x"})]
    )
    appeal = made.appeals[0]
    # The route names no calendar: its one business day is a WEEKDAYS day.
    assert appeal.deadline == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    moved = engine.transition(appeal.id, "olga", "go")
    assert moved.queue == "WORK"
    # One hour on Friday, Monday 9 March is a holiday, three hours on Tuesday.
    assert moved.process_deadline == datetime(2026, 3, 10, 12, 0, tzinfo=MOSCOW)


def test_sla_clocks_count_a_process_deadline_in_the_process_calendar() -> None:
    from crmcms.dsl import load_catalog_text
    from crmcms.engine import AppealDraft
    from crmcms.model import Client
    from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

    text = ENGINE_TEXT.replace(
        'process b "B" { deadline: 4h business }',
        'process b "B" { deadline: 4h business  calendar: OFFICE }',
    ).replace("    calendar: OFFICE\n}", "}", 1)
    friday_evening = datetime(2026, 3, 6, 17, 0, tzinfo=MOSCOW)
    engine, _, _ = make_engine(
        load_catalog_text({"e.crm": text}),
        FakeBilling((Client(1, "Client", category="BIS", region="Moscow"),)),
        clock=ManualClock(friday_evening.astimezone(UTC)),
    )
    made = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("T", {"A": "x"})]
    )
    appeal = engine.transition(made.appeals[0].id, "olga", "go")
    due = datetime(2026, 3, 10, 12, 0, tzinfo=MOSCOW)
    assert appeal.process_deadline == due
    [clock] = [c for c in engine.sla_clocks(appeal.id) if c.process == "b"]
    assert clock.due == due


def test_sla_clocks_count_a_process_deadline_in_the_calendar_of_its_queue() -> None:
    from crmcms.dsl import load_catalog_text
    from crmcms.engine import AppealDraft
    from crmcms.model import Client
    from crmcms.testing.engine import FakeBilling, ManualClock, make_engine

    clock = ManualClock(datetime(2026, 3, 6, 17, 0, tzinfo=MOSCOW).astimezone(UTC))
    engine, _, _ = make_engine(
        load_catalog_text({"e.crm": ENGINE_TEXT}),
        FakeBilling((Client(1, "Client", category="BIS", region="Moscow"),)),
        clock=clock,
    )
    made = engine.register_contact(
        "olga", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("T", {"A": "x"})]
    )
    appeal = engine.transition(made.appeals[0].id, "olga", "go")
    # Only the queue WORK names OFFICE: the clock counts in it like the process deadline.
    due = datetime(2026, 3, 10, 12, 0, tzinfo=MOSCOW)
    assert appeal.process_deadline == due
    [process] = [c for c in engine.sla_clocks(appeal.id) if c.process == "b"]
    assert process.due == due
    clock.advance(hours=1)
    assert engine.recompute_deadlines() == 0
    [process] = [c for c in engine.sla_clocks(appeal.id) if c.process == "b"]
    assert process.due == due
