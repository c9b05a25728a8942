"""``crmcms sla``: appeals overdue and at risk, by queue, operator and topic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.outbox_cli import parse_age
from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.storage.sql import SqlStore

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
@click.option(
    "--recompute",
    is_flag=True,
    help="First work out every open appeal's clocks again with the definitions (after "
    "deadlines, priorities' limits or calendars changed).",
)
@click.option(
    "--definitions",
    "definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="With --recompute: definition files or folders (*.crm); default: the catalog "
    "saved in the database.",
)
def sla(
    url: str | None,
    queue: str | None,
    within: str,
    limit: int,
    recompute: bool,
    definitions: tuple[Path, ...],
) -> None:
    """Appeals overdue and at risk of their SLA, by queue, operator and topic."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.engine.sla_view import sla_view
    from crmcms.storage.sql import SqlStore

    horizon = parse_age(within)
    store = SqlStore(url)
    console = Console()
    try:
        if recompute:
            changed = _recompute(store, definitions)
            console.print(f"Recomputed the clocks of every open appeal: {changed} changed")
        with store.unit_of_work() as uow:
            view = sla_view(uow, datetime.now(UTC), horizon, queue, limit)
    finally:
        store.dispose()
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


def _recompute(store: SqlStore, definitions: tuple[Path, ...]) -> int:
    """How many appeals' stored clocks changed when worked out again from history."""
    from crmcms.dsl import load_catalog
    from crmcms.engine import Engine
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.definitions import DefinitionStore

    pm = make_plugin_manager()
    if definitions:
        catalog = load_catalog(list(definitions), schema=rule_schema(pm))
    else:
        catalog = DefinitionStore(store.engine).load()
    return Engine(catalog, store.unit_of_work, plugins=pm).recompute_deadlines()
