"""``crmcms report``: run a report into a file in any export format, or list the reports."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from crmcms.entrypoints.worker_cli import URL_OPTION
from crmcms.export import FORMATS

if TYPE_CHECKING:
    from crmcms.engine import Engine
    from crmcms.model import Catalog
    from crmcms.storage.sql import SqlStore

__all__ = ["report"]


def parse_moment(text: str, what: str) -> date | datetime:
    """A date (``2026-03-01``) or a date and time (``2026-03-01T09:00``) from the command
    line; a clear error naming the option otherwise."""
    try:
        if "T" in text or " " in text.strip():
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-03-01) or a date and time (2026-03-01T09:00)",
            param_hint=what,
        ) from None


def _catalog(store: SqlStore, definitions: tuple[Path, ...]) -> Catalog:
    from crmcms.dsl import load_catalog
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.definitions import DefinitionStore

    if definitions:
        return load_catalog(list(definitions), schema=rule_schema(make_plugin_manager()))
    return DefinitionStore(store.engine).load()


@contextmanager
def _engine(
    url: str | None, read_url: str | None, definitions: tuple[Path, ...]
) -> Iterator[Engine]:
    from crmcms.engine import Engine
    from crmcms.storage.sql import SqlStore

    store = SqlStore(url)
    try:
        catalog = _catalog(store, definitions)
        yield Engine(
            catalog, store.unit_of_work, reports=store.reports(read_url), trust_logins=True
        )
    finally:
        store.dispose()


_DEFINITIONS = click.option(
    "--definitions",
    "definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Definition files or folders (*.crm); default: the catalog saved in the database.",
)
_READ_URL = click.option(
    "--read-db",
    "read_url",
    envvar="CRMCMS_REPORTS_DATABASE_URL",
    default=None,
    help="Run the report on this database instead (a read-only replica; default "
    "$CRMCMS_REPORTS_DATABASE_URL, else --db).",
)


class _ReportGroup(click.Group):
    """``crmcms report list`` lists; ``crmcms report CODE ...`` runs report CODE."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "CODE [OPTIONS] | list [OPTIONS]")


@click.group(cls=_ReportGroup)
def report() -> None:
    """Reports computed in the database.

    crmcms report CODE --from DAY --to DAY writes report CODE to a file (or standard
    output); crmcms report list shows the reports there are."""


@report.command("list")
@URL_OPTION
@_DEFINITIONS
def list_reports(url: str | None, definitions: tuple[Path, ...]) -> None:
    """The built-in reports, those of the definitions and those of plugins."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.engine.reports import BUILTIN_REPORTS

    builtin = {d.code for d in BUILTIN_REPORTS}
    with _engine(url, None, definitions) as engine:
        listed = engine.report_definitions()
        custom = {d.code for d in engine.catalog.reports}
    table = Table(title="Reports")
    for column in ("Code", "Title", "Rows", "Measures", "From"):
        table.add_column(column)
    for d in listed:
        source = (
            "built-in" if d.code in builtin else "definitions" if d.code in custom else "plugin"
        )
        rows = ", ".join(x.code for x in d.rows)
        if d.columns:
            rows += " × " + ", ".join(x.code for x in d.columns)
        table.add_row(d.code, d.title, rows, ", ".join(m.value for m in d.measures), source)
    Console().print(table)


@report.command("run", hidden=True)
@click.argument("code")
@click.option("--from", "start", required=True, help="First day (2026-03-01) or moment.")
@click.option("--to", "end", required=True, help="Last day, included, or moment, excluded.")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--filter", "rule", default=None, help="A rule the appeals must satisfy.")
@click.option(
    "--by",
    "by",
    multiple=True,
    help="Row dimensions instead of the report's (topic, operator, queue, channel, period, "
    "attribute:CODE, ...); repeat or separate with commas.",
)
@click.option("--bucket", default=None, type=click.Choice(["hour", "day", "week", "month"]))
@click.option("--archived", is_flag=True, help="Count archived appeals too.")
@click.option("--repeat-days", type=click.IntRange(min=1), default=None, help="Repeat window.")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(sorted(FORMATS)),
    default="csv",
    show_default=True,
)
@click.option(
    "--output",
    "output",
    default="-",
    show_default=True,
    help="File to write; '-' writes to standard output.",
)
@click.option("--as", "login", default=None, help="Run as this operator: only what it may read.")
@URL_OPTION
@_READ_URL
@_DEFINITIONS
def run_report(
    code: str,
    start: str,
    end: str,
    timezone: str,
    rule: str | None,
    by: tuple[str, ...],
    bucket: str | None,
    archived: bool,
    repeat_days: int | None,
    format_name: str,
    output: str,
    login: str | None,
    url: str | None,
    read_url: str | None,
    definitions: tuple[Path, ...],
) -> None:
    """Run report CODE over --from .. --to and write it in --format to --output."""
    from crmcms.export import write_table

    first = parse_moment(start, "--from")
    last = parse_moment(end, "--to")
    dimensions = [part.strip() for item in by for part in item.split(",") if part.strip()]
    with _engine(url, read_url, definitions) as engine:
        operator = engine.trusted(login) if login is not None else None
        table = engine.report(
            code,
            start=first,
            end=last,
            timezone=timezone,
            operator=operator,
            filter=rule,
            by=dimensions or None,
            bucket=bucket,
            archived=archived,
            repeat_days=repeat_days,
        )
        if output == "-":
            out = _stdout()
            write_table(table, format_name, out)
            out.flush()
            return
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _progress(f"{code} → {path}") as tick, path.open("wb") as out:
            written = write_table(table, format_name, out, progress=tick)
    click.echo(f"Wrote {written} rows of report {code} to {path}", err=True)


def _stdout() -> BinaryIO:
    sys.stdout.flush()
    return sys.stdout.buffer


@contextmanager
def _progress(label: str) -> Iterator[Any]:
    """A progress line on standard error, counting rows as they are written."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    columns = (SpinnerColumn(), TextColumn("{task.description}: {task.completed} rows"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda count: bar.update(task, completed=count)
