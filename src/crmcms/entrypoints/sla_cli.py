"""``crmcms sla``: appeals overdue and at risk, by queue, operator and topic."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from crmcms.entrypoints.outbox_cli import parse_age
from crmcms.entrypoints.worker_cli import URL_OPTION

__all__ = ["sla"]


@click.command()
@URL_OPTION
@click.option("--queue", default=None, help="Only appeals waiting in this queue.")
@click.option(
    "--at-risk-within",
    "within",
    default="2h",
    show_default=True,
    help="At risk: a running clock due within this time (30m, 2h, 1d).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many of the earliest appeals to list.",
)
def sla(url: str | None, queue: str | None, within: str, limit: int) -> None:
    """Appeals overdue and at risk of their SLA, by queue, operator and topic."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.engine.sla_view import sla_view
    from crmcms.storage.sql import SqlStore

    store = SqlStore(url)
    try:
        with store.unit_of_work() as uow:
            view = sla_view(uow, datetime.now(UTC), parse_age(within), queue, limit)
    finally:
        store.dispose()
    console = Console()
    shown = {"queue": "Queue", "operator": "Operator", "topic": "Topic"}
    for dimension, title in shown.items():
        table = Table(title=f"By {dimension}")
        table.add_column(title)
        table.add_column("Overdue", justify="right")
        table.add_column(f"At risk (within {within})", justify="right")
        for row in view.rows:
            if row.dimension == dimension:
                table.add_row(row.key or "—", str(row.overdue), str(row.at_risk))
        console.print(table)
    table = Table(title="Earliest")
    for column in ("Appeal", "Clock", "Due", "State", "Queue", "Operator", "Topic"):
        table.add_column(column)
    for item in view.appeals:
        state = "[red]overdue[/red]" if item.overdue else "[yellow]at risk[/yellow]"
        table.add_row(
            str(item.appeal_id),
            item.clock,
            item.due.isoformat(timespec="minutes"),
            state,
            item.queue or "—",
            item.responsible or "—",
            item.topic,
        )
    console.print(table)
