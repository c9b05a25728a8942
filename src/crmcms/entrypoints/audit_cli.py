"""``crmcms audit``: read the audit of the database, as whoever holds its credentials."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.outbox_cli import parse_moment
from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.engine import AuditLog
    from crmcms.model import AuditEvent


@contextmanager
def _audit_log(url: str | None) -> Iterator[AuditLog]:
    from crmcms.engine import AuditLog
    from crmcms.storage.sql import SqlLoginStore

    store = SqlLoginStore(url)
    try:
        yield AuditLog(store)
    finally:
        store.dispose()


def _plain(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "login": event.login,
        "actor": event.actor,
        "source": event.source,
        "outcome": event.outcome,
        "detail": event.detail,
    }


@click.group()
def audit() -> None:
    """The audit: logins, failures, lockouts, password changes, refusals."""


@audit.command("list")
@URL_OPTION
@click.option("--login", default=None, help="Only events concerning this login.")
@click.option("--kind", default=None, help="Only events of this kind (login, lockout, ...).")
@click.option("--since", default=None, metavar="TIME", help="From this date or ISO time on.")
@click.option("--until", default=None, metavar="TIME", help="Before this date or ISO time.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, newest first.")
def list_events(
    url: str | None,
    login: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest events, as a table (or JSON lines)."""
    start = parse_moment(since) if since is not None else None
    end = parse_moment(until) if until is not None else None
    with _audit_log(url) as log:
        found = log.list(login=login, kind=kind, since=start, until=end, limit=limit)
    if as_json:
        for event in found:
            click.echo(json.dumps(_plain(event), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "at", "kind", "login", "actor", "source", "outcome", "detail")
    for e in found:
        cells = (e.login, e.actor, e.source, e.outcome, e.detail)
        # Plain text, never markup: a failed login's text is whatever its sender typed.
        table.add_row(
            str(e.id),
            e.at.isoformat(timespec="seconds"),
            Text(e.kind),
            *(Text(cell or "") for cell in cells),
        )
    # Piped into a file or another command, a table keeps its columns whole.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    click.echo(f"{len(found)} event(s)")
