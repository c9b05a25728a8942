"""Queues: choosing an appeal's queue on entering a process, membership, taking and assigning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from crmcms.dsl import CompiledRule, rule_title
from crmcms.engine.history import snapshot
from crmcms.engine.rules import RuleBook
from crmcms.errors import PermissionDeniedError, Problem, ValidationError, WorkflowError
from crmcms.model import Appeal, Catalog, HistoryKind, Operator, Queue, QueuePolicy, Route

if TYPE_CHECKING:
    from crmcms.engine.transaction import Tx

__all__ = [
    "QueueCandidate",
    "QueueChoice",
    "QueueIndex",
    "Queues",
    "assign",
    "can_work",
    "candidate_queues",
    "choose_queue",
    "is_administrator",
    "queue_candidates",
    "select_queue",
    "take",
]


class Queues(Protocol):
    """Where queues are looked up by code: the catalog, or an index of it."""

    def queue(self, code: str) -> Queue: ...


class QueueIndex(dict[str, Queue]):
    """The catalog's queues by code. ``queue(code)`` is a plain dict lookup (the catalog's own
    does more work, and every action asks at least once); a code the catalog lacks is
    looked up there, which says so."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__((q.code, q) for q in catalog.queues)
        self._catalog = catalog
        self.workers: dict[str, frozenset[str] | None] = {
            q.code: None
            if not q.members
            else frozenset(
                o.login
                for o in catalog.operators
                if q.has_member(o.login, o.roles) or o.login in q.administrators
            )
            for q in catalog.queues
        }
        """By queue code: the logins of the catalog's operators who may work in it (members,
        directly or by role, and administrators), or ``None`` for an open queue. The same
        answer as :func:`can_work` before the appeal's responsible, read in one lookup."""

    def __missing__(self, code: str) -> Queue:
        return self._catalog.queue(code)

    queue = dict.__getitem__


@attrs.frozen
class QueueChoice:
    """The queue chosen and the reason, kept in history to answer "why is it here"."""

    queue: str
    reason: str


def candidate_queues(catalog: Catalog, route: Route, process: str) -> tuple[Queue, ...]:
    """The queues tried, in order, for an appeal entering ``process`` of ``route``.

    The process's own ``queues`` list in its order when it has one; otherwise the active
    queues that name the process, then the active queues that allow any process, each in
    catalog order. Inactive queues are never candidates.
    """
    step = route.process(process)
    if step.queues:
        listed = (catalog.queue(code) for code in step.queues)
        return tuple(q for q in listed if q.active)
    named = tuple(q for q in catalog.queues if q.active and process in q.processes)
    anywhere = tuple(q for q in catalog.queues if q.active and not q.processes)
    return named + anywhere


@attrs.frozen
class QueueCandidate:
    """A candidate queue with its selection rule compiled and the reasons it may be given."""

    code: str
    rule: CompiledRule | None
    chosen: str
    """Why it was chosen, when it is. Candidates are tried in order and only a false rule
    passes one over, so every candidate before it was passed over: that is said here too."""
    passed_over: str
    """Why it was passed over, when its rule is false."""


def queue_candidates(
    catalog: Catalog, rules: RuleBook, route: Route, process: str
) -> tuple[QueueCandidate, ...]:
    """:func:`candidate_queues` ready to choose from: rules compiled, reasons written."""
    out: list[QueueCandidate] = []
    for queue in candidate_queues(catalog, route, process):
        if queue.rule is None:
            rule = None
            chosen = f"first queue for process {process} without a selection rule"
            skipped = ""  # a queue without a rule is never passed over
        else:
            rule = rules.rule(queue.rule)
            chosen = f"{rule_title(catalog.rule(queue.rule))} holds"
            skipped = (
                f"{queue.code}: {rule_title(catalog.rule(queue.rule), with_name=False)} is false"
            )
        if out:
            chosen += "; passed over " + ", ".join(c.passed_over for c in out)
        out.append(QueueCandidate(queue.code, rule, chosen, skipped))
    return tuple(out)


def choose_queue(
    process: str,
    keeps_queue: bool,
    candidates: Sequence[QueueCandidate],
    current: str | None,
    data: Mapping[str, Any],
) -> tuple[str, str]:
    """The code of the first candidate whose rule holds (no rule always holds), and why; a
    process that keeps the queue keeps the one the appeal is in, if any.

    Raises :class:`WorkflowError` naming each candidate and why it was passed over.
    """
    if keeps_queue and current is not None:
        return current, f"process {process} keeps the queue the appeal was in"
    for candidate in candidates:
        if candidate.rule is None or candidate.rule.evaluate(data):
            return candidate.code, candidate.chosen
    detail = "; ".join(c.passed_over for c in candidates) or "no active queue allows it"
    raise WorkflowError(f"no queue accepts an appeal in process {process}: {detail}")


def select_queue(
    catalog: Catalog,
    rules: RuleBook,
    route: Route,
    process: str,
    current: str | None,
    data: Mapping[str, Any],
) -> QueueChoice:
    """The first candidate queue whose rule holds (no rule always holds).

    Raises :class:`WorkflowError` naming each candidate and why it was passed over. The
    engine keeps the candidates of each process (see :mod:`crmcms.engine.plans`); this builds
    them for one call.
    """
    keeps = route.process(process).queue_policy is QueuePolicy.KEEP
    candidates = queue_candidates(catalog, rules, route, process)
    return QueueChoice(*choose_queue(process, keeps, candidates, current, data))


def is_administrator(operator: Operator, queue: str | None, catalog: Queues) -> bool:
    return queue is not None and operator.login in catalog.queue(queue).administrators


def can_work(operator: Operator | None, appeal: Appeal, catalog: Queues) -> str | None:
    """Why ``operator`` may not work on ``appeal``, or ``None`` if they may.

    The system may always; an operator may when the appeal's queue has no members (an open
    queue such as REGISTRATION), when they are a member (directly or by role) or an
    administrator of it, or when they are the appeal's responsible.
    """
    if operator is None or appeal.queue is None:
        return None
    queue = catalog.queue(appeal.queue)
    if (
        not queue.members
        or queue.has_member(operator.login, operator.roles)
        or operator.login in queue.administrators
        or appeal.responsible == operator.login
    ):
        return None
    return f"{operator.login} is not a member of queue {queue.code} ({queue.name})"


def _require_work(tx: Tx, operator: Operator | None, appeal: Appeal, action: str) -> None:
    why = can_work(operator, appeal, tx.catalog)
    if why is not None and operator is not None:
        raise PermissionDeniedError(operator.login, action, why)
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal.id} is closed")


def take(tx: Tx, appeal_id: int, login: str) -> Appeal:
    """The operator takes the appeal from its queue and becomes its responsible."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.appeal(appeal_id)
    _require_work(tx, operator, appeal, f"take appeal {appeal_id}")
    if appeal.responsible == login:
        raise WorkflowError(f"appeal {appeal_id} is already {login}'s")
    before = snapshot(appeal)
    appeal.responsible = login
    tx.uow.appeals.update(appeal)
    tx.record(appeal, HistoryKind.ASSIGNED, before, operator=login, comment="taken from queue")
    return appeal


def assign(tx: Tx, appeal_id: int, login: str, assignee: str, comment: str = "") -> Appeal:
    """A queue administrator makes ``assignee`` (a member of the queue) responsible."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.appeal(appeal_id)
    if not is_administrator(operator, appeal.queue, tx.catalog):
        raise PermissionDeniedError(
            login, f"assign appeal {appeal_id}", f"not an administrator of queue {appeal.queue}"
        )
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is closed")
    target = tx.operator(assignee)
    assert target is not None
    if can_work(target, appeal, tx.catalog) is not None:
        raise ValidationError(
            [Problem("assignee", f"{assignee} is not a member of queue {appeal.queue}")],
            subject=f"appeal {appeal_id}",
        )
    before = snapshot(appeal)
    appeal.responsible = assignee
    tx.uow.appeals.update(appeal)
    tx.record(appeal, HistoryKind.ASSIGNED, before, operator=login, comment=comment or "assigned")
    return appeal
