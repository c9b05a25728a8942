"""Administration of single appeals: close, reopen and change deadlines."""

from __future__ import annotations

from datetime import datetime

from crmcms.engine.history import changes_since, snapshot
from crmcms.engine.queues import can_work, is_administrator
from crmcms.engine.routing import enter_process, route_of
from crmcms.engine.transaction import Tx
from crmcms.errors import PermissionDeniedError, Problem, ValidationError, WorkflowError
from crmcms.model import Appeal, HistoryKind

__all__ = ["UNCHANGED", "change_deadlines", "close", "reopen"]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()
"""Leave this deadline as it is (``None`` removes a deadline)."""


def close(tx: Tx, appeal_id: int, login: str, comment: str = "") -> Appeal:
    """Close the appeal by moving it to its route's first final process.

    Its responsible, a member or an administrator of its queue may; required attributes of
    the current process must be filled and, unless the route allows it, no child open.
    """
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.appeal(appeal_id)
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is already closed")
    why = can_work(operator, appeal, tx.catalog)
    if why is not None:
        raise PermissionDeniedError(login, f"close appeal {appeal_id}", why)
    route = route_of(tx, appeal)
    problems = tx.rt.policy.missing_required(appeal, tx.data(appeal, operator))
    if problems:
        raise ValidationError(problems, subject=f"appeal {appeal_id} cannot be closed")
    if not route.close_with_open_children:
        open_kids = [c.id for c in tx.uow.appeals.children(appeal_id) if c.is_open]
        if open_kids:
            raise WorkflowError(
                f"appeal {appeal_id} has open child appeals: {', '.join(map(str, open_kids))}"
            )
    final = next(p for p in route.processes if p.final)
    before = snapshot(appeal)
    appeal.process = final.code
    changes = changes_since(before, appeal)
    enter_process(tx, appeal, route, operator, changes=changes, comment=comment or "closed")
    return appeal


def reopen(tx: Tx, appeal_id: int, login: str, reason: str) -> Appeal:
    """Reopen a closed appeal in the process it was closed from; queue administrators only."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.appeal(appeal_id)
    if not reason.strip():
        raise ValidationError([Problem("reason", "reopening needs a reason")])
    if not is_administrator(operator, appeal.queue, tx.catalog):
        raise PermissionDeniedError(
            login, f"reopen appeal {appeal_id}", f"not an administrator of queue {appeal.queue}"
        )
    if appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is open, nothing to reopen")
    parent_id = appeal.parent_id
    if parent_id is not None:
        # A parent may only be closed with open children when its route says so: the same
        # holds for a child reopened under it.
        parent = tx.appeal(parent_id)
        if not parent.is_open and not route_of(tx, parent).close_with_open_children:
            raise WorkflowError(
                f"appeal {appeal_id} is a child of appeal {parent_id}, which is closed and "
                "may not have open children: reopen the parent first"
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
    return appeal


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
    appeal = tx.appeal(appeal_id)
    if not is_administrator(operator, appeal.queue, tx.catalog):
        raise PermissionDeniedError(
            login,
            f"change deadlines of appeal {appeal_id}",
            f"not an administrator of queue {appeal.queue}",
        )
    if not reason.strip():
        raise ValidationError([Problem("reason", "a deadline change needs a reason")])
    if not appeal.is_open:
        raise WorkflowError(f"appeal {appeal_id} is closed")
    before = snapshot(appeal)
    if not isinstance(deadline, _Unchanged):
        appeal.deadline = deadline
    if not isinstance(process_deadline, _Unchanged):
        appeal.process_deadline = process_deadline
    tx.uow.appeals.update(appeal)
    tx.record(appeal, HistoryKind.DEADLINE_CHANGED, before, operator=login, comment=reason)
    return appeal
