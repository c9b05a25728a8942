"""Routes at work: available transitions with reasons, moving appeals, automatic transitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from crmcms.engine.context import RuleData
from crmcms.engine.deadlines import due_at
from crmcms.engine.handlers import run_handlers
from crmcms.engine.history import CLOSE, MOVE, change
from crmcms.engine.notifications import Notification, NotificationKind
from crmcms.engine.obstacles import Obstacle, Requirements, ensure_allowed, find_obstacles
from crmcms.engine.plans import ProcessPlan, RoutePlan, TransitionPlan
from crmcms.engine.queues import choose_queue
from crmcms.engine.records import make_change
from crmcms.engine.transaction import Tx
from crmcms.errors import Problem, ValidationError, WorkflowError
from crmcms.model import (
    Appeal,
    AppealState,
    Change,
    HandlerEvent,
    HistoryKind,
    Operator,
    Permission,
    Route,
    Transition,
)

__all__ = [
    "MAX_AUTOMATIC_STEPS",
    "TransitionOption",
    "close_appeal",
    "enter_process",
    "event_transition",
    "options",
    "perform",
    "reject",
    "run_automatic",
]

MAX_AUTOMATIC_STEPS = 20
"""Automatic transitions taken in a row before the engine calls it a loop and gives up."""

# Enum members read on every move, bound once (each ``HistoryKind.X`` is a lookup).
_MOVED = HistoryKind.MOVED
_OPEN = AppealState.OPEN

_HANDLE = Requirements(permission=Permission.HANDLE, work=True)


@attrs.frozen
class TransitionOption:
    """A transition out of the appeal's process and whether the operator may take it now."""

    transition: Transition
    obstacles: tuple[Obstacle, ...] = ()
    """What stands in its way; empty when it is available."""

    @property
    def available(self) -> bool:
        return not self.obstacles

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it is unavailable, said so that an operator can act on it."""
        return tuple(o.message for o in self.obstacles)

    @property
    def code(self) -> str:
        return self.transition.code


def route_of(tx: Tx, appeal: Appeal) -> Route:
    return tx.plan(appeal).route


def event_transition(tx: Tx, appeal: Appeal, event: str) -> str:
    """The code of the transition out of the appeal's process whose code, or else name, is
    ``event``: how an external event names the way an appeal moves on."""
    out = route_of(tx, appeal).transitions_from(appeal.process)
    for found in (t for t in out if t.code == event), (t for t in out if t.name == event):
        chosen = next(found, None)
        if chosen is not None:
            return chosen.code
    raise WorkflowError(
        f"event {event!r} moves nothing: no such transition out of {appeal.process} of "
        f"appeal {appeal.id}"
    )


def options(tx: Tx, appeal: Appeal, operator: Operator | None) -> list[TransitionOption]:
    """Every transition out of the appeal's process, each with what stands in its way."""
    plan = tx.plan(appeal)
    data = tx.data(appeal, operator)
    rt, appeals, actor = tx.rt, tx.uow.appeals, tx.actor(operator)
    return [
        TransitionOption(
            t,
            tuple(find_obstacles(plan.transition(t.code).needs, appeal, actor, data, rt, appeals)),
        )
        for t in plan.process(appeal.process).outgoing
    ]


def perform(
    tx: Tx,
    appeal: Appeal,
    code: str,
    operator: Operator | None,
    comment: str = "",
    *,
    tell_result: bool = True,
) -> Appeal:
    """Move ``appeal`` along transition ``code``; refuses with every reason it is unavailable.

    Order: process-left handlers, hand-over handlers, the move and queue choice, then
    process-entered handlers (each: own handlers first, the route's global ones after),
    closing if the target is final, and finally any automatic transitions that now hold.
    ``tell_result=False`` is for a caller that tells the client itself (a system problem's
    resolution): closing then sends no ``result`` notification of its own.
    """
    plan = tx.rt.plans[appeal.route, appeal.route_version]
    step = plan.transitions.get(code) or plan.transition(code)
    if step.source.code != appeal.process:
        raise WorkflowError(
            f"transition {code} leaves {step.source.code}, appeal {appeal.id} is in "
            f"{appeal.process}"
        )
    # Live: everything reading it runs before the appeal changes (see _move and _enter).
    data = tx.data(appeal, operator, True)
    rt = tx.rt
    ensure_allowed(
        step.needs,
        appeal,
        tx.actor(operator),
        data,
        rt,
        tx.uow.appeals,
        "take transition {} of appeal {}",
        code,
        appeal.id,
    )
    target = step.target
    if step.plain:
        # _move and _enter for a transition without handlers into a process that is not
        # final and keeps no queue (most of them), in one step: the same changes, events
        # and order.
        login = operator.login if operator else None
        process = appeal.process = target.code
        data.refresh(appeal)
        queue, reason = choose_queue(process, False, plan.queues(process), appeal.queue, data)
        now = tx.now
        limit = target.clock_limit
        if limit is not None:
            deadline: datetime | None = now + limit
        else:
            deadline = (
                None
                if target.deadline is None
                else due_at(now, target.deadline, plan.calendar(process, queue))
            )
        changes = _entry_changes(appeal, queue, now, deadline, step.moved)
        appeal.queue = queue
        appeal.process_entered_at = now
        appeal.process_deadline = deadline
        name = comment or step.transition.name
        tx.event(appeal, _MOVED, changes, login, code, name, reason)
        stored: Appeal = tx.save(appeal)
    else:
        _move(tx, appeal, plan, step, operator, comment, data, tell_result)
        stored = tx.kept(appeal)
    # Only a process with automatic transitions out of it can start a chain of them.
    return run_automatic(tx, appeal, tell_result=tell_result) if target.automatic else stored


def _entry_changes(
    appeal: Appeal,
    queue: str,
    now: datetime,
    deadline: datetime | None,
    before: Sequence[Change] = (),
) -> tuple[Change, ...]:
    """``before`` (what the action changed first, such as the process), then what entering a
    process changes: the queue, when it was entered, its deadline."""
    old_queue, old_entered, old_deadline = (
        appeal.queue,
        appeal.process_entered_at,
        appeal.process_deadline,
    )
    changes = list(before)
    if queue != old_queue:
        changes.append(change("queue", old_queue, queue))
    if now != old_entered:
        changes.append(make_change("process_entered_at", old_entered, now))
    if deadline != old_deadline:
        changes.append(make_change("process_deadline", old_deadline, deadline))
    return tuple(changes)


def _move(
    tx: Tx,
    appeal: Appeal,
    plan: RoutePlan,
    step: TransitionPlan,
    operator: Operator | None,
    comment: str,
    data: RuleData,
    tell_result: bool = True,
) -> None:
    """Take ``step``; ``data`` is the rule data of the appeal as it is before the move."""
    login = operator.login if operator else None
    # Handlers get a copy of the appeal and cannot change it: ``data`` stays current.
    if step.source.on_left:
        run_handlers(
            tx,
            appeal,
            HandlerEvent.PROCESS_LEFT,
            step.source.on_left,
            data,
            operator=login,
            transition=step.code,
        )
    if step.on_hand_over:
        run_handlers(
            tx,
            appeal,
            HandlerEvent.HAND_OVER,
            step.on_hand_over,
            data,
            operator=login,
            transition=step.code,
        )
    # The move changes the process alone, from the source to the target: the plan holds
    # that change, which the event of entering the target records first.
    target = step.target
    appeal.process = target.code
    # Nothing reads the data as it was any more: it can show the appeal in its new process.
    data.refresh(appeal)
    name = comment or step.transition.name
    _enter(
        tx,
        appeal,
        plan,
        target,
        operator,
        step.code,
        True,
        data,
        _MOVED,
        step.moved,
        name,
        tell_result,
    )


def enter_process(
    tx: Tx,
    appeal: Appeal,
    route: Route,
    operator: Operator | None,
    *,
    transition: str | None = None,
    save: bool = True,
    kind: HistoryKind = HistoryKind.MOVED,
    changes: Sequence[Change] = (),
    comment: str = "",
) -> str:
    """Queue, deadline and entry handlers for the process ``appeal.process`` now names.

    Saved, the action is recorded as one event of ``kind``: ``changes`` (what the action
    changed before, such as the process), then what entering changed, with ``comment`` and
    why the queue was chosen. Returns that reason. ``save=False`` is for a new appeal, which
    its caller stores and records instead.
    """
    plan = tx.rt.plans[route.key]
    step = plan.process(appeal.process)
    data = tx.data(appeal, operator, True)
    return _enter(tx, appeal, plan, step, operator, transition, save, data, kind, changes, comment)


def _enter(
    tx: Tx,
    appeal: Appeal,
    plan: RoutePlan,
    step: ProcessPlan,
    operator: Operator | None,
    transition: str | None,
    save: bool,
    data: RuleData,
    kind: HistoryKind = _MOVED,
    before: Sequence[Change] = (),
    comment: str = "",
    tell_result: bool = True,
) -> str:
    """Enter ``step``; ``data`` shows the appeal as it is, in that process (live). Saved, the
    action is recorded as one event (see :func:`enter_process`)."""
    login = operator.login if operator else None
    now = tx.now
    candidates = plan.queues(step.code)
    queue, reason = choose_queue(step.code, step.keeps_queue, candidates, appeal.queue, data)
    if step.on_entered:  # they read the data after the appeal changes, as it was before
        data.capture()
    if step.clock_limit is not None:
        deadline: datetime | None = now + step.clock_limit
    else:
        deadline = (
            None
            if step.deadline is None
            else due_at(now, step.deadline, plan.calendar(step.code, queue))
        )
    # Entering a process changes these three fields and nothing else.
    changes = _entry_changes(appeal, queue, now, deadline, before) if save else ()
    appeal.queue = queue
    appeal.process_entered_at = now
    appeal.process_deadline = deadline
    if save:
        tx.event(appeal, kind, changes, login, transition, comment, reason)
    if step.on_entered:
        run_handlers(
            tx,
            appeal,
            HandlerEvent.PROCESS_ENTERED,
            step.on_entered,
            data,
            operator=login,
            transition=transition,
        )
    if step.final and appeal.state is _OPEN:
        _close(tx, appeal, step, operator, "", save, tell_result)
    elif save:
        tx.save(appeal)
    return reason


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
    step = tx.rt.plans[route.key].process(appeal.process)
    _close(tx, appeal, step, operator, comment, save)


def _close(
    tx: Tx,
    appeal: Appeal,
    step: ProcessPlan,
    operator: Operator | None,
    comment: str,
    save: bool,
    tell_result: bool = True,
) -> None:
    login = operator.login if operator else None
    before = CLOSE.read(appeal)
    appeal.close(tx.now)
    appeal.process_deadline = None
    if step.on_closed:
        run_handlers(
            tx,
            appeal,
            HandlerEvent.APPEAL_CLOSED,
            step.on_closed,
            tx.data(appeal, operator),
            operator=login,
        )
    if tell_result:
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
        tx.save(appeal)
        tx.event(appeal, HistoryKind.CLOSED, CLOSE.changes(before, appeal), login, None, comment)


def run_automatic(tx: Tx, appeal: Appeal, *, tell_result: bool = True) -> Appeal:
    """Take automatic transitions, as the system, while one out of the process holds;
    returns the appeal as it is then (``appeal`` itself when none was taken)."""
    for _ in range(MAX_AUTOMATIC_STEPS):
        if not appeal.is_open:
            return tx.kept(appeal)
        plan = tx.plan(appeal)
        automatic = plan.process(appeal.process).automatic
        if not automatic:
            return tx.kept(appeal)
        data = tx.data(appeal, live=True)  # read before any change, then refreshed
        rt, appeals = tx.rt, tx.uow.appeals
        ready = next(
            (
                step
                for step in map(plan.transition, (t.code for t in automatic))
                if not find_obstacles(step.needs, appeal, None, data, rt, appeals, True)
            ),
            None,
        )
        if ready is None:
            return tx.kept(appeal)
        # Move the appeal as stored now (handlers may have saved it since it was read).
        appeal = tx.appeal(appeal.id)
        _move(tx, appeal, plan, ready, None, "", data, tell_result)
    raise WorkflowError(
        f"appeal {appeal.id}: more than {MAX_AUTOMATIC_STEPS} automatic transitions in a row"
    )


def reject(tx: Tx, appeal: Appeal, operator: Operator, reason: str) -> Appeal:
    """Refuse a hand-over: the appeal goes back along the transition that brought it here,
    and that transition's rejection handlers run (then the route's global ones)."""
    if not reason.strip():
        raise ValidationError([Problem("reason", "a rejection needs a reason")])
    route = route_of(tx, appeal)
    ensure_allowed(
        _HANDLE,
        appeal,
        tx.actor(operator),
        {},
        tx.rt,
        tx.uow.appeals,
        "reject appeal {}",
        appeal.id,
    )
    events = tx.uow.history.for_appeal(appeal.id)
    moved = next(
        (e for e in reversed(events) if e.kind is HistoryKind.MOVED and e.transition), None
    )
    if moved is None or moved.transition is None or moved.process != appeal.process:
        raise WorkflowError(f"appeal {appeal.id} was not handed over into {appeal.process}")
    step = tx.plan(appeal).transition(moved.transition)
    transition = step.transition
    if step.on_rejection:
        run_handlers(
            tx,
            appeal,
            HandlerEvent.REJECTION,
            step.on_rejection,
            tx.data(appeal, operator),
            operator=operator.login,
            transition=transition.code,
        )
    before = MOVE.read(appeal)
    appeal.process = transition.source
    enter_process(
        tx,
        appeal,
        route,
        operator,
        changes=MOVE.changes(before, appeal),
        comment=f"hand-over along {transition.code} rejected: {reason}",
    )
    return tx.kept(appeal)
