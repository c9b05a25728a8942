"""The ``crmcms`` command line."""

from __future__ import annotations

import importlib
import sys

import click

from crmcms import __version__
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
    from crmcms.demo import run_demo

    run_demo(db_path)


# Each subsystem keeps its commands beside its code; the group only gathers them.
_SUBCOMMANDS = (
    ("crmcms.storage.cli", "db"),
    ("crmcms.storage.cli", "dev"),
    ("crmcms.dsl.cli", "rule"),
    ("crmcms.dsl.definitions_cli", "check"),
    ("crmcms.dsl.definitions_cli", "fmt"),
    ("crmcms.dsl.definitions_cli", "graph"),
    ("crmcms.engine.cli", "explore"),
)


def _register_subcommands() -> None:
    for module_name, attribute in _SUBCOMMANDS:
        command = getattr(importlib.import_module(module_name), attribute)
        cli.add_command(command)


_register_subcommands()


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
