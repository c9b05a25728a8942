"""Public holidays from the ``holidays`` package as calendar text, to paste and edit.

Deadlines never look holidays up: the package only writes text once, which the integrator
keeps in a definition file and corrects (a region's own days off, shortened days).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from crmcms.dsl import format_source
from crmcms.errors import ConfigurationError, NotFoundError
from crmcms.model import WorkingInterval
from crmcms.model._lookup import did_you_mean

__all__ = ["calendar_text", "holiday_lines"]

_DAY = timedelta(days=1)


def _country(country: str, years: Iterable[int], subdivision: str | None) -> Any:
    try:
        import holidays
    except ImportError:
        raise ConfigurationError(
            "importing holidays needs the holidays package: pip install 'crmcms[calendars]'"
        ) from None
    supported = holidays.list_supported_countries()
    if country.upper() not in supported:
        raise NotFoundError("country", country, hint=did_you_mean(country.upper(), supported))
    try:
        return holidays.country_holidays(
            country.upper(), subdiv=subdivision, years=sorted(years), language="en_US"
        )
    except NotImplementedError as exc:
        raise NotFoundError("subdivision", subdivision, hint=str(exc)) from None


def holiday_lines(
    country: str,
    years: Iterable[int],
    *,
    hours: tuple[WorkingInterval, ...] = (WorkingInterval(540, 1080),),
    subdivision: str | None = None,
) -> list[str]:
    """``holidays:`` lines (a run of days of one name per line, the name as a comment) and a
    ``working:`` line for each weekend day the country makes a working day, with ``hours``."""
    found = _country(country, years, subdivision)
    runs: list[tuple[date, date, str]] = []
    for day, name in sorted(found.items()):
        if runs and runs[-1][1] + _DAY == day and runs[-1][2] == name:
            runs[-1] = (runs[-1][0], day, name)
        else:
            runs.append((day, day, name))
    lines = [
        f"holidays: {_range(first, last)}  # {name}".replace("\n", " ")
        for first, last, name in runs
    ]
    shown = ", ".join(str(i) for i in hours)
    workdays = sorted(getattr(found, "weekend_workdays", ()))
    lines += [
        f"working: {day.isoformat()} {shown}  # a weekend day made a working day"
        for day in workdays
    ]
    return lines


def calendar_text(
    code: str,
    name: str,
    timezone: str,
    country: str,
    years: Iterable[int],
    *,
    hours: tuple[WorkingInterval, ...] = (WorkingInterval(540, 1080),),
    subdivision: str | None = None,
) -> str:
    """A whole ``calendar`` declaration: Monday to Friday with ``hours``, and the holidays."""
    body = [f"timezone: {_quote(timezone)}", "mon..fri: " + ", ".join(str(i) for i in hours)]
    body += holiday_lines(country, years, hours=hours, subdivision=subdivision)
    text = f"calendar {code} {_quote(name)} {{\n" + "".join(f"    {b}\n" for b in body) + "}\n"
    return format_source(text, file="<holidays>")


def _range(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
