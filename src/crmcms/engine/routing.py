"""Routes at work: available transitions with reasons, moving appeals, automatic transitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crmcms.dsl import Explanation, format_value
from crmcms.engine.deadlines import due_at
from crmcms.engine.handlers import handlers_for, run_handlers
from crmcms.engine.history import snapshot
from crmcms.engine.notifications import Notification, NotificationKind
from crmcms.engine.queues import can_work, select_queue
from crmcms.engine.transaction import Tx
from crmcms.errors import PermissionDeniedError, Problem, ValidationError, WorkflowError
from crmcms.model import Appeal, HandlerEvent, HistoryKind, Operator, Route, Transition

__all__ = [
    "MAX_AUTOMATIC_STEPS",
    "TransitionOption",
    "close_appeal",
    "enter_process",
    "options",
    "perform",
    "reject",
    "run_automatic",
]

MAX_AUTOMATIC_STEPS = 20
"""Automatic transitions taken in a row before the engine calls it a loop and gives up."""


@attrs.frozen
class TransitionOption:
    """A transition out of the appeal's process and whether the operator may take it now."""

    transition: Transition
    reasons: tuple[str, ...] = ()
    """Why it is unavailable; empty when it is available."""

    @property
    def available(self) -> bool:
        return not self.reasons

    @property
    def code(self) -> str:
        return self.transition.code


def route_of(tx: Tx, appeal: Appeal) -> Route:
    return tx.rt.route(appeal.route, appeal.route_version)


def _false_parts(node: Explanation) -> list[str]:
    """The innermost false conditions with the values they read: what an operator can act on."""
    if node.value is not False or not node.evaluated:
        return []
    inner = [part for child in node.children for part in _false_parts(child)]
    if inner:
        return inner
    reads = [
        f"{c.text} is {format_value(c.value)}"
        for c in node.children
        if c.evaluated and c.text != format_value(c.value)
    ]
    return [node.text + (f" ({', '.join(reads)})" if reads else "")]


def _rule_reason(tx: Tx, transition: Transition, data: Mapping[str, Any]) -> str | None:
    if transition.rule is None:
        return None
    rule = tx.rt.rules.rule(transition.rule)
    if rule.evaluate(data):
        return None
    detail = "; ".join(_false_parts(rule.explain(data))) or rule.text
    name = tx.catalog.rule(transition.rule).name
    return f"rule {transition.rule} ({name}) is false: {detail}"


def _leave_reasons(
    tx: Tx, appeal: Appeal, route: Route, transition: Transition, data: Mapping[str, Any]
) -> list[str]:
    reasons = []
    missing = tx.rt.policy.missing_required(appeal, data)
    if missing:
        codes = ", ".join(p.code for p in missing)
        reasons.append(f"required attributes are not filled: {codes}")
    if route.process(transition.target).final and not route.close_with_open_children:
        open_kids = [c.id for c in tx.uow.appeals.children(appeal.id) if c.is_open]
        if open_kids:
            reasons.append(f"child appeals are open: {', '.join(map(str, open_kids))}")
    return reasons


def _option(
    tx: Tx,
    appeal: Appeal,
    route: Route,
    t: Transition,
    operator: Operator | None,
    data: Mapping[str, Any],
) -> TransitionOption:
    reasons: list[str] = []
    if not appeal.is_open:
        reasons.append(f"appeal {appeal.id} is closed")
    who = can_work(operator, appeal, tx.catalog)
    if who is not None:
        reasons.append(who)
    if t.automatic and operator is not None:
        reasons.append("automatic: the system takes it as soon as its rule holds")
    rule = _rule_reason(tx, t, data)
    if rule is not None:
        reasons.append(rule)
    reasons += _leave_reasons(tx, appeal, route, t, data)
    return TransitionOption(t, tuple(reasons))


def options(tx: Tx, appeal: Appeal, operator: Operator | None) -> list[TransitionOption]:
    """Every transition out of the appeal's process, each with why it is unavailable."""
    route = route_of(tx, appeal)
    data = tx.data(appeal, operator)
    return [
        _option(tx, appeal, route, t, operator, data)
        for t in route.transitions_from(appeal.process)
    ]


def perform(
    tx: Tx,
    appeal: Appeal,
    code: str,
    operator: Operator | None,
    *,
    comment: str = "",
) -> Appeal:
    """Move ``appeal`` along transition ``code``; refuses with every reason it is unavailable.

    Order: process-left handlers, hand-over handlers, the move and queue choice, then
    process-entered handlers (each: own handlers first, the route's global ones after),
    closing if the target is final, and finally any automatic transitions that now hold.
    """
    route = route_of(tx, appeal)
    transition = route.transition(code)
    if transition.source != appeal.process:
        raise WorkflowError(
            f"transition {code} leaves {transition.source}, appeal {appeal.id} is in "
            f"{appeal.process}"
        )
    option = _option(tx, appeal, route, transition, operator, tx.data(appeal, operator))
    if not option.available:
        login = operator.login if operator else "the system"
        message = f"transition {code} of appeal {appeal.id} is not available to {login}: "
        message += "; ".join(option.reasons)
        if operator is not None and can_work(operator, appeal, tx.catalog) is not None:
            raise PermissionDeniedError(operator.login, f"take transition {code}", message)
        raise WorkflowError(message)
    _move(tx, appeal, route, transition, operator, comment)
    run_automatic(tx, appeal)
    return appeal


def _move(
    tx: Tx,
    appeal: Appeal,
    route: Route,
    transition: Transition,
    operator: Operator | None,
    comment: str,
) -> None:
    login = operator.login if operator else None
    data = tx.data(appeal, operator)
    source = route.process(appeal.process)
    run_handlers(
        tx,
        appeal,
        HandlerEvent.PROCESS_LEFT,
        handlers_for(HandlerEvent.PROCESS_LEFT, source.handlers, route),
        data,
        operator=login,
        transition=transition.code,
    )
    run_handlers(
        tx,
        appeal,
        HandlerEvent.HAND_OVER,
        handlers_for(HandlerEvent.HAND_OVER, transition.handlers, route),
        data,
        operator=login,
        transition=transition.code,
    )
    before = snapshot(appeal)
    appeal.process = transition.target
    tx.record(
        appeal,
        HistoryKind.MOVED,
        before,
        operator=login,
        transition=transition.code,
        comment=comment or transition.name,
    )
    enter_process(tx, appeal, route, operator, transition=transition.code)


def enter_process(
    tx: Tx,
    appeal: Appeal,
    route: Route,
    operator: Operator | None,
    *,
    transition: str | None = None,
    save: bool = True,
) -> str:
    """Queue, deadline and entry handlers for the process ``appeal.process`` now names.

    Returns why the queue was chosen. ``save=False`` is for a new appeal, which its caller
    stores and records instead.
    """
    login = operator.login if operator else None
    step = route.process(appeal.process)
    before = snapshot(appeal)
    data = tx.data(appeal, operator)
    choice = select_queue(tx.catalog, tx.rt.rules, route, step.code, appeal.queue, data)
    appeal.queue = choice.queue
    appeal.process_entered_at = tx.now
    appeal.process_deadline = None if step.deadline is None else due_at(tx.now, step.deadline)
    if save:
        tx.record(
            appeal,
            HistoryKind.QUEUED,
            before,
            operator=login,
            transition=transition,
            comment=choice.reason,
        )
    run_handlers(
        tx,
        appeal,
        HandlerEvent.PROCESS_ENTERED,
        handlers_for(HandlerEvent.PROCESS_ENTERED, step.handlers, route),
        data,
        operator=login,
        transition=transition,
    )
    if step.final and appeal.is_open:
        close_appeal(tx, appeal, route, operator, save=save)
    elif save:
        tx.uow.appeals.update(appeal)
    return choice.reason


def close_appeal(
    tx: Tx,
    appeal: Appeal,
    route: Route,
    operator: Operator | None,
    *,
    comment: str = "",
    save: bool = True,
) -> None:
    """Close the appeal, run close handlers and tell the client the result."""
    login = operator.login if operator else None
    before = snapshot(appeal)
    appeal.close(tx.now)
    appeal.process_deadline = None
    data = tx.data(appeal, operator)
    run_handlers(
        tx,
        appeal,
        HandlerEvent.APPEAL_CLOSED,
        handlers_for(HandlerEvent.APPEAL_CLOSED, route.process(appeal.process).handlers, route),
        data,
        operator=login,
    )
    contact = tx.contact(appeal.contact_id)
    to = tuple(
        f"{kind}:{ident}"
        for kind, ident in (
            ("client", contact.client_id),
            ("subscriber", contact.subscriber_id),
            ("contact_person", contact.contact_person_id),
            ("prospect", contact.prospect_id),
        )
        if ident is not None
    )
    topic = tx.catalog.topic(appeal.topic).name
    tx.notify(
        Notification(
            NotificationKind.RESULT,
            appeal.id,
            to,
            to,
            f"Your appeal {appeal.id} ({topic}) is resolved",
            comment,
        )
    )
    if save:
        tx.uow.appeals.update(appeal)
        tx.record(appeal, HistoryKind.CLOSED, before, operator=login, comment=comment)


def run_automatic(tx: Tx, appeal: Appeal) -> None:
    """Take automatic transitions, as the system, while one out of the process holds."""
    for _ in range(MAX_AUTOMATIC_STEPS):
        if not appeal.is_open:
            return
        route = route_of(tx, appeal)
        automatic = [t for t in route.transitions_from(appeal.process) if t.automatic]
        if not automatic:
            return
        data = tx.data(appeal)
        ready = next(
            (t for t in automatic if _option(tx, appeal, route, t, None, data).available), None
        )
        if ready is None:
            return
        _move(tx, appeal, route, ready, None, "")
    raise WorkflowError(
        f"appeal {appeal.id}: more than {MAX_AUTOMATIC_STEPS} automatic transitions in a row"
    )


def reject(tx: Tx, appeal: Appeal, operator: Operator, reason: str) -> Appeal:
    """Refuse a hand-over: the appeal goes back along the transition that brought it here,
    and that transition's rejection handlers run (then the route's global ones)."""
    if not reason.strip():
        raise ValidationError([Problem("reason", "a rejection needs a reason")])
    route = route_of(tx, appeal)
    why = can_work(operator, appeal, tx.catalog)
    if why is not None:
        raise PermissionDeniedError(operator.login, f"reject appeal {appeal.id}", why)
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal.id} is closed")
    events = tx.uow.history.for_appeal(appeal.id)
    moved = next(
        (e for e in reversed(events) if e.kind is HistoryKind.MOVED and e.transition), None
    )
    if moved is None or moved.transition is None or moved.process != appeal.process:
        raise WorkflowError(f"appeal {appeal.id} was not handed over into {appeal.process}")
    transition = route.transition(moved.transition)
    data = tx.data(appeal, operator)
    run_handlers(
        tx,
        appeal,
        HandlerEvent.REJECTION,
        handlers_for(HandlerEvent.REJECTION, transition.handlers, route),
        data,
        operator=operator.login,
        transition=transition.code,
    )
    before = snapshot(appeal)
    appeal.process = transition.source
    tx.record(
        appeal,
        HistoryKind.MOVED,
        before,
        operator=operator.login,
        transition=None,
        comment=f"hand-over along {transition.code} rejected: {reason}",
    )
    enter_process(tx, appeal, route, operator)
    return appeal
