"""Calendars in definition files: the syntax, the references to them and each mistake's place."""

from __future__ import annotations

from datetime import date

import pytest

from crmcms.dsl import format_source, load_catalog
from crmcms.dsl.definitions.loader import check_sources
from crmcms.dsl.definitions.printer import dump_catalog
from crmcms.errors import DslError
from crmcms.model import WorkingInterval

CALENDAR = """
calendar MOSCOW "Moscow office" {
    timezone: "Europe/Moscow"
    mon..fri: 09:00-13:00, 14:00-18:00
    sat: 10:00-14:00
    sun: none
    holidays: 2026-01-01..2026-01-08, 2026-02-23
    working: 2026-02-28 09:00-18:00
    description: "Head office"
}
"""

ROUTE = """
topic T "Termination"

queue Q "Queue" {
    calendar: MOSCOW
}

route R "Route" {
    topics: T
    calendar: WEEKDAYS
    process a "A" initial {
        deadline: 2d business
        calendar: MOSCOW
    }
    process b "B" final
    transition a -> b "Close"
}
"""


def problems(text: str) -> list[str]:
    return [
        f"{p.span.line}:{p.span.column}: {p.message}" for p in check_sources({"x.crm": text})[1]
    ]


def test_a_calendar_declares_weekdays_holidays_and_working_days(tmp_path) -> None:
    (tmp_path / "c.crm").write_text(CALENDAR + ROUTE, encoding="utf-8")
    catalog = load_catalog([tmp_path])
    moscow = catalog.calendar("MOSCOW")
    assert moscow.timezone == "Europe/Moscow"
    assert moscow.week[0] == (WorkingInterval(540, 780), WorkingInterval(840, 1080))
    assert moscow.week[5] == (WorkingInterval(600, 840),)
    assert moscow.week[6] == ()
    assert len(moscow.holidays) == 9
    assert moscow.intervals_on(date(2026, 2, 28)) == (WorkingInterval(540, 1080),)
    assert moscow.description == "Head office"
    route = catalog.route("R")
    assert (route.calendar, route.process("a").calendar, route.process("b").calendar) == (
        "WEEKDAYS",
        "MOSCOW",
        None,
    )
    assert catalog.queue("Q").calendar == "MOSCOW"


def test_calendars_are_printed_and_formatted_back_to_the_same(tmp_path) -> None:
    text = CALENDAR + ROUTE
    assert format_source(format_source(text)) == format_source(text)
    (tmp_path / "c.crm").write_text(text, encoding="utf-8")
    catalog = load_catalog([tmp_path])
    (tmp_path / "c.crm").write_text(dump_catalog(catalog), encoding="utf-8")
    assert load_catalog([tmp_path]) == catalog


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"Europe/Moscow"', '"Europe/Moskow"', "3:15: unknown time zone 'Europe/Moskow'"),
        (
            "09:00-13:00, 14:00-18:00",
            "09:00-14:30, 14:00-18:00",
            "4:5: calendar MOSCOW: 09:00-14:30",
        ),
        ("sun: none", "fri: none", "6:5: calendar MOSCOW: fri is given twice"),
        ("2026-01-01..2026-01-08", "2026-01-08..2026-01-01", "runs backwards"),
        ("2026-02-23\n", "2026-02-23, 2026-01-05\n", "2026-01-05 is given twice"),
        (
            "working: 2026-02-28",
            "working: 2026-02-23",
            "8:14: calendar MOSCOW: 2026-02-23 is given twice",
        ),
        (
            "calendar: MOSCOW\n    }",
            "calendar: MOSCW\n    }",
            "unknown calendar 'MOSCW' in process a",
        ),
        ("calendar: WEEKDAYS", "calendar: WEEKDAY", "unknown calendar 'WEEKDAY' in route R"),
    ],
)
def test_mistakes_are_reported_where_they_stand(old: str, new: str, expected: str) -> None:
    text = CALENDAR + ROUTE
    assert problems(text) == []
    assert old in text
    found = problems(text.replace(old, new, 1))
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("mon..fri: 09:00-25:00", "not a wall time"),
        ("fri..mon: 09:00-18:00", "runs from Monday to Sunday"),
        ("holidays: 2026-02-30", "not a date"),
        ("mon: 18:00-09:00", "must end after it starts"),
    ],
)
def test_malformed_values_are_syntax_errors_at_their_place(line: str, message: str) -> None:
    text = f'calendar C "C" {{\n    {line}\n}}\n'
    with pytest.raises(DslError, match=message) as caught:
        format_source(text)
    assert caught.value.span.line == 2


def test_a_calendar_without_working_time_is_refused() -> None:
    found = problems('calendar C "C" {\n    sun: none\n}\n')
    assert any("no weekday has working time" in p for p in found), found
