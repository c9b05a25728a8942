"""SLA clocks, stored deadlines worked out again, the SLA view and the SLA monitor's scan."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from crmcms.engine import sla
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.clock_store import clocks_now, recompute_appeal
from crmcms.engine.sla import SlaScan
from crmcms.engine.sla_view import sla_view
from crmcms.engine.transaction import Tx
from crmcms.errors import ConcurrencyError
from crmcms.model import Permission, SlaAttempt, SlaClock, SlaView

__all__ = ["SlaDesk"]

T = TypeVar("T")

log = logging.getLogger("crmcms.sla")


class SlaDesk(ActionRunner):
    """The engine's SLA reads and the monitor's work, in transactions of their own."""

    def sla_clocks(
        self, appeal_id: int, *, now: datetime | None = None, operator: Acting | None = None
    ) -> tuple[SlaClock, ...]:
        """The appeal's SLA clocks as of ``now`` (first response, resolution, processes),
        worked out from its history: elapsed and remaining are those of this moment."""
        return self.run(
            lambda tx: clocks_now(tx.uow, tx.catalog, tx.visible(appeal_id), tx.now),
            now=now,
            principal=self.principal(operator),
        )

    def recompute_deadlines(
        self,
        *,
        batch: int = 500,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Work out every open appeal's clocks again from its history and store them, ``batch``
        appeals per transaction; returns how many appeals' clocks changed.

        Call it after loading definitions that change deadlines, priorities' limits or
        calendars: stored due times (what the monitor searches) follow at once. ``progress``
        is told how many appeals each committed batch worked out.
        """
        changed, after = 0, 0

        def step(tx: Tx, after: int) -> tuple[int, list[int]]:
            ids = tx.uow.clocks.open_appeal_ids(after, batch)
            count = 0
            for appeal_id in ids:
                appeal = tx.appeal(appeal_id)
                found = recompute_appeal(tx.uow, tx.catalog, appeal, tx.now)
                if found.moved:
                    tx.reschedule(appeal, found.moved)
                count += found.changed or bool(found.moved)
            return count, ids

        while True:
            count, ids = self._retried(functools.partial(step, after=after), now)
            changed += count
            if not ids:
                return changed
            if progress is not None:
                progress(len(ids))
            after = ids[-1]

    def _retried(self, action: Callable[[Tx], T], now: datetime | None, tries: int = 3) -> T:
        """Run ``action``, again when an operator's action saved one of its appeals first."""
        for _ in range(tries - 1):
            try:
                return self.run(action, now=now)
            except ConcurrencyError:
                continue
        return self.run(action, now=now)

    def sla_view(
        self,
        *,
        within: timedelta = timedelta(hours=2),
        queue: str | None = None,
        limit: int = 50,
        now: datetime | None = None,
        operator: Acting | None = None,
    ) -> SlaView:
        """Open appeals overdue and at risk (a running clock due within ``within``), by queue,
        operator and topic, and the ``limit`` due first; counted by the storage query.
        Operators need the ``report`` and ``read_all`` permissions."""
        who = self.principal(operator)
        self._require(who, Permission.REPORT, "see the SLA view")
        self._require(who, Permission.READ_ALL, "see the SLA view of every queue")
        return self.run(lambda tx: sla_view(tx.uow, tx.now, within, queue, limit), now=now)

    def scan_deadlines(self, now: datetime | None = None, *, batch: int = 200) -> SlaScan:
        """The SLA monitor: fire every escalation level due now, each level of each clock
        cycle once, one appeal per transaction; what ``crmcms worker`` calls.

        Due clocks are found through the stored clocks' next escalation time (an index);
        several monitors may run at once: a level another one fired meanwhile is skipped.
        A level that fails is rolled back, logged, recorded and tried again later
        (:attr:`sla_retry`) while the scan goes on with the other appeals; the scan
        returns what fired, with the failures in ``failures``.
        """
        found = SlaScan()
        while True:
            due = self.run(functools.partial(sla.due_clocks, limit=batch), now=now)
            done = 0
            for appeal_id in due:
                try:
                    fired = self.run(functools.partial(sla.fire_due, appeal_id=appeal_id), now=now)
                except ConcurrencyError:
                    continue  # another monitor fired it first
                except sla.LevelFailed as exc:
                    failure = self._record_failure(exc, now)
                    if failure is not None:
                        found.failures.append(failure)
                        done += 1
                    continue
                except Exception as exc:
                    # Not a level's own failure (the appeal's route, say): the appeal as a
                    # whole backs off and is given up like a level.
                    appeal_failure = self._record_appeal_failure(appeal_id, exc, now)
                    if appeal_failure is not None:
                        found.failures.append(appeal_failure)
                        done += 1
                    continue
                found += fired
                done += 1
            if len(due) < batch or done == 0:
                return found

    def _record_failure(
        self, failed: sla.LevelFailed, now: datetime | None
    ) -> sla.SlaFailure | None:
        record = functools.partial(sla.record_failure, failed=failed, retry=self.sla_retry)
        try:
            failure = self.run(record, now=now)
        except ConcurrencyError:
            return None  # another monitor recorded or fired it meanwhile
        log.warning(
            "SLA monitor: appeal %s, %s level %s (cycle %s) failed, attempt %s, %s: %s",
            failed.appeal_id,
            failed.clock,
            failed.level + 1,
            failed.cycle,
            failure.attempts,
            "given up" if failure.gave_up else f"retry at {failure.retry_at}",
            failed.error,
            exc_info=failed.__cause__,
        )
        return failure

    def _record_appeal_failure(
        self, appeal_id: int, exc: Exception, now: datetime | None
    ) -> sla.SlaFailure | None:
        error = f"{type(exc).__name__}: {exc}"
        record = functools.partial(
            sla.record_appeal_failure, appeal_id=appeal_id, error=error, retry=self.sla_retry
        )
        try:
            failure = self.run(record, now=now)
        except ConcurrencyError:
            return None  # another monitor recorded it meanwhile
        log.error(
            "SLA monitor: appeal %s failed before any level, attempt %s, %s: %s",
            appeal_id,
            failure.attempts,
            "given up" if failure.gave_up else f"retry at {failure.retry_at}",
            error,
            exc_info=exc,
        )
        return failure

    def escalation_attempts(
        self, appeal_id: int, *, operator: Acting | None = None
    ) -> list[SlaAttempt]:
        """The appeal's escalation levels that failed while firing: attempts, last error,
        next retry (``None`` once given up)."""

        def act(tx: Tx) -> list[SlaAttempt]:
            tx.visible(appeal_id)
            return tx.uow.clocks.attempts(appeal_id)

        return self.run(act, principal=self.principal(operator))
