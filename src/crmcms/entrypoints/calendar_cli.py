"""``crmcms calendar``: business calendars, starting with a country's public holidays."""

from __future__ import annotations

import click

from crmcms.errors import ValidationError
from crmcms.model import WorkingInterval

__all__ = ["calendar"]


def _hours(text: str) -> tuple[WorkingInterval, ...]:
    try:
        return tuple(WorkingInterval.parse(part) for part in text.split(","))
    except ValidationError as exc:
        raise click.BadParameter(exc.problems[0].message) from None


@click.group()
def calendar() -> None:
    """Business calendars: working hours, holidays and working days by date."""


@calendar.command()
@click.option("--country", required=True, help="ISO 3166 country code, e.g. RU.")
@click.option("--years", "first_year", type=int, required=True, help="Years: --years 2026 2027.")
@click.argument("more_years", nargs=-1, type=int)
@click.option("--subdivision", default=None, help="A region's own holidays, e.g. TA (Tatarstan).")
@click.option(
    "--hours",
    default="09:00-18:00",
    show_default=True,
    help="Working hours of a working day, e.g. 09:00-13:00,14:00-18:00.",
)
@click.option("--code", default=None, help="Print a whole calendar declaration with this code.")
@click.option("--name", default=None, help="Its name (default: the code).")
@click.option("--timezone", default="UTC", show_default=True, help="Its IANA time zone.")
def holidays(
    country: str,
    first_year: int,
    more_years: tuple[int, ...],
    subdivision: str | None,
    hours: str,
    code: str | None,
    name: str | None,
    timezone: str,
) -> None:
    """Print a country's public holidays and moved working days as calendar lines to paste.

    The text comes from the holidays package (pip install 'crmcms[calendars]') once, here;
    deadlines count in what the definition file says, so check it and edit it there.
    """
    from crmcms.entrypoints.holiday_import import calendar_text, holiday_lines

    years = (first_year, *more_years)
    intervals = _hours(hours)
    if code is None:
        for line in holiday_lines(country, years, hours=intervals, subdivision=subdivision):
            click.echo(line)
        return
    click.echo(
        calendar_text(
            code,
            name or code,
            timezone,
            country,
            years,
            hours=intervals,
            subdivision=subdivision,
        ),
        nl=False,
    )
