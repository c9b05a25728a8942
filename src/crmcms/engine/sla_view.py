"""The SLA view: appeals overdue and at risk, counted by the storage query."""

from __future__ import annotations

from datetime import datetime, timedelta

from crmcms.engine.ports import UnitOfWork
from crmcms.model import SlaView

__all__ = ["sla_view"]


def sla_view(
    uow: UnitOfWork, now: datetime, within: timedelta, queue: str | None = None, limit: int = 50
) -> SlaView:
    """Open appeals whose earliest running clock is past due at ``now`` (overdue) or due
    within ``within`` (at risk), by queue, operator and topic, and the ``limit`` earliest."""
    horizon = now + within
    rows = uow.clocks.sla_counts(now, horizon, queue)
    appeals = uow.clocks.sla_appeals(now, horizon, queue, limit)
    return SlaView(now, within, tuple(rows), tuple(appeals))
