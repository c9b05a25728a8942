"""Administration of single appeals: close, reopen and change deadlines."""

from __future__ import annotations

from datetime import datetime

from crmcms.engine.history import changes_since, snapshot
from crmcms.engine.obstacles import Requirements, ensure_allowed
from crmcms.engine.routing import enter_process, route_of
from crmcms.engine.transaction import Tx
from crmcms.errors import Problem, ValidationError
from crmcms.model import Appeal, AppealState, HistoryKind, Permission

__all__ = ["UNCHANGED", "change_deadlines", "close", "reopen"]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()
"""Leave this deadline as it is (``None`` removes a deadline)."""

_REOPENING = Requirements(
    state=AppealState.CLOSED, permission=Permission.REOPEN, administer=True, under_parent=True
)
_ADMINISTERING = Requirements(permission=Permission.CHANGE_DEADLINES, administer=True)


def close(tx: Tx, appeal_id: int, login: str, comment: str = "") -> Appeal:
    """Close the appeal by moving it to its route's first final process.

    Its responsible, a member or an administrator of its queue may; required attributes of
    the current process must be filled and, unless the route allows it, no child open (the
    checks of :mod:`crmcms.engine.obstacles`, as for a transition).
    """
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.visible(appeal_id)
    plan = tx.plan(appeal)
    needs = plan.closing
    data = tx.data(appeal, operator)
    ensure_allowed(
        needs, appeal, tx.actor(operator), data, tx.rt, tx.uow.appeals, "close appeal {}", appeal_id
    )
    route = plan.route
    final = next(p for p in route.processes if p.final)
    before = snapshot(appeal)
    appeal.process = final.code
    changes = changes_since(before, appeal)
    enter_process(tx, appeal, route, operator, changes=changes, comment=comment or "closed")
    return tx.kept(appeal)


def reopen(tx: Tx, appeal_id: int, login: str, reason: str) -> Appeal:
    """Reopen a closed appeal in the process it was closed from; queue administrators only."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.visible(appeal_id)
    if not reason.strip():
        raise ValidationError([Problem("reason", "reopening needs a reason")])
    ensure_allowed(
        _REOPENING,
        appeal,
        tx.actor(operator),
        {},
        tx.rt,
        tx.uow.appeals,
        "reopen appeal {}",
        appeal_id,
    )
    route = route_of(tx, appeal)
    # The process it was in before it last entered a final process.
    events = tx.uow.history.for_appeal(appeal_id)
    previous = route.initial
    for event in reversed(events):
        change = next((c for c in event.changes if c.field == "process"), None)
        if change is not None and change.old and not route.process(str(change.old)).final:
            previous = str(change.old)
            break
    before = snapshot(appeal)
    appeal.reopen(tx.now)
    appeal.process = previous
    if route.deadline is not None and appeal.deadline is not None and appeal.deadline < tx.now:
        appeal.deadline = None
    changes = changes_since(before, appeal)
    kind = HistoryKind.REOPENED
    enter_process(tx, appeal, route, operator, kind=kind, changes=changes, comment=reason)
    return tx.kept(appeal)


def change_deadlines(
    tx: Tx,
    appeal_id: int,
    login: str,
    *,
    deadline: datetime | _Unchanged | None = UNCHANGED,
    process_deadline: datetime | _Unchanged | None = UNCHANGED,
    reason: str,
) -> Appeal:
    """Set the appeal's and/or its process's deadline; administrators of its queue only."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.visible(appeal_id)
    if not reason.strip():
        raise ValidationError([Problem("reason", "a deadline change needs a reason")])
    ensure_allowed(
        _ADMINISTERING,
        appeal,
        tx.actor(operator),
        {},
        tx.rt,
        tx.uow.appeals,
        "change deadlines of appeal {}",
        appeal_id,
    )
    before = snapshot(appeal)
    if not isinstance(deadline, _Unchanged):
        appeal.deadline = deadline
    if not isinstance(process_deadline, _Unchanged):
        appeal.process_deadline = process_deadline
    tx.save(appeal)
    tx.record(appeal, HistoryKind.DEADLINE_CHANGED, before, operator=login, comment=reason)
    return tx.kept(appeal)
