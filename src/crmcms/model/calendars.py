"""Business calendars: a time zone, working intervals per weekday, and dates that differ."""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import duplicates, require_code

__all__ = [
    "ALWAYS",
    "WEEKDAYS",
    "WEEKDAY_NAMES",
    "BusinessCalendar",
    "CalendarDay",
    "WorkingInterval",
]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The weekdays as definition files write them, Monday first (``date.weekday()`` order)."""

_DAY_MINUTES = 24 * 60
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_clock(text: str) -> int:
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValidationError(
            [Problem("intervals", f"{text!r} is not a wall time HH:MM")], subject="interval"
        )
    hours, minutes = int(match[1]), int(match[2])
    if minutes >= 60 or hours * 60 + minutes > _DAY_MINUTES:
        raise ValidationError(
            [Problem("intervals", f"{text!r} is not a wall time between 00:00 and 24:00")],
            subject="interval",
        )
    return hours * 60 + minutes


def _format_clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@attrs.frozen(order=True)
class WorkingInterval:
    """Working time within one day, in local wall time: minutes after midnight, end exclusive.

    ``end`` may be 1440 (``24:00``): the interval runs to the next midnight.
    ``WorkingInterval.parse("09:00-13:00")`` reads the text form and ``str()`` writes it.
    """

    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start < self.end <= _DAY_MINUTES:
            raise ValidationError(
                [
                    Problem(
                        "intervals",
                        f"{self.start}-{self.end}: an interval runs forward within a day "
                        "(00:00 to 24:00, start before end)",
                    )
                ],
                subject="interval",
            )

    @classmethod
    def parse(cls, text: str) -> WorkingInterval:
        """``"09:00-13:00"`` (``24:00`` allowed as the end)."""
        start, sep, end = text.partition("-")
        if not sep:
            raise ValidationError(
                [Problem("intervals", f"{text!r} is not an interval HH:MM-HH:MM")],
                subject="interval",
            )
        first, last = _parse_clock(start), _parse_clock(end)
        if not first < last:
            raise ValidationError(
                [Problem("intervals", f"{text!r}: the interval must end after it starts")],
                subject="interval",
            )
        return cls(first, last)

    @property
    def minutes(self) -> int:
        """Its length in wall-clock minutes."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_format_clock(self.start)}-{_format_clock(self.end)}"


IntervalsInput = Iterable[WorkingInterval | str]


def _intervals(value: IntervalsInput) -> tuple[WorkingInterval, ...]:
    return tuple(WorkingInterval.parse(v) if isinstance(v, str) else v for v in value)


def _week(value: Sequence[IntervalsInput]) -> tuple[tuple[WorkingInterval, ...], ...]:
    return tuple(_intervals(day) for day in value)


def _interval_problems(
    field: str, where: str, intervals: tuple[WorkingInterval, ...]
) -> list[Problem]:
    problems = []
    for before, after in itertools.pairwise(intervals):
        if after.start < before.end:
            problems.append(
                Problem(
                    field,
                    f"{where}: intervals must be sorted and must not overlap "
                    f"({before} then {after})",
                )
            )
    return problems


@attrs.frozen
class CalendarDay:
    """A date with its own working intervals: none for a holiday, some for a shortened day
    or an extra working day (such as a Saturday that Russia makes a working day)."""

    day: date
    intervals: tuple[WorkingInterval, ...] = attrs.field(default=(), converter=_intervals)

    @property
    def holiday(self) -> bool:
        return not self.intervals


def _exceptions(
    value: Iterable[CalendarDay] | Mapping[date, IntervalsInput],
) -> tuple[CalendarDay, ...]:
    if isinstance(value, Mapping):
        days = [CalendarDay(day, _intervals(intervals)) for day, intervals in value.items()]
    else:
        days = list(value)
    return tuple(sorted(days, key=lambda d: d.day))


def _empty_week() -> tuple[tuple[WorkingInterval, ...], ...]:
    return ((),) * 7


@attrs.frozen(cache_hash=True)
class BusinessCalendar:
    """When work happens: an IANA time zone, working intervals per weekday, and exceptions.

    ``week`` holds seven tuples of intervals, Monday first; each may also be given as text
    (``["09:00-13:00", "14:00-18:00"]``). ``exceptions`` are dates that differ from their
    weekday (a :class:`CalendarDay` each, or a mapping of dates to intervals): no intervals
    is a holiday, some intervals replace the weekday's. Intervals are local wall time in
    ``timezone``; :mod:`crmcms.model.business_time` counts working time with them.
    """

    code: str
    name: str
    timezone: str = "UTC"
    week: tuple[tuple[WorkingInterval, ...], ...] = attrs.field(
        factory=_empty_week, converter=_week
    )
    exceptions: tuple[CalendarDay, ...] = attrs.field(default=(), converter=_exceptions)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        require_code("calendar", self.code)
        subject = f"calendar {self.code}"
        problems: list[Problem] = []
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("timezone", f"{self.timezone!r} is not an IANA time zone"))
        if len(self.week) != 7:
            problems.append(
                Problem("week", f"a week has seven days, Monday first; got {len(self.week)}")
            )
        for name, intervals in zip(WEEKDAY_NAMES, self.week, strict=False):
            problems += _interval_problems("week", name, intervals)
        if len(self.week) == 7 and not any(self.week):
            problems.append(Problem("week", "no weekday has working time"))
        for day in self.exceptions:
            problems += _interval_problems("exceptions", day.day.isoformat(), day.intervals)
        problems += [
            Problem("exceptions", f"{day} is given more than once")
            for day in duplicates(d.day for d in self.exceptions)
        ]
        if problems:
            raise ValidationError(problems, subject=subject)

    def intervals_on(self, day: date) -> tuple[WorkingInterval, ...]:
        """The working intervals of ``day``: its exception's if it has one, else its weekday's."""
        for exception in self.exceptions:
            if exception.day == day:
                return exception.intervals
        return self.week[day.weekday()]

    @property
    def holidays(self) -> tuple[date, ...]:
        return tuple(d.day for d in self.exceptions if d.holiday)


WEEKDAYS = BusinessCalendar(
    "WEEKDAYS",
    "Monday to Friday",
    week=[["00:00-24:00"]] * 5 + [[], []],
    description="Whole days Monday to Friday in UTC; what `business` means with no calendar named.",
)
"""Monday to Friday, whole days, UTC, no holidays: ``business`` deadlines with no calendar."""

ALWAYS = BusinessCalendar(
    "ALWAYS",
    "Around the clock",
    week=[["00:00-24:00"]] * 7,
    description="Every minute counts.",
)
"""Every minute of every day, UTC."""
