"""Business time agrees with counting working minutes one by one, across DST and year ends."""

from __future__ import annotations

import bisect
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crmcms.errors import InvalidValueError, ValidationError
from crmcms.model import ALWAYS, WEEKDAYS, BusinessCalendar, CalendarDay, Timeline, timeline
from crmcms.model.calendars import WorkingInterval

MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW_DAYS = 16

ZONES = {
    "UTC": range(2025, 2028),
    "Europe/Berlin": range(2025, 2028),
    "America/Sao_Paulo": range(2015, 2019),
    "Australia/Lord_Howe": range(2025, 2028),
}


def _anchors(zone_name: str, years: range) -> list[date]:
    """Dates whose UTC offset changes overnight, and every year's last day."""
    zone = zoneinfo.ZoneInfo(zone_name)
    found = [date(y, 12, 31) for y in years]
    day = date(years.start, 1, 1)
    while day.year < years.stop:
        here = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).astimezone(zone)
        there = (
            datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=1)
        ).astimezone(zone)
        if here.utcoffset() != there.utcoffset():
            found.append(day)
        day += timedelta(days=1)
    return found


ANCHORS = {zone: _anchors(zone, years) for zone, years in ZONES.items()}


# --- the brute-force reference -------------------------------------------------------------


def _minute(moment: datetime) -> int:
    return (moment - EPOCH) // MINUTE


def _at(minute: int) -> datetime:
    return EPOCH + minute * MINUTE


def _wall_minute(zone: zoneinfo.ZoneInfo, day: date, minute: int) -> int:
    """A wall time's instant: a repeated one's first occurrence, a missing one steps forward
    minute by minute to the first wall time that exists (the moment the clocks jump)."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    while True:
        aware = naive.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            return _minute(aware)
        naive += MINUTE


class Reference:
    """Every working minute of a window, counted one by one."""

    def __init__(self, calendar: BusinessCalendar, first: date, days: int) -> None:
        zone = zoneinfo.ZoneInfo(calendar.timezone)
        self.first = _wall_minute(zone, first, 0)
        self.last = _wall_minute(zone, first + timedelta(days=days), 0)
        self.days: list[list[int]] = []
        working = set()
        for k in range(days):
            day = first + timedelta(days=k)
            minutes: list[int] = []
            for interval in calendar.intervals_on(day):
                start = _wall_minute(zone, day, interval.start)
                end = _wall_minute(zone, day, interval.end)
                minutes.extend(m for m in range(start, end) if not minutes or m > minutes[-1])
            self.days.append(minutes)
            working.update(minutes)
        self.working = working
        self.prefix = [0]
        for m in range(self.first, self.last):
            self.prefix.append(self.prefix[-1] + (m in working))

    def without(self, pauses: list[tuple[int, int]]) -> Reference:
        copy = object.__new__(Reference)
        copy.first, copy.last = self.first, self.last
        paused = {m for a, b in pauses for m in range(a, b)}
        copy.working = self.working - paused
        copy.days = [[m for m in day if m not in paused] for day in self.days]
        copy.prefix = [0]
        for m in range(self.first, self.last):
            copy.prefix.append(copy.prefix[-1] + (m in copy.working))
        return copy

    def elapsed(self, a: int, b: int) -> int:
        return self.prefix[b - self.first] - self.prefix[a - self.first]

    def available(self, start: int) -> int:
        return self.prefix[-1] - self.prefix[start - self.first]

    def add(self, start: int, amount: int) -> int:
        if amount == 0:
            return start
        target = self.prefix[start - self.first] + amount
        return bisect.bisect_left(self.prefix, target) + self.first

    def next_working(self, start: int) -> int | None:
        return next((m for m in range(start, self.last) if m in self.working), None)

    def add_days(self, start: int, days: int) -> int | None:
        working = self.next_working(start)
        if working is None:
            return None
        index = next(i for i, day in enumerate(self.days) if working in day)
        offset = self.days[index].index(working)
        later = [i for i in range(index + 1, len(self.days)) if self.days[i]]
        if offset == 0:
            chosen = index if days == 1 else (later[days - 2] if len(later) >= days - 1 else None)
            return None if chosen is None else self.days[chosen][-1] + 1
        if len(later) < days:
            return None
        minutes = self.days[later[days - 1]]
        return minutes[-1] + 1 if offset >= len(minutes) else minutes[offset - 1] + 1


# --- random calendars ------------------------------------------------------------------------


@st.composite
def day_intervals(draw: st.DrawFn, most: int = 3) -> tuple[WorkingInterval, ...]:
    points = draw(
        st.lists(st.integers(0, 288).map(lambda k: k * 5), unique=True, max_size=2 * most).map(
            sorted
        )
    )
    if len(points) % 2:
        points = points[:-1]
    return tuple(WorkingInterval(a, b) for a, b in zip(points[::2], points[1::2], strict=True))


@st.composite
def windows(draw: st.DrawFn) -> tuple[BusinessCalendar, date]:
    zone = draw(st.sampled_from(sorted(ZONES)))
    first = draw(st.sampled_from(ANCHORS[zone])) + timedelta(days=draw(st.integers(-6, 1)))
    week = [draw(day_intervals()) for _ in range(7)]
    assume(any(week))
    exception_days = draw(st.lists(st.integers(0, WINDOW_DAYS - 1), unique=True, max_size=4))
    exceptions = [
        CalendarDay(first + timedelta(days=k), draw(day_intervals(2))) for k in exception_days
    ]
    calendar = BusinessCalendar("RANDOM", "Random", zone, week=week, exceptions=exceptions)
    return calendar, first


@st.composite
def cases(draw: st.DrawFn) -> tuple[Timeline, Reference, int]:
    calendar, first = draw(windows())
    reference = Reference(calendar, first, WINDOW_DAYS)
    assume(reference.prefix[-1] > 0)
    start = draw(st.integers(reference.first, reference.first + 5 * 24 * 60))
    return timeline(calendar), reference, start


def _amount(draw: st.DrawFn, reference: Reference, start: int) -> int:
    return draw(st.integers(0, reference.available(start)))


# --- the properties --------------------------------------------------------------------------


@given(st.data(), cases())
def test_add_and_elapsed_match_counting_minutes(data: st.DataObject, case: tuple) -> None:
    line, reference, start = case
    amount = _amount(data.draw, reference, start)
    due = line.add(_at(start), amount * MINUTE)
    assert due == _at(reference.add(start, amount))
    assert due.tzinfo is UTC
    assert line.elapsed(_at(start), due) == amount * MINUTE
    other = data.draw(st.integers(reference.first, reference.last))
    assert line.elapsed(_at(start), _at(other)) == reference.elapsed(
        min(start, other), max(start, other)
    ) * MINUTE * (1 if other >= start else -1)


@given(st.data(), cases())
def test_add_is_additive_and_monotonic(data: st.DataObject, case: tuple) -> None:
    line, reference, start = case
    total = _amount(data.draw, reference, start)
    first = data.draw(st.integers(0, total))
    s = _at(start)
    assert line.add(line.add(s, first * MINUTE), (total - first) * MINUTE) == line.add(
        s, total * MINUTE
    )
    assert line.add(s, first * MINUTE) <= line.add(s, total * MINUTE)
    later = data.draw(st.integers(start, start + 24 * 60))
    assume(first <= reference.available(later))
    assert line.add(s, first * MINUTE) <= line.add(_at(later), first * MINUTE)


@given(st.data(), cases())
def test_elapsed_is_additive(data: st.DataObject, case: tuple) -> None:
    line, reference, _ = case
    a, b, c = (_at(data.draw(st.integers(reference.first, reference.last), label=n)) for n in "abc")
    assert line.elapsed(a, b) + line.elapsed(b, c) == line.elapsed(a, c)


@given(st.data(), cases())
def test_a_deadline_lies_in_working_time_or_at_an_interval_end(
    data: st.DataObject, case: tuple
) -> None:
    line, reference, start = case
    amount = data.draw(st.integers(1, max(1, reference.available(start))))
    assume(amount <= reference.available(start))
    due = line.add(_at(start), amount * MINUTE)
    tick = timedelta(microseconds=1)
    assert line.is_working(due) or (line.is_working(due - tick) and not line.is_working(due))


@given(st.data(), cases())
def test_working_moments_match_counting_minutes(data: st.DataObject, case: tuple) -> None:
    line, reference, _ = case
    moment = data.draw(st.integers(reference.first, reference.last - 1))
    assert line.is_working(_at(moment)) == (moment in reference.working)
    expected = reference.next_working(moment)
    assume(expected is not None)
    assert line.next_working(_at(moment)) == _at(expected)


@given(st.data(), cases())
def test_a_pause_is_the_calendar_without_the_paused_time(data: st.DataObject, case: tuple) -> None:
    line, reference, start = case
    points = data.draw(
        st.lists(st.integers(reference.first, reference.last), max_size=6).map(sorted)
    )
    pauses = list(zip(points[::2], points[1::2], strict=False))
    paused = reference.without(pauses)
    breaks = [(_at(a), _at(b)) for a, b in pauses]
    amount = data.draw(st.integers(0, paused.available(start)))
    assert line.add(_at(start), amount * MINUTE, breaks=breaks) == _at(paused.add(start, amount))
    other = data.draw(st.integers(start, reference.last))
    assert (
        line.elapsed(_at(start), _at(other), breaks=breaks) == paused.elapsed(start, other) * MINUTE
    )


@given(st.data(), cases())
def test_working_days_match_counting_days(data: st.DataObject, case: tuple) -> None:
    line, reference, start = case
    days = data.draw(st.integers(1, 5))
    expected = reference.add_days(start, days)
    assume(expected is not None)
    assert line.add_days(_at(start), days) == _at(expected)


@settings(max_examples=30)
@given(
    st.sampled_from(sorted(ZONES)),
    st.lists(day_intervals(), min_size=7, max_size=7).filter(any),
    st.datetimes(datetime(2015, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(0, 3 * 365 * 24 * 60),
    st.integers(0, 3 * 365 * 24 * 60),
)
def test_far_deadlines_stay_exact(
    zone: str, week: list, start: datetime, first: int, second: int
) -> None:
    holidays = [date(2016, 1, 1) + timedelta(days=k * 37) for k in range(60)]
    line = timeline(
        BusinessCalendar("FAR", "Far", zone, week=week, exceptions=dict.fromkeys(holidays, ()))
    )
    a, b = first * MINUTE, second * MINUTE
    due = line.add(start, a + b)
    assert line.elapsed(start, due) == a + b
    assert line.add(line.add(start, a), b) == due
    assert line.add_days(line.add_days(start, 3), 0) == line.add_days(start, 3)


# --- the built-in calendars and plain examples -----------------------------------------------


def _monday_to_friday(start: datetime, amount: timedelta) -> datetime:
    """How business deadlines were counted before calendars: Monday to Friday, whole days."""
    day = timedelta(days=1)
    current, left = start, amount
    while True:
        midnight = (current + day).replace(hour=0, minute=0, second=0, microsecond=0)
        if current.weekday() >= 5:
            current = midnight
            continue
        if current.weekday() == 0 and current == current.replace(
            hour=0, minute=0, second=0, microsecond=0
        ):
            weeks = left // timedelta(days=5)
            if weeks:
                current += timedelta(days=7 * weeks)
                left -= timedelta(days=5 * weeks)
                continue
        today = midnight - current
        if left <= today:
            return current + left
        left -= today
        current = midnight


@given(
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(1, 400),
)
def test_weekdays_count_days_as_business_deadlines_always_did(start: datetime, days: int) -> None:
    line = timeline(WEEKDAYS)
    before = _monday_to_friday(start, timedelta(days=days))
    for now in (line.add_days(start, days), line.add(start, timedelta(days=days))):
        # The old count sometimes gave Monday 00:00 for the end of a Friday: the same moment.
        assert now == before or (
            line.elapsed(now, before) == timedelta(0) and before - now == timedelta(days=2)
        )


def test_weekdays_examples() -> None:
    line = timeline(WEEKDAYS)
    friday = datetime(2026, 12, 4, 16, tzinfo=UTC)
    assert line.add_days(friday, 2) == datetime(2026, 12, 8, 16, tzinfo=UTC)
    assert line.add_days(datetime(2026, 12, 5, 10, tzinfo=UTC), 1) == datetime(
        2026, 12, 8, tzinfo=UTC
    )
    assert line.next_working(datetime(2026, 12, 5, 10, tzinfo=UTC)) == datetime(
        2026, 12, 7, tzinfo=UTC
    )


def test_always_counts_every_minute() -> None:
    start = datetime(2026, 3, 29, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert timeline(ALWAYS).add(start, timedelta(days=3)) == start.astimezone(UTC) + timedelta(
        days=3
    )


def test_a_spring_forward_night_is_shorter_and_a_fall_back_night_longer() -> None:
    nights = BusinessCalendar("N", "Nights", "Europe/Berlin", week=[["00:00-06:00"]] * 7)
    line = timeline(nights)
    assert line.elapsed(
        datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 29, 12, tzinfo=UTC)
    ) == timedelta(hours=5)
    assert line.elapsed(
        datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 25, 12, tzinfo=UTC)
    ) == timedelta(hours=7)
    # 02:30 does not exist that night: an interval from it starts when the clocks jump, 03:00 CEST.
    gap = BusinessCalendar("G", "Gap", "Europe/Berlin", week=[["02:30-04:00"]] * 7)
    assert timeline(gap).next_working(datetime(2026, 3, 29, tzinfo=UTC)) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )


def test_holidays_and_shortened_days() -> None:
    office = BusinessCalendar(
        "MSK",
        "Moscow",
        "Europe/Moscow",
        week=[["09:00-13:00", "14:00-18:00"]] * 5 + [[], []],
        exceptions={
            date(2026, 1, 1): (),
            date(2026, 1, 2): ["09:00-12:00"],
            date(2026, 1, 3): ["10:00-11:00"],
        },
    )
    line = timeline(office)
    wednesday = datetime(2025, 12, 31, 17, tzinfo=zoneinfo.ZoneInfo("Europe/Moscow"))
    # 1 h left on Wednesday, Thursday is a holiday, 3 h on Friday, 1 h on the working Saturday.
    assert line.add(wednesday, timedelta(hours=5)) == datetime(2026, 1, 3, 8, tzinfo=UTC)
    assert line.add_days(wednesday, 1) == datetime(2026, 1, 2, 9, tzinfo=UTC)


def test_naive_and_negative_inputs_are_refused() -> None:
    line = timeline(WEEKDAYS)
    with pytest.raises(InvalidValueError, match="no time zone"):
        line.add(datetime(2026, 1, 1), timedelta(hours=1))
    with pytest.raises(InvalidValueError, match="negative"):
        line.add(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=-1))
    with pytest.raises(InvalidValueError, match="negative"):
        line.add_days(datetime(2026, 1, 1, tzinfo=UTC), -1)
    with pytest.raises(InvalidValueError, match="pause ends before"):
        line.elapsed(
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 2, tzinfo=UTC),
            breaks=[(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))],
        )


def test_timelines_are_made_once_per_calendar() -> None:
    assert timeline(WEEKDAYS) is timeline(WEEKDAYS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"week": [["09:00-13:00", "12:00-18:00"]] + [[]] * 6}, "week"),
        ({"week": [["14:00-18:00", "09:00-13:00"]] + [[]] * 6}, "week"),
        ({"week": [[]] * 7}, "week"),
        ({"week": [["09:00-18:00"]] * 6}, "week"),
        (
            {
                "week": [["09:00-18:00"]] * 7,
                "exceptions": [CalendarDay(date(2026, 1, 1)), CalendarDay(date(2026, 1, 1))],
            },
            "exceptions",
        ),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    kwargs.setdefault("week", [["09:00-18:00"]] * 7)
    with pytest.raises(ValidationError) as caught:
        BusinessCalendar("BAD", "Bad", **kwargs)
    assert field in caught.value.codes()


@pytest.mark.parametrize("text", ["9-18", "09:00-25:00", "18:00-09:00", "09:60-10:00"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="interval"):
        WorkingInterval.parse(text)


def test_intervals_read_and_write_as_text() -> None:
    assert str(WorkingInterval.parse("9:00-24:00")) == "09:00-24:00"
    assert WorkingInterval.parse("00:00-24:00").minutes == 24 * 60


# The same calendar as ALWAYS, but with a (harmless) exception day: counted day by day.
_ALWAYS_BY_DAYS = timeline(
    BusinessCalendar(
        "ALWAYS_BY_DAYS",
        "Around the clock, counted by days",
        week=[["00:00-24:00"]] * 7,
        exceptions=[CalendarDay(date(2199, 1, 1), [WorkingInterval.parse("00:00-24:00")])],
    )
)

_instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(
    start=_instants,
    other=_instants,
    duration=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    pauses=st.lists(
        st.tuples(_instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))),
        max_size=4,
    ),
)
def test_around_the_clock_counts_as_plain_time_and_as_day_by_day(
    start: datetime, other: datetime, duration: timedelta, pauses: list[tuple[datetime, timedelta]]
) -> None:
    line = timeline(ALWAYS)
    breaks = [(a, a + d) for a, d in pauses]
    assert line.add(start, duration) == start + duration
    assert line.elapsed(start, other) == other - start
    assert line.add(start, duration, breaks=breaks) == _ALWAYS_BY_DAYS.add(
        start, duration, breaks=breaks
    )
    assert line.elapsed(start, other, breaks=breaks) == _ALWAYS_BY_DAYS.elapsed(
        start, other, breaks=breaks
    )
