"""Queues: choosing an appeal's queue on entering a process, and who may work in each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmcms.dsl import CompiledRule, rule_title
from crmcms.engine.rules import RuleBook
from crmcms.errors import WorkflowError
from crmcms.model import Catalog, Queue, QueuePolicy, Route

__all__ = [
    "QueueCandidate",
    "QueueChoice",
    "QueueIndex",
    "candidate_queues",
    "choose_queue",
    "queue_candidates",
    "select_queue",
]


class QueueIndex(dict[str, Queue]):
    """The catalog's queues by code. ``queue(code)`` is a plain dict lookup (the catalog's own
    does more work, and every action asks at least once); a code the catalog lacks is
    looked up there, which says so."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__((q.code, q) for q in catalog.queues)
        self._catalog = catalog
        self.workers = _Workers(catalog)
        """By queue code: the logins of the catalog's operators who may work in it (members,
        directly or by role, and administrators), or ``None`` for an open queue; read in one
        lookup (see :mod:`crmcms.engine.obstacles`, which adds the appeal's responsible)."""

    def __missing__(self, code: str) -> Queue:
        return self._catalog.queue(code)

    queue = dict.__getitem__


class _Workers(dict[str, frozenset[str] | None]):
    def __init__(self, catalog: Catalog) -> None:
        super().__init__(
            (
                q.code,
                None
                if not q.members
                else frozenset(
                    o.login
                    for o in catalog.operators
                    if q.has_member(o.login, o.roles) or o.login in q.administrators
                ),
            )
            for q in catalog.queues
        )
        self._catalog = catalog

    def __missing__(self, code: str) -> frozenset[str] | None:
        self._catalog.queue(code)  # raises the catalog's "not found" error
        return None  # pragma: no cover


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
