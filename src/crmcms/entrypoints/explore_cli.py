"""``crmcms explore``: random operators at work on definition files' routes, invariants checked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crmcms.testing.workflows import ActionTally

from crmcms.entrypoints.definitions_cli import PATHS, definition_paths

__all__ = ["explore"]


@click.command()
@PATHS
@click.option("--runs", default=50, show_default=True, help="Random sequences of actions.")
@click.option("--steps", default=30, show_default=True, help="Actions in a sequence at most.")
@click.option(
    "--shrink/--no-shrink",
    default=True,
    show_default=True,
    help="On a failure, look for the shortest sequence of actions that still fails.",
)
@click.option(
    "--derandomize",
    is_flag=True,
    help="The same sequences of actions on every run (for CI); random otherwise.",
)
def explore(
    paths: tuple[Path, ...], runs: int, steps: int, shrink: bool, derandomize: bool
) -> None:
    """Drive random operators through the routes of definition files (default: .) on an
    in-memory engine, checking the engine's invariants after every action.

    Operators register contacts and appeals through their templates, take transitions,
    edit, close, reopen, take, assign and reject appeals, create child appeals and let time
    pass; clients come in every category and region the rules compare with. Exits 1 with
    the shortest sequence of actions found that breaks an invariant, and when (nearly) every
    action was refused: then nothing was tested. Prints how many actions of each kind the
    engine carried out and refused.
    """
    try:
        from crmcms.testing.workflows import NothingTestedError, sample_clients
        from crmcms.testing.workflows import explore as run_exploration
    except ImportError as exc:  # hypothesis is the testing extra's
        raise click.ClickException(
            f"exploring needs hypothesis: pip install 'crmcms[testing]' ({exc})"
        ) from None
    from crmcms.dsl.definitions.loader import load_catalog

    catalog = load_catalog(definition_paths(paths))
    clients = sample_clients(catalog)
    try:
        tally = run_exploration(
            catalog,
            runs=runs,
            steps=steps,
            clients=clients,
            shrink=shrink,
            derandomize=derandomize,
        )
    except NothingTestedError as exc:
        click.echo(f"nothing tested: {exc}", err=True)
        sys.exit(1)
    except AssertionError as exc:
        click.echo(f"invariant broken: {exc}", err=True)
        sys.exit(1)
    _print_tally(tally)
    routes = len(catalog.routes)
    click.echo(
        f"{runs} runs of up to {steps} actions on {routes} route version"
        f"{'s' if routes != 1 else ''} with {len(clients)} clients: every invariant held"
    )


def _print_tally(tally: ActionTally) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Actions: {tally.done.total()} of {tally.attempted} carried out")
    for name in ("action", "carried out", "refused"):
        table.add_column(name, justify="left" if name == "action" else "right")
    for kind in sorted(set(tally.done) | set(tally.refused)):
        table.add_row(kind, str(tally.done[kind]), str(tally.refused[kind]))
    console = Console()
    console.print(table)
    if tally.never_done:
        console.print(f"never carried out, so not tested: {', '.join(tally.never_done)}")
