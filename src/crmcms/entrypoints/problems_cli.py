"""``crmcms problems``: system problems (mass incidents) for the system problem manager."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.attachments_cli import AS_OPTION, FILES_OPTION, engine_on
from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.engine import Engine
    from crmcms.model import Catalog, Principal, SystemProblem

__all__ = ["parse_problem_values", "problems"]

_STATES = ("registered", "confirmed", "resolved", "closed")


def _who(engine: Engine, login: str | None) -> Principal:
    from crmcms.model import SYSTEM

    return SYSTEM if login is None else engine.trusted(login)


def parse_problem_values(catalog: Catalog, given: Sequence[str]) -> dict[str, object]:
    """``CODE=VALUE`` pairs typed as the catalog's problem attributes say; a code given
    twice makes a multiple choice. An unknown code is left for the engine to name."""
    from crmcms.errors import Problem, ValidationError
    from crmcms.model import ValueType, parse_value

    kinds = {a.code: a for a in catalog.problem_attributes}
    values: dict[str, object] = {}
    problems = []
    for pair in given:
        code, sep, text = pair.partition("=")
        if not sep:
            problems.append(Problem(pair, "write CODE=VALUE"))
            continue
        definition = kinds.get(code)
        value: object = text
        if definition is not None and definition.value_type is not ValueType.REFERENCE:
            try:
                value = parse_value(definition.value_type, text)
            except ValueError as err:
                problems.append(Problem(code, str(err)))
                continue
        if definition is not None and definition.multiple:
            earlier = values.get(code, ())
            assert isinstance(earlier, tuple)
            value = (*earlier, value)
        values[code] = value
    if problems:
        raise ValidationError(problems, subject="system problem")
    return values


def _window(problem: SystemProblem) -> str:
    if problem.since is None and problem.until is None:
        return ""
    since = "…" if problem.since is None else problem.since.isoformat(timespec="minutes")
    until = "…" if problem.until is None else problem.until.isoformat(timespec="minutes")
    return f"{since} – {until}"


def _state(problem: SystemProblem) -> str:
    return "resolving" if problem.resolving else problem.state.value


@click.group()
def problems() -> None:
    """System problems: register, confirm, link appeals, resolve them all at once, close."""


@problems.command("list")
@URL_OPTION
@FILES_OPTION
@click.option("--state", "states", multiple=True, type=click.Choice(_STATES), help="Only these.")
def list_problems(url: str | None, files: Path, states: tuple[str, ...]) -> None:
    """The system problems, oldest first, with how many appeals each links."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import SYSTEM, ProblemState

    with engine_on(url, files) as engine:
        found = engine.problems.find([ProblemState(s) for s in states], operator=SYSTEM)
        linked = {p.id: len(engine.problems.linked(p.id, operator=SYSTEM)) for p in found}
    table = Table(title="System problems")
    for column in ("Id", "State", "Title", "Appeals", "Rule", "Window", "Registered", "By"):
        table.add_column(column, justify="right" if column in ("Id", "Appeals") else "left")
    for p in found:
        table.add_row(
            str(p.id),
            _state(p),
            p.title,
            str(linked[p.id]),
            p.rule,
            _window(p),
            p.opened_at.isoformat(timespec="minutes"),
            p.registered_by,
        )
    Console().print(table)


@problems.command("show")
@URL_OPTION
@FILES_OPTION
@click.argument("problem_id", type=int)
def show(url: str | None, files: Path, problem_id: int) -> None:
    """System problem PROBLEM_ID: its fields, attributes, linked appeals and outcomes."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import SYSTEM, format_value

    with engine_on(url, files) as engine:
        p = engine.problems.get(problem_id, operator=SYSTEM)
        linked = engine.problems.linked(problem_id, operator=SYSTEM)
        outcomes = {o.appeal_id: o for o in engine.problems.outcomes(problem_id, operator=SYSTEM)}
        appeals = {i: engine.appeal(i, operator=SYSTEM) for i in linked}
    console = Console()
    facts = Table(title=f"System problem {p.id}: {p.title}", show_header=False)
    facts.add_column("Field")
    facts.add_column("Value")
    rows = [
        ("State", _state(p)),
        ("Description", p.description),
        ("Rule", p.rule),
        ("Window", _window(p)),
        ("Registered", f"{p.opened_at.isoformat(timespec='minutes')} by {p.registered_by}"),
    ]
    if p.confirmed_at is not None:
        rows.append(
            ("Confirmed", f"{p.confirmed_at.isoformat(timespec='minutes')} by {p.confirmed_by}")
        )
    if p.resolved_at is not None:
        when = p.resolved_at.isoformat(timespec="minutes")
        rows.append(("Resolved", f"{when} by {p.resolved_by} along {p.transition}"))
        rows.append(("Resolution", p.resolution))
    if p.closed_at is not None:
        rows.append(("Closed", f"{p.closed_at.isoformat(timespec='minutes')} by {p.closed_by}"))
    for code, value in sorted(p.values.items()):
        many = value if isinstance(value, tuple) else (value,)
        rows.append((code, ", ".join(format_value(v) for v in many)))
    for field, value in rows:
        facts.add_row(field, value)
    console.print(facts)
    table = Table(title=f"Appeals linked to system problem {p.id}")
    for column in ("Appeal", "Topic", "Process", "Queue", "State", "Outcome"):
        table.add_column(column, justify="right" if column == "Appeal" else "left")
    for appeal_id, a in appeals.items():
        outcome = outcomes.get(appeal_id)
        shown = "" if outcome is None else "moved" if outcome.ok else f"[red]{outcome.error}[/red]"
        table.add_row(str(a.id), a.topic, a.process, a.queue or "", a.state.value, shown)
    console.print(table)


def _time(text: str | None) -> datetime | None:
    from datetime import UTC

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@problems.command("register")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("title")
@click.option("--description", default="", help="What is known about it.")
@click.option("--value", "values", multiple=True, metavar="CODE=VALUE", help="An attribute.")
@click.option("--rule", default="", help="Which new appeals it links: a rule over appeals.")
@click.option("--since", default=None, metavar="ISO", help="Link appeals registered from then.")
@click.option("--until", default=None, metavar="ISO", help="... and before then.")
@click.option("--link-matching", is_flag=True, help="Link the open appeals that match already.")
def register(
    url: str | None,
    files: Path,
    login: str | None,
    title: str,
    description: str,
    values: tuple[str, ...],
    rule: str,
    since: str | None,
    until: str | None,
    link_matching: bool,
) -> None:
    """Register a system problem TITLE."""
    with engine_on(url, files) as engine:
        made = engine.problems.register(
            _who(engine, login),
            title,
            description=description,
            values=parse_problem_values(engine.catalog, values),
            rule=rule,
            since=_time(since),
            until=_time(until),
        )
        linked = (
            engine.problems.link_matching(made.id, _who(engine, login)) if link_matching else []
        )
    click.echo(f"system problem {made.id}: {made.title} ({made.state.value})")
    if link_matching:
        click.echo(f"linked {len(linked)} open appeal{'s' if len(linked) != 1 else ''}")


@problems.command("confirm")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("problem_id", type=int)
@click.option("--link-matching", is_flag=True, help="Link the open appeals that match already.")
def confirm(
    url: str | None, files: Path, login: str | None, problem_id: int, link_matching: bool
) -> None:
    """Confirm system problem PROBLEM_ID."""
    with engine_on(url, files) as engine:
        who = _who(engine, login)
        made = engine.problems.confirm(problem_id, who)
        linked = engine.problems.link_matching(problem_id, who) if link_matching else []
    click.echo(f"system problem {made.id} confirmed")
    if link_matching:
        click.echo(f"linked {len(linked)} open appeal{'s' if len(linked) != 1 else ''}")


@problems.command("link")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("problem_id", type=int)
@click.argument("appeal_ids", type=int, nargs=-1)
@click.option("--matching", is_flag=True, help="Link every open appeal its rule matches.")
def link(
    url: str | None,
    files: Path,
    login: str | None,
    problem_id: int,
    appeal_ids: tuple[int, ...],
    matching: bool,
) -> None:
    """Link APPEAL_IDS (or, with --matching, the open appeals its rule matches) to
    system problem PROBLEM_ID."""
    if not appeal_ids and not matching:
        raise click.UsageError("name the appeals to link, or give --matching")
    with engine_on(url, files) as engine:
        who = _who(engine, login)
        done = (
            [a.id for a in engine.problems.link(problem_id, appeal_ids, who)] if appeal_ids else []
        )
        if matching:
            done += engine.problems.link_matching(problem_id, who)
    click.echo(
        f"linked {len(done)} appeal{'s' if len(done) != 1 else ''} to system problem {problem_id}"
    )


@problems.command("unlink")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("problem_id", type=int)
@click.argument("appeal_ids", type=int, nargs=-1, required=True)
def unlink(
    url: str | None, files: Path, login: str | None, problem_id: int, appeal_ids: tuple[int, ...]
) -> None:
    """Unlink APPEAL_IDS from system problem PROBLEM_ID."""
    with engine_on(url, files) as engine:
        gone = engine.problems.unlink(problem_id, appeal_ids, _who(engine, login))
    click.echo(f"unlinked {len(gone)} appeal{'s' if len(gone) != 1 else ''}")


@problems.command("resolve")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("problem_id", type=int)
@click.option("--transition", default=None, help="The transition every linked appeal takes.")
@click.option("--resolution", default="", help="What was done: every client is told it.")
@click.option("--batch", default=200, show_default=True, help="Appeals per transaction.")
def resolve(
    url: str | None,
    files: Path,
    login: str | None,
    problem_id: int,
    transition: str | None,
    resolution: str,
    batch: int,
) -> None:
    """Resolve system problem PROBLEM_ID: move every linked appeal along --transition and
    tell each client. Run again after an interruption to go on where it stopped."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from rich.table import Table

    console = Console()
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with engine_on(url, files) as engine, Progress(*columns, console=console) as bar:
        task = bar.add_task(f"Resolving problem {problem_id}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        made = engine.problems.resolve(
            problem_id,
            _who(engine, login),
            transition=transition,
            resolution=resolution,
            batch=batch,
            progress=advance,
        )
    result = made.result
    console.print(
        f"system problem {problem_id} resolved: {len(result.succeeded)} appeals moved, "
        f"{len(result.failed)} refused"
    )
    if result.failed:
        table = Table(title="Appeals that did not move")
        table.add_column("Appeal", justify="right")
        table.add_column("Why")
        for item in result.failed:
            table.add_row(str(item.appeal_id), item.error or "")
        console.print(table)


@problems.command("close")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("problem_id", type=int)
def close(url: str | None, files: Path, login: str | None, problem_id: int) -> None:
    """Close resolved system problem PROBLEM_ID."""
    with engine_on(url, files) as engine:
        engine.problems.close(problem_id, _who(engine, login))
    click.echo(f"system problem {problem_id} closed")
