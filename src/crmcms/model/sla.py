"""SLA clocks: how much of the time an appeal is allowed has run, and when it runs out."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

__all__ = ["ClockKind", "SlaAttempt", "SlaClock", "SlaView", "SlaViewItem", "SlaViewRow"]


class ClockKind(enum.Enum):
    FIRST_RESPONSE = "first_response"
    """From registration until an operator takes the appeal (the route's ``first response``)."""
    RESOLUTION = "resolution"
    """The whole appeal: from registration (or a reopening) until it is closed (the route's
    ``deadline``)."""
    PROCESS = "process"
    """One process: from entering it until leaving it (the process's ``deadline``)."""


@attrs.frozen(kw_only=True)
class SlaClock:
    """One clock of one appeal as of ``at``, worked out from the appeal's history.

    ``elapsed`` and ``remaining`` count the calendar's working time without the paused
    spans; ``due`` is ``None`` while the clock is paused (it moves by the paused working
    time once the clock runs again) or when nothing limits it. ``cycle`` counts starts:
    reopening an appeal starts its resolution clock's next cycle, entering a process again
    its process clock's.
    """

    appeal_id: int
    kind: ClockKind
    process: str = ""
    """The process of a process clock; empty for the others."""
    cycle: int = 1
    start: datetime
    limit: timedelta | None
    """The working time allowed; ``None`` when an administrator's override set ``due``."""
    due: datetime | None
    elapsed: timedelta
    remaining: timedelta | None
    paused_since: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    overridden: bool = False
    """An administrator set the due time (``change_deadlines``); recomputing keeps it."""
    at: datetime

    @property
    def key(self) -> str:
        """The clock's name within its appeal: ``resolution``, ``first_response`` or
        ``process:CODE``."""
        if self.kind is ClockKind.PROCESS:
            return f"process:{self.process}"
        return str(self.kind.value)

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    @property
    def breached(self) -> bool:
        return self.breached_at is not None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def running(self) -> bool:
        return not self.stopped and not self.paused


@attrs.frozen
class SlaViewRow:
    """How many open appeals of one queue, operator or topic are overdue or at risk."""

    dimension: str
    """``queue``, ``operator`` (the responsible) or ``topic``."""
    key: str | None
    """The queue, login or topic code; ``None`` for appeals with none (nobody took them)."""
    overdue: int
    at_risk: int


@attrs.frozen
class SlaViewItem:
    """One appeal overdue or at risk: its earliest running clock due by the horizon."""

    appeal_id: int
    clock: str
    due: datetime
    overdue: bool
    queue: str | None
    responsible: str | None
    topic: str


@attrs.frozen
class SlaView:
    """Appeals overdue (a running clock past its due time at ``at``) or at risk (due
    within ``within``), counted by queue, operator and topic, and the earliest of them."""

    at: datetime
    within: timedelta
    rows: tuple[SlaViewRow, ...]
    appeals: tuple[SlaViewItem, ...]


@attrs.frozen
class SlaAttempt:
    """An escalation level that failed while firing: how often, why, and when it is tried
    again (``None`` once given up, when it counts as fired and the ladder goes on)."""

    appeal_id: int
    clock: str
    cycle: int
    level: int
    """The level's position in its ladder, from 0."""
    attempts: int
    error: str
    """The last failure, as ``ExceptionType: message``."""
    failed_at: datetime
    retry_at: datetime | None

    @property
    def gave_up(self) -> bool:
        return self.retry_at is None
