"""``crmcms outbox``: look at the outbox, retry what was given up, purge what was delivered."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.storage.sql import SqlUnitOfWork

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``2w`` or ``90s`` as a duration."""
    found = _AGE.match(text)
    if found is None:
        raise click.BadParameter(f"{text!r} is not an age like 7d, 12h, 30m, 2w or 90s")
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


def parse_moment(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (2026-12-01) or a time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@contextmanager
def _outbox(url: str | None) -> Iterator[SqlUnitOfWork]:
    from crmcms.storage.sql import SqlStore

    store = SqlStore(url)
    try:
        with store.unit_of_work() as uow:
            yield uow
    finally:
        store.dispose()


@click.group()
def outbox() -> None:
    """The outbox: messages waiting, delivered and given up."""


@outbox.command("list")
@URL_OPTION
@click.option(
    "--status",
    type=click.Choice(["pending", "delivered", "dead"]),
    default=None,
    help="Only messages with this status (default: all).",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_messages(url: str | None, status: str | None, limit: int) -> None:
    """The newest messages, as a table."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import EVENT, OutboxStatus

    table = Table("id", "kind", "status", "attempts", "due", "delivered", "to", "last error")
    with _outbox(url) as uow:
        found = uow.outbox.find(
            status=None if status is None else OutboxStatus(status), limit=limit
        )
    for m in found:
        data = m.payload.get("data", {})
        to = (
            ", ".join(data.get("recipients") or data.get("to") or ())
            if isinstance(data, dict)
            else ""
        )
        if m.kind == EVENT:  # a history event's receiver is its target: webhook:CODE, amqp
            to = str(m.payload.get("target", ""))
        table.add_row(
            str(m.id),
            m.kind,
            m.status.value,
            str(m.attempts),
            m.available_at.isoformat(timespec="seconds"),
            "" if m.delivered_at is None else m.delivered_at.isoformat(timespec="seconds"),
            to,
            m.last_error,
        )
    # Piped into a file or another command, a table keeps its columns whole.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    click.echo(f"{len(found)} message(s)")


@outbox.command()
@URL_OPTION
@click.argument("ids", nargs=-1, type=int)
@click.option("--dead", "all_dead", is_flag=True, help="Every dead message.")
def retry(url: str | None, ids: tuple[int, ...], all_dead: bool) -> None:
    """Make messages pending again, due now, with a fresh count of attempts."""
    if not ids and not all_dead:
        raise click.UsageError("name message ids, or --dead for every dead message")
    with _outbox(url) as uow:
        wanted = sorted({*ids, *(uow.outbox.dead_ids() if all_dead else ())})
        uow.outbox.retry(wanted, now=datetime.now(UTC))
        uow.commit()
    click.echo(f"{len(wanted)} message(s) to be delivered again")


@outbox.command()
@URL_OPTION
@click.option("--delivered-before", "before", metavar="DATE", help="A date or ISO time.")
@click.option("--older-than", "age", metavar="AGE", help="Delivered longer ago: 7d, 12h, 2w.")
def purge(url: str | None, before: str | None, age: str | None) -> None:
    """Delete delivered messages (pending and dead ones are never purged)."""
    if (before is None) == (age is None):
        raise click.UsageError("give one of --delivered-before or --older-than")
    cutoff = (
        parse_moment(before) if before is not None else datetime.now(UTC) - parse_age(age or "")
    )
    with _outbox(url) as uow:
        count = uow.outbox.purge(delivered_before=cutoff)
        uow.commit()
    click.echo(f"{count} delivered message(s) purged (delivered before {cutoff.isoformat()})")
