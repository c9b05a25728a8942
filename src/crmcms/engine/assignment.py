"""Who works on an appeal: an operator takes it from its queue, an administrator assigns it."""

from __future__ import annotations

from crmcms.engine.history import snapshot
from crmcms.engine.obstacles import Requirements, ensure_allowed, find_obstacles
from crmcms.engine.transaction import Tx
from crmcms.errors import Problem, ValidationError, WorkflowError
from crmcms.model import Appeal, HistoryKind, Permission

__all__ = ["assign", "take"]

_TAKE = Requirements(permission=Permission.TAKE, work=True)
_ASSIGN = Requirements(permission=Permission.ASSIGN, administer=True)
_ASSIGNEE = Requirements(state=None, work=True)


def take(tx: Tx, appeal_id: int, login: str) -> Appeal:
    """The operator takes the appeal from its queue and becomes its responsible."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.visible(appeal_id)
    ensure_allowed(
        _TAKE, appeal, tx.actor(operator), {}, tx.rt, tx.uow.appeals, "take appeal {}", appeal_id
    )
    if appeal.responsible == login:
        raise WorkflowError(f"appeal {appeal_id} is already {login}'s")
    before = snapshot(appeal)
    appeal.responsible = login
    tx.save(appeal)
    tx.record(appeal, HistoryKind.ASSIGNED, before, operator=login, comment="taken from queue")
    return tx.kept(appeal)


def assign(tx: Tx, appeal_id: int, login: str, assignee: str, comment: str = "") -> Appeal:
    """A queue administrator makes ``assignee`` (a member of the queue) responsible."""
    operator = tx.operator(login)
    assert operator is not None
    appeal = tx.visible(appeal_id)
    ensure_allowed(
        _ASSIGN,
        appeal,
        tx.actor(operator),
        {},
        tx.rt,
        tx.uow.appeals,
        "assign appeal {}",
        appeal_id,
    )
    target = tx.operator(assignee)
    assert target is not None
    # Who is assigned is input: the caller named someone who may not work on it.
    found = find_obstacles(_ASSIGNEE, appeal, tx.actor(target), {}, tx.rt, tx.uow.appeals)
    if found:
        problems = [Problem("assignee", o.message) for o in found]
        raise ValidationError(problems, subject=f"appeal {appeal_id}")
    before = snapshot(appeal)
    appeal.responsible = assignee
    tx.save(appeal)
    tx.record(appeal, HistoryKind.ASSIGNED, before, operator=login, comment=comment or "assigned")
    return tx.kept(appeal)
