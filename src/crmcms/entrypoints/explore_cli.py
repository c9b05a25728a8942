"""``crmcms explore``: random operators at work on definition files' routes, invariants checked."""

from __future__ import annotations

import sys
from pathlib import Path

import click

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
def explore(paths: tuple[Path, ...], runs: int, steps: int, shrink: bool) -> None:
    """Drive random operators through the routes of definition files (default: .) on an
    in-memory engine, checking the engine's invariants after every action.

    Operators register contacts and appeals through their templates, take transitions,
    edit, close, reopen, take, assign and reject appeals, create child appeals and let time
    pass; clients come in every category and region the rules compare with. Exits 1 with
    the shortest sequence of actions found that breaks an invariant.
    """
    try:
        from crmcms.testing.workflows import explore as run_exploration
        from crmcms.testing.workflows import sample_clients
    except ImportError as exc:  # hypothesis is the testing extra's
        raise click.ClickException(
            f"exploring needs hypothesis: pip install 'crmcms[testing]' ({exc})"
        ) from None
    from crmcms.dsl.loader import load_catalog

    catalog = load_catalog(definition_paths(paths))
    clients = sample_clients(catalog)
    try:
        run_exploration(catalog, runs=runs, steps=steps, clients=clients, shrink=shrink)
    except AssertionError as exc:
        click.echo(f"invariant broken: {exc}", err=True)
        sys.exit(1)
    routes = len(catalog.routes)
    click.echo(
        f"{runs} runs of up to {steps} actions on {routes} route version"
        f"{'s' if routes != 1 else ''} with {len(clients)} clients: every invariant held"
    )
