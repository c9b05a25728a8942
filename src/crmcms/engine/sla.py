"""SLA monitoring: find appeals whose deadlines are at risk or broken and escalate them once."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from crmcms.engine.handlers import handlers_for, run_handlers
from crmcms.engine.history import snapshot
from crmcms.engine.notifications import Notification, NotificationKind, recipients
from crmcms.engine.routing import route_of
from crmcms.engine.transaction import Tx
from crmcms.model import Appeal, Deadline, HandlerEvent, HistoryKind

__all__ = ["SlaFinding", "SlaLevel", "scan"]


class SlaLevel(enum.Enum):
    AT_RISK = "at_risk"
    """Within the deadline's ``warn_before`` of running out."""
    OVERDUE = "overdue"


@attrs.frozen
class SlaFinding:
    """One deadline of one appeal that needs attention, and whether this scan raised it."""

    appeal_id: int
    scope: str
    """``appeal`` (the route's deadline) or ``process`` (the current process's)."""
    level: SlaLevel
    due: datetime
    notified: bool
    """False when an earlier scan already raised it for this deadline."""


def _horizon(tx: Tx) -> timedelta:
    warns = [timedelta(0)]
    for route in tx.catalog.routes:
        for d in (route.deadline, *(p.deadline for p in route.processes)):
            if d is not None and d.warn_before is not None:
                warns.append(d.warn_before)
    return max(warns)


def _already(tx: Tx, appeal: Appeal, kind: HistoryKind, scope: str, due: datetime) -> bool:
    tag = f"{scope} deadline {due.isoformat()}"
    return any(
        e.kind is kind and e.comment.startswith(tag) for e in tx.uow.history.for_appeal(appeal.id)
    )


def scan(tx: Tx) -> list[SlaFinding]:
    """Check every open appeal due within the longest warning period of ``tx.now``.

    A broken deadline is escalated to its ``escalate_to`` (and its ``notify``), a deadline
    at risk warned to ``notify``; each deadline once: the history event recorded with it is
    what later scans check. ``DEADLINE_WARNING`` / ``DEADLINE_BROKEN`` handlers of the
    process and the route run too.
    """
    findings: list[SlaFinding] = []
    for appeal in tx.uow.appeals.due_before(tx.now + _horizon(tx)):
        route = route_of(tx, appeal)
        step = route.process(appeal.process)
        for scope, due, rule in (
            ("appeal", appeal.deadline, route.deadline),
            ("process", appeal.process_deadline, step.deadline),
        ):
            if due is None:
                continue
            finding = _check(tx, appeal, scope, due, rule)
            if finding is not None:
                findings.append(finding)
    return findings


def _check(
    tx: Tx, appeal: Appeal, scope: str, due: datetime, rule: Deadline | None
) -> SlaFinding | None:
    if tx.now >= due:
        level, kind, event = (
            SlaLevel.OVERDUE,
            HistoryKind.DEADLINE_BROKEN,
            HandlerEvent.DEADLINE_BROKEN,
        )
    elif rule is not None and rule.warn_before is not None and tx.now >= due - rule.warn_before:
        level, kind, event = (
            SlaLevel.AT_RISK,
            HistoryKind.DEADLINE_WARNING,
            HandlerEvent.DEADLINE_WARNING,
        )
    else:
        return None
    if _already(tx, appeal, kind, scope, due):
        return SlaFinding(appeal.id, scope, level, due, notified=False)
    targets: tuple[str, ...] = ()
    if rule is not None:
        targets = rule.notify + (rule.escalate_to if level is SlaLevel.OVERDUE else ())
    if targets:
        word = "broken" if level is SlaLevel.OVERDUE else "at risk"
        tx.notify(
            Notification(
                NotificationKind.ESCALATION
                if level is SlaLevel.OVERDUE
                else NotificationKind.DEADLINE_WARNING,
                appeal.id,
                targets,
                recipients(tx.catalog, targets),
                f"Appeal {appeal.id}: {scope} deadline {word} ({due.isoformat()})",
            )
        )
    route = route_of(tx, appeal)
    own = route.process(appeal.process).handlers if scope == "process" else ()
    run_handlers(tx, appeal, event, handlers_for(event, own, route), tx.data(appeal), operator=None)
    tx.record(
        appeal,
        kind,
        snapshot(appeal),
        operator=None,
        comment=f"{scope} deadline {due.isoformat()} {level.value}",
    )
    return SlaFinding(appeal.id, scope, level, due, notified=True)
