"""Listing and running reports for an operator with the ``report`` permission."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.obstacles import read_scope
from crmcms.engine.reports import report_period
from crmcms.export import ReportTable
from crmcms.model import Permission, ReportDefinition

__all__ = ["ReportDesk"]


class ReportDesk(ActionRunner):
    """The engine's report actions, run by :attr:`reporting`."""

    def report_definitions(self, *, operator: Acting | None = None) -> list[ReportDefinition]:
        """Every report that may be run: the built-in ones, the definition files' and the
        plugins'. Operators need the ``report`` permission."""
        self._require(self.principal(operator), Permission.REPORT, "list reports")
        return list(self.reporting.definitions().values())

    def report(
        self,
        code: str,
        *,
        start: date | datetime,
        end: date | datetime,
        timezone: str = "UTC",
        operator: Acting | None = None,
        filter: str | None = None,
        by: Sequence[str] | None = None,
        bucket: str | None = None,
        archived: bool = False,
        repeat_days: int | None = None,
    ) -> ReportTable:
        """Report ``code`` over ``start`` to ``end`` (dates: whole days in ``timezone``, the
        end day included; datetimes: the end excluded), computed by the database.

        ``filter`` is a rule narrowing the appeals, ``by`` dimensions replacing the report's
        rows (``topic``, ``queue``, ``attribute:166``, ...), ``bucket`` the period's cut
        (hour, day, week, month), ``archived`` adds the archive, ``repeat_days`` the repeat
        window. Operators need the ``report`` permission, and the report counts only the
        appeals they may read. Its rows stream from the database as the table is written.
        """
        who = self.principal(operator)
        self._require(who, Permission.REPORT, f"run report {code}")
        query, texts = self.reporting.query(
            code,
            report_period(start, end, timezone),
            scope=read_scope(who, self.runtime.queues),
            filter=filter,
            by=by,
            bucket=bucket,
            archived=archived,
            repeat_days=repeat_days,
        )
        return self.reporting.run(query, texts)
