"""The SLA monitor: fire the escalation levels that are due, each level of each clock once."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from crmcms.dsl.rules.unparse import quote
from crmcms.engine.clock_store import (
    clocks_now,
    recompute_appeal,
    timelines_of,
    waits_of,
    working_timeline,
)
from crmcms.engine.escalations import due_levels
from crmcms.engine.handlers import handlers_for, run_handlers
from crmcms.engine.history import snapshot
from crmcms.engine.notifications import Notification, NotificationKind, recipients
from crmcms.engine.routing import route_of
from crmcms.engine.transaction import Tx
from crmcms.errors import CrmcmsError
from crmcms.model import (
    Appeal,
    ClockKind,
    EscalationAction,
    EscalationLevel,
    Handler,
    HandlerEvent,
    HistoryKind,
    LevelAction,
    SlaAttempt,
    SlaClock,
)

__all__ = [
    "LevelFailed",
    "SlaFailure",
    "SlaFinding",
    "SlaLevel",
    "SlaRetry",
    "SlaScan",
    "due_clocks",
    "fire_due",
    "record_failure",
]


class SlaLevel(enum.Enum):
    AT_RISK = "at_risk"
    """A level before the due time (a warning)."""
    OVERDUE = "overdue"
    """A level at or after the due time (an escalation)."""


_SCOPES = {
    ClockKind.RESOLUTION: "appeal",
    ClockKind.PROCESS: "process",
    ClockKind.FIRST_RESPONSE: "first_response",
}


@attrs.frozen
class SlaFinding:
    """One escalation level fired on one clock of one appeal."""

    appeal_id: int
    scope: str
    """``appeal`` (the resolution clock), ``process`` or ``first_response``."""
    level: SlaLevel
    due: datetime | None
    notified: bool
    """Whether the level told anybody (a level may only raise the priority, say)."""
    clock: str = ""
    step: int = 0
    """The level's position in its ladder, from 0."""


@attrs.frozen
class SlaFailure:
    """An escalation level that failed while firing, rolled back and recorded.

    ``step`` is ``-1`` (and ``clock`` empty) when the appeal failed before any level (its
    route is broken, a plugin raised): it backs off and gives up like a level, and once given
    up the monitor leaves the appeal alone until its clocks are worked out again (any action
    on it, or :meth:`~crmcms.engine.service.Engine.recompute_deadlines`)."""

    appeal_id: int
    clock: str
    cycle: int
    step: int
    error: str
    """``ExceptionType: message`` of what the level raised."""
    attempts: int
    retry_at: datetime | None
    """When a later scan tries it again; ``None`` once given up."""

    @property
    def gave_up(self) -> bool:
        return self.retry_at is None


class SlaScan(list[SlaFinding]):
    """What one scan fired (the list itself) and what failed (``failures``)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[SlaFailure] = []


@attrs.frozen
class SlaRetry:
    """How a failing level is tried again: after ``first``, then twice as long each time up
    to ``cap``; the ``give_up_after``-th failure gives it up (recorded, counted as fired)."""

    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)
    give_up_after: int = attrs.field(default=5, validator=attrs.validators.ge(1))

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure."""
        doubled: timedelta = self.first * 2 ** min(attempts - 1, 30)
        return min(doubled, self.cap)


class LevelFailed(CrmcmsError):
    """A level raised while firing (its transaction is rolled back); which one, and why."""

    def __init__(self, appeal_id: int, clock: str, cycle: int, level: int, cause: Exception):
        self.appeal_id, self.clock, self.cycle, self.level = appeal_id, clock, cycle, level
        self.error = f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"appeal {appeal_id}: level {level + 1} of {clock} (cycle {cycle}) failed: {self.error}"
        )


def _count_attempt(
    tx: Tx, appeal_id: int, key: tuple[str, int, int], error: str, retry: SlaRetry
) -> tuple[int, datetime | None]:
    """Record one more failed attempt of ``key`` (clock, cycle, level) of the appeal; how
    many there have been and when to try again (``None``: given up)."""
    earlier = [a for a in tx.uow.clocks.attempts(appeal_id) if (a.clock, a.cycle, a.level) == key]
    count = (earlier[0].attempts if earlier else 0) + 1
    retry_at = None if count >= retry.give_up_after else tx.now + retry.delay(count)
    tx.uow.clocks.record_attempt(SlaAttempt(appeal_id, *key, count, error, tx.now, retry_at))
    return count, retry_at


def record_failure(tx: Tx, failed: LevelFailed, retry: SlaRetry) -> SlaFailure:
    """Count the failure and move the clock's next escalation to its retry; the last
    attempt allowed gives the level up: recorded as fired, so the ladder goes on."""
    key = (failed.clock, failed.cycle, failed.level)
    count, retry_at = _count_attempt(tx, failed.appeal_id, key, failed.error, retry)
    if retry_at is None:
        tx.uow.clocks.fire(failed.appeal_id, *key, tx.now)
    recompute_appeal(tx.uow, tx.catalog, tx.appeal(failed.appeal_id), tx.now)
    return SlaFailure(failed.appeal_id, *key, failed.error, count, retry_at)


APPEAL_FAILURE = ("", 0, -1)
"""The (clock, cycle, level) an appeal's failure before any level is recorded under."""


def record_appeal_failure(tx: Tx, appeal_id: int, error: str, retry: SlaRetry) -> SlaFailure:
    """Count a failure of the appeal as a whole and move every one of its clocks' next
    escalation to the retry (none once given up), so that one broken appeal neither floods
    the log nor costs every scan its work. Stored, so several monitors agree."""
    count, retry_at = _count_attempt(tx, appeal_id, APPEAL_FAILURE, error, retry)
    clocks = tx.uow.clocks.for_appeal(appeal_id)
    tx.uow.clocks.put(appeal_id, clocks, [retry_at] * len(clocks))
    return SlaFailure(appeal_id, *APPEAL_FAILURE, error, count, retry_at)


def due_clocks(tx: Tx, limit: int) -> list[int]:
    """Appeals with an escalation level due at ``tx.now``, earliest first."""
    found = tx.uow.clocks.due_escalations(tx.now, limit)
    return list(dict.fromkeys(appeal_id for appeal_id, _ in found))


def fire_due(tx: Tx, appeal_id: int) -> list[SlaFinding]:
    """Fire every level due on the appeal's clocks now and not fired yet.

    Each level is recorded as fired (appeal, clock, cycle, level) in this transaction, with
    its history event and the notifications it sends: a second monitor firing the same
    level conflicts at commit and keeps nothing, and a crash before commit keeps nothing
    either, so the level fires again, once, on the next scan.
    """
    if not tx.uow.clocks.claim(appeal_id):
        return []  # another monitor is on it
    appeal = tx.appeal(appeal_id)
    if not appeal.is_open:
        return []
    route = route_of(tx, appeal)
    fired = tx.uow.clocks.fired(appeal_id)
    waits: Mapping[tuple[str, int, int], datetime] = waits_of(tx.uow.clocks.attempts(appeal_id))
    events = tx.uow.history.for_appeal(appeal_id)
    lines = timelines_of(tx.catalog, route, events)
    working = working_timeline(tx.catalog, route)
    findings = []
    for clock in clocks_now(tx.uow, tx.catalog, appeal, tx.now, events):
        for index, level in due_levels(route, clock, fired, lines, working, tx.now, waits):
            tx.uow.clocks.fire(appeal_id, clock.key, clock.cycle, index, tx.now)
            try:
                findings.append(_fire(tx, appeal, clock, index, level))
            except Exception as exc:
                raise LevelFailed(appeal_id, clock.key, clock.cycle, index, exc) from exc
    return findings


def _fire(
    tx: Tx, appeal: Appeal, clock: SlaClock, index: int, level: EscalationLevel
) -> SlaFinding:
    broken = level.breaks_deadline
    event = HandlerEvent.DEADLINE_BROKEN if broken else HandlerEvent.DEADLINE_WARNING
    kind = HistoryKind.DEADLINE_BROKEN if broken else HistoryKind.DEADLINE_WARNING
    scope = _SCOPES[clock.kind]
    due = clock.due.isoformat() if clock.due else "-"
    text = f"{scope} deadline {due} level {index + 1} ({clock.key}, cycle {clock.cycle})"
    before = snapshot(appeal)
    was = (appeal.priority, appeal.queue)
    notified = False
    for action in level.actions:
        notified = _act(tx, appeal, action, broken, text) or notified
    if (appeal.priority, appeal.queue) != was:
        tx.save(appeal)
    route = route_of(tx, appeal)
    own = route.process(appeal.process).handlers if clock.kind is ClockKind.PROCESS else ()
    run_handlers(tx, appeal, event, handlers_for(event, own, route), tx.data(appeal), operator=None)
    tx.record(appeal, kind, before, operator=None, comment=text)
    word = SlaLevel.OVERDUE if broken else SlaLevel.AT_RISK
    return SlaFinding(appeal.id, scope, word, clock.due, notified, clock.key, index)


def _act(tx: Tx, appeal: Appeal, action: EscalationAction, broken: bool, text: str) -> bool:
    if action.kind is LevelAction.NOTIFY:
        targets = _targets(tx, appeal, action.targets)
        if not targets:
            return False
        kind = NotificationKind.ESCALATION if broken else NotificationKind.DEADLINE_WARNING
        tx.notify(Notification(kind, appeal.id, targets, recipients(tx.catalog, targets), text))
        return True
    if action.kind is LevelAction.RAISE_PRIORITY:
        appeal.priority = action.value
    elif action.kind is LevelAction.MOVE_TO_QUEUE:
        appeal.queue = action.value
    else:
        event = HandlerEvent.DEADLINE_BROKEN if broken else HandlerEvent.DEADLINE_WARNING
        call = Handler(event, "call", {"function": quote(action.value)})
        run_handlers(tx, appeal, event, (call,), tx.data(appeal), operator=None)
    return False


def _targets(tx: Tx, appeal: Appeal, written: tuple[str, ...]) -> tuple[str, ...]:
    """Logins and mailing lists: ``responsible`` is the appeal's, ``role X`` its operators."""
    out: dict[str, None] = {}
    for target in written:
        if target == "responsible":
            if appeal.responsible:
                out[appeal.responsible] = None
        elif target.startswith("role "):
            role = target.removeprefix("role ")
            for operator in tx.catalog.operators:
                if role in operator.roles:
                    out[operator.login] = None
        else:
            out[target] = None
    return tuple(out)
