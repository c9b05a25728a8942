"""System problems inside one transaction: registering, linking appeals, moving them on.

A problem links appeals by hand, by its rule as each appeal is registered, or by a search
for open appeals its rule matches (run as SQL where the store can). Resolving moves each
linked appeal along one transition and tells its client; :mod:`crmcms.engine.problem_desk`
drives that in batches, each batch one transaction with the outcome of every appeal in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from crmcms.dsl import compile_rule
from crmcms.engine import routing
from crmcms.engine.obstacles import require
from crmcms.engine.records import make_change
from crmcms.engine.validation import normalise
from crmcms.errors import (
    NotFoundError,
    Problem,
    ValidationError,
    WorkflowError,
)
from crmcms.model import (
    OPEN_PROBLEM_STATES,
    Appeal,
    AttributeValue,
    HistoryKind,
    Notification,
    NotificationKind,
    Permission,
    ProblemOutcome,
    SystemProblem,
)

if TYPE_CHECKING:
    from crmcms.engine.transaction import Tx

__all__ = [
    "check_problem_values",
    "confirm_problem",
    "link_appeal",
    "link_matching",
    "link_new_appeals",
    "linking_problems",
    "open_problem",
    "register_problem",
    "resolve_appeal",
    "unlink_appeal",
]

_LINK = "system_problem_id"


def _login(tx: Tx) -> str:
    return tx.principal.login if tx.principal is not None else "system"


def _manage(tx: Tx, action: str) -> None:
    require(tx.principal, Permission.MANAGE_SYSTEM_PROBLEMS, action)


def check_problem_values(tx: Tx, values: Mapping[str, object]) -> dict[str, AttributeValue]:
    """The values of a problem's attributes, each checked as its definition says (type,
    dictionary, mask, pattern), required ones present: every problem at once, by code."""
    definitions = {d.code: d for d in tx.catalog.problem_attributes}
    given = {code: normalise(v) for code, v in values.items()}
    problems: list[Problem] = []
    for code, value in given.items():
        found = definitions.get(code)
        if found is None:
            known = ", ".join(definitions) or "none are defined"
            problems.append(Problem(code, f"system problems have no such attribute ({known})"))
            continue
        if not found.active and value is not None:
            problems.append(Problem(code, "is inactive"))
            continue
        dictionary = None if found.dictionary is None else tx.catalog.dictionary(found.dictionary)
        problems += found.validate(value, dictionary=dictionary, required=False)
    for code, definition in definitions.items():
        if definition.active and definition.required.always and given.get(code) is None:
            problems.append(Problem(code, "is required"))
    if problems:
        raise ValidationError(problems, subject="system problem")
    # Every value left has passed its definition's checks: it is an attribute value.
    return cast(dict[str, AttributeValue], {c: v for c, v in given.items() if v is not None})


def _check_rule(tx: Tx, rule: str) -> str:
    """The rule text, checked against the schema the engine's rules see: a mistake is
    reported at its line and column."""
    text = rule.strip()
    if text:
        compile_rule(text, schema=tx.rules.schema, file="<system problem rule>")
    return text


def register_problem(
    tx: Tx,
    title: str,
    *,
    description: str,
    values: Mapping[str, object],
    rule: str,
    since: datetime | None,
    until: datetime | None,
) -> SystemProblem:
    """A new problem, registered: it links matching appeals from now on."""
    _manage(tx, "register a system problem")
    shown = title.strip()
    if not shown:
        raise ValidationError([Problem("title", "a system problem needs a title")])
    if since is not None and until is not None and until <= since:
        raise ValidationError([Problem("until", "the window must end after it starts")])
    problem = SystemProblem(
        id=tx.uow.problems.next_id(),
        title=shown,
        registered_by=_login(tx),
        opened_at=tx.now,
        description=description,
        rule=_check_rule(tx, rule),
        since=since,
        until=until,
        values=check_problem_values(tx, values),
    )
    tx.uow.problems.add(problem)
    return problem


def open_problem(tx: Tx, problem_id: int) -> SystemProblem:
    """The problem, if it still links appeals."""
    problem = tx.uow.problems.get(problem_id)
    if not problem.is_open:
        raise WorkflowError(
            f"system problem {problem_id} is {problem.state.value}: it links no more appeals"
        )
    return problem


def confirm_problem(tx: Tx, problem_id: int) -> SystemProblem:
    _manage(tx, f"confirm system problem {problem_id}")
    problem = tx.uow.problems.get(problem_id)
    problem.confirm(tx.now, _login(tx))
    problem.version += 1
    tx.uow.problems.update(problem)
    return problem


def _link(tx: Tx, appeal: Appeal, problem: SystemProblem, login: str | None, why: str) -> Appeal:
    change = make_change(_LINK, appeal.system_problem_id, problem.id)
    appeal.system_problem_id = problem.id
    stored = tx.save(appeal)
    tx.event(appeal, HistoryKind.PROBLEM_LINKED, (change,), login, comment=why)
    return stored


def link_appeal(tx: Tx, problem: SystemProblem, appeal_id: int) -> Appeal | None:
    """Link one appeal by hand; ``None`` when it is linked to this problem already."""
    appeal = tx.visible(appeal_id)
    if appeal.system_problem_id == problem.id:
        return None
    if appeal.system_problem_id is not None:
        raise WorkflowError(
            f"appeal {appeal_id} is linked to system problem {appeal.system_problem_id}: "
            "unlink it first"
        )
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is closed: only open appeals are linked")
    return _link(tx, appeal, problem, _login(tx), f"linked to system problem {problem.id}")


def unlink_appeal(tx: Tx, problem: SystemProblem, appeal_id: int) -> Appeal:
    appeal = tx.visible(appeal_id)
    if appeal.system_problem_id != problem.id:
        raise WorkflowError(f"appeal {appeal_id} is not linked to system problem {problem.id}")
    change = make_change(_LINK, problem.id, None)
    appeal.system_problem_id = None
    stored = tx.save(appeal)
    comment = f"unlinked from system problem {problem.id}"
    tx.event(appeal, HistoryKind.PROBLEM_UNLINKED, (change,), _login(tx), comment=comment)
    return stored


def _matches(tx: Tx, problem: SystemProblem, appeal: Appeal) -> bool:
    if not problem.rule or not problem.in_window(appeal.registered_at):
        return False
    return tx.rules.condition(problem.rule)(tx.data(appeal))


def linking_problems(tx: Tx) -> list[SystemProblem]:
    """The open problems that link new appeals by rule, in id order."""
    return [p for p in tx.uow.problems.find(OPEN_PROBLEM_STATES) if p.rule]


def link_new_appeals(tx: Tx, appeals: Sequence[Appeal]) -> list[Appeal]:
    """Link each newly registered appeal to the first open problem (by id) whose rule and
    window it matches; the system links it, whoever registers. The appeals as stored."""
    problems = linking_problems(tx)
    if not problems:
        return list(appeals)
    out = []
    for made in appeals:
        for problem in problems:
            if _matches(tx, problem, made):
                why = f"matches the rule of system problem {problem.id}"
                made = _link(tx, tx.appeal(made.id), problem, None, why)
                break
        out.append(made)
    return out


def link_matching(tx: Tx, problem: SystemProblem, limit: int) -> list[int]:
    """Link up to ``limit`` open appeals linked to nothing that the problem's rule and window
    match, found by the store (in SQL where it can); the ids linked."""
    if not problem.rule:
        return []
    compiled = tx.rules.condition(problem.rule)
    found = tx.uow.problems.matching(
        compiled,
        problem.since,
        problem.until,
        lambda a: bool(compiled(tx.data(a))),
        limit,
    )
    why = f"matches the rule of system problem {problem.id}"
    for appeal_id in found:
        _link(tx, tx.appeal(appeal_id), problem, None, why)
    return found


def resolve_appeal(tx: Tx, problem: SystemProblem, appeal_id: int) -> ProblemOutcome:
    """Move one linked appeal along the problem's transition, tell its client through the
    outbox, and record the outcome: all in ``tx``, so all or nothing."""
    assert problem.transition is not None
    appeal = tx.appeal(appeal_id)
    if appeal.system_problem_id != problem.id:
        raise NotFoundError("appeal linked to the problem", appeal_id)
    comment = f"system problem {problem.id} resolved"
    if problem.resolution:
        comment += f": {problem.resolution}"
    # The problem's own notice tells the client; closing adds no "result" one beside it.
    way_out = routing.event_transition(tx, appeal, problem.transition)
    moved = routing.perform(tx, appeal, way_out, None, comment, tell_result=False)
    client_id = tx.contact(appeal.contact_id).client_id
    if client_id is not None:
        to = (f"client:{client_id}",)
        tx.notify(
            Notification(
                NotificationKind.PROBLEM_RESOLVED,
                appeal_id,
                to,
                to,
                f"{problem.title}: resolved",
                problem.resolution,
            )
        )
    outcome = ProblemOutcome(
        problem_id=problem.id, appeal_id=appeal_id, ok=True, at=tx.now, version=moved.version
    )
    tx.uow.problems.record(outcome)
    return outcome
