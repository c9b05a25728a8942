"""``crmcms verify``: static checks, route test files and route machines, with coverage, for CI;
``--against URL`` previews a new route version on the appeals waiting in a database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.definitions_cli import PATHS, installed_functions, installed_schema

if TYPE_CHECKING:
    from rich.console import Console

    from crmcms.testing.coverage import RouteCoverage
    from crmcms.testing.preview import Preview
    from crmcms.testing.verify import Verification

__all__ = ["verify"]


@click.command()
@PATHS
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds the route machines may take, all routes together (0: no machines).",
)
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results as JUnit XML to this file.",
)
@click.option(
    "--machines/--no-machines",
    default=True,
    show_default=True,
    help="Walk every route with random operators (RouteMachine).",
)
@click.option(
    "--seed",
    type=int,
    help="Walk each route once, in a batch drawn from this seed: the same walks every run.",
)
@click.option(
    "--shrink/--no-shrink",
    default=True,
    show_default=True,
    help="On a stuck route, look for the shortest walk that gets it stuck (a few seconds more).",
)
@click.option(
    "--against",
    metavar="URL",
    help="Preview the routes on the appeals waiting in this database instead of testing.",
)
@click.option(
    "--stuck-limit",
    default=20,
    show_default=True,
    help="With --against: stuck appeals listed one by one at most (all are counted).",
)
def verify(
    paths: tuple[Path, ...],
    budget: float,
    junit: Path | None,
    machines: bool,
    seed: int | None,
    shrink: bool,
    against: str | None,
    stuck_limit: int,
) -> None:
    """Verify definition files (directories: every *.crm and *.crmtest inside, default: .).

    Runs the static checks, every route test file (*.crmtest) and, for a share of --budget
    seconds each, a state machine walking each route with random operators; prints what
    failed and, by route, the coverage (transitions, queue choices, rule outcomes): what the
    route tests exercised and what the machines reached beside them; exits 1 on any failure.

    With --against URL, previews instead where the appeals waiting in that database would
    continue under these definitions, which would be stuck and which deadlines would change;
    exits 1 when any would be stuck. Nothing is written to the database.
    """
    from rich.console import Console

    console = Console()
    if against is not None:
        sys.exit(_preview(paths, against, stuck_limit, console))
    from crmcms.testing.verify import verify as run_verification
    from crmcms.testing.verify import write_junit

    found = run_verification(
        paths or (Path("."),),
        budget=budget,
        machines=machines,
        shrink=shrink,
        seed=seed,
        schema=installed_schema(),
        functions=installed_functions(),
    )
    if junit is not None:
        write_junit(found, junit)
    _print(found, console)
    sys.exit(0 if found.passed else 1)


def _print(found: Verification, console: Console) -> None:
    for problem in found.problems:
        console.print(problem.render(), markup=False, highlight=False)
    for error in found.errors:
        console.print(error.error.render(), markup=False, highlight=False)
    for result in found.failed_tests:
        console.print(f"[bold red]FAILED[/] {result.file}: {result.name}", highlight=False)
        for failure in result.failures:
            console.print(failure.render(), markup=False, highlight=False)
    for report in found.failed_machines:
        console.print(f"[bold red]STUCK[/] route {report.route}", highlight=False)
        console.print(report.problem, markup=False, highlight=False)
    for coverage in found.coverage:
        _print_coverage(coverage, console)
    files = len(found.definition_files)
    tests = len(found.results) + len(found.errors)
    failed = len(found.failed_tests) + len(found.errors)
    walks = sum(m.runs for m in found.machines)
    verdict = "[bold green]passed[/]" if found.passed else "[bold red]failed[/]"
    console.print(
        f"{files} definition file{'s' if files != 1 else ''}, "
        f"{len(found.problems)} static problem{'s' if len(found.problems) != 1 else ''}; "
        f"{tests} route test{'s' if tests != 1 else ''}, {failed} failed; "
        f"{len(found.machines)} route{'s' if len(found.machines) != 1 else ''} walked "
        f"{walks} times, {len(found.failed_machines)} stuck; {found.seconds:.1f}s: {verdict}",
        highlight=False,
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


_KINDS = (("transition", "transitions"), ("queue", "queue choices"), ("rule", "rule outcomes"))


def _headline(coverage: RouteCoverage) -> str:
    parts = []
    for kind, label in _KINDS:
        tests = coverage.share(kind)
        if tests is None:
            parts.append(f"{label} -")
        elif coverage.machines:
            both = _share(coverage.combined_share(kind))
            parts.append(f"{label} {_share(tests)} by tests, {both} with machines")
        else:
            parts.append(f"{label} {_share(tests)} by tests")
    off = "" if coverage.machines else " (machines off)"
    return f"Route {coverage.route} v{coverage.version}: {', '.join(parts)}{off}"


def _print_coverage(coverage: RouteCoverage, console: Console) -> None:
    from rich.table import Table

    # The headline is printed apart: as a table title it would wrap at the table's width.
    console.print(_headline(coverage), highlight=False)
    table = Table()
    for name in ("kind", "what", "detail", "tests", "machines"):
        table.add_column(name)
    for line in coverage.lines:
        tests = "[green]yes[/]" if line.covered else "[red]no[/]"
        if line.note and not line.covered:
            tests += f" ({line.note})"
        if line.machines is None:
            walked = "off"
        elif line.machines:
            walked = "yes" if line.covered else "[yellow]yes, machines only[/]"
        else:
            walked = "[red]no[/]" if not line.covered else "no"
        table.add_row(line.kind, line.name, line.detail, tests, walked)
    console.print(table)


def _preview(paths: tuple[Path, ...], url: str, limit: int, console: Console) -> int:
    from crmcms.dsl.definitions.loader import load_catalog
    from crmcms.entrypoints.definitions_cli import definition_paths
    from crmcms.storage import SqlStore
    from crmcms.testing.preview import preview_route_version

    catalog = load_catalog(definition_paths(paths), schema=installed_schema())
    store = SqlStore(url, upgrade=False)
    try:
        preview = preview_route_version(store, catalog, stuck_limit=limit)
    finally:
        store.dispose()
    _print_preview(preview, console)
    return 1 if preview.stuck_count else 0


def _print_preview(preview: Preview, console: Console) -> None:
    from rich.table import Table

    table = Table(title="Waiting appeals under the new definitions", title_justify="left")
    for name in ("route", "from", "process", "queue", "appeals", "continues in", "outcome"):
        table.add_column(name, justify="right" if name == "appeals" else "left")
    for group in preview.groups:
        outcome = "[red]stuck: " + group.stuck + "[/]" if group.stuck else "moves"
        if not group.stuck and group.same:
            outcome = "stays"
        table.add_row(
            group.route,
            f"v{group.version}",
            group.process,
            group.queue or "-",
            str(group.count),
            f"v{group.new_version} {group.new_process}" if group.new_process else "-",
            outcome,
        )
    console.print(table)
    for change in preview.deadlines:
        console.print(
            f"deadline of process {change.process} of route {change.route}: {change.before} "
            f"-> {change.after} ({change.count} waiting appeal{'s' if change.count != 1 else ''})",
            highlight=False,
        )
    for appeal in preview.stuck:
        console.print(f"appeal {appeal.appeal_id}: {appeal.reason}", highlight=False)
    more = preview.stuck_count - len(preview.stuck)
    if more > 0:
        console.print(f"... and {more} more stuck", highlight=False)
    console.print(
        f"{preview.waiting} waiting appeal{'s' if preview.waiting != 1 else ''}: "
        f"{preview.moved} would continue, {preview.stuck_count} would be stuck",
        highlight=False,
    )
