"""The ``crmcms`` command line."""

from __future__ import annotations

import sys

import click

from crmcms import __version__
from crmcms.entrypoints.attachments_cli import attachments
from crmcms.entrypoints.audit_cli import audit
from crmcms.entrypoints.calendar_cli import calendar
from crmcms.entrypoints.consume_cli import consume
from crmcms.entrypoints.db_cli import db, dev
from crmcms.entrypoints.definitions_cli import check, fmt, graph
from crmcms.entrypoints.explore_cli import explore
from crmcms.entrypoints.notes_cli import notes
from crmcms.entrypoints.outbox_cli import outbox
from crmcms.entrypoints.problems_cli import problems
from crmcms.entrypoints.prospects_cli import prospects
from crmcms.entrypoints.report_cli import report
from crmcms.entrypoints.rules_cli import rule
from crmcms.entrypoints.serve_cli import serve
from crmcms.entrypoints.sla_cli import sla
from crmcms.entrypoints.verify_cli import verify
from crmcms.entrypoints.worker_cli import worker
from crmcms.errors import CrmcmsError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crmcms")
def cli() -> None:
    """crmcms: contacts, appeals, routes and rules for telecom back offices."""


@cli.command()
@click.option(
    "--db",
    "db_path",
    default="var/demo.sqlite",
    show_default=True,
    help="SQLite file the demo keeps its data in.",
)
def demo(db_path: str) -> None:
    """Run the end-to-end demo on embedded SQLite with the example telecom configuration."""
    from crmcms.entrypoints.demo import run_demo

    run_demo(db_path)


for _command in (
    db,
    dev,
    rule,
    check,
    fmt,
    graph,
    explore,
    verify,
    worker,
    outbox,
    audit,
    sla,
    report,
    calendar,
    attachments,
    notes,
    prospects,
    problems,
    serve,
    consume,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: our errors print as messages, not tracebacks, and exit with status 1."""
    try:
        code = cli.main(args=argv, prog_name="crmcms", standalone_mode=False)
        if isinstance(code, int) and code:  # without standalone mode click returns ctx.exit codes
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except CrmcmsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
