"""Moving, assigning and closing many appeals at once, each in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable

from crmcms.engine.action_runner import Acting
from crmcms.engine.appeal_desk import AppealDesk
from crmcms.engine.bulk import BulkResult, run_bulk
from crmcms.model import Permission, Principal

__all__ = ["BulkDesk"]


class BulkDesk(AppealDesk):
    """The engine's bulk actions: the ``bulk`` permission, then one action per appeal."""

    def bulk_transition(
        self, appeal_ids: Iterable[int], operator: Acting, transition: str
    ) -> BulkResult:
        ids, who = self._bulk(appeal_ids, operator, "move appeals in bulk")
        return run_bulk(ids, lambda i: self.transition(i, who, transition))

    def bulk_assign(self, appeal_ids: Iterable[int], operator: Acting, assignee: str) -> BulkResult:
        ids, who = self._bulk(appeal_ids, operator, "assign appeals in bulk")
        return run_bulk(ids, lambda i: self.assign(i, who, assignee))

    def bulk_close(
        self, appeal_ids: Iterable[int], operator: Acting, comment: str = ""
    ) -> BulkResult:
        ids, who = self._bulk(appeal_ids, operator, "close appeals in bulk")
        return run_bulk(ids, lambda i: self.close(i, who, comment=comment))

    def _bulk(
        self, appeal_ids: Iterable[int], operator: Acting, action: str
    ) -> tuple[list[int], Principal]:
        who, _ = self._acting(operator)
        self._require(who, Permission.BULK, action)
        ids = list(appeal_ids)
        self.limits.check(action, bulk=len(ids))
        return ids, who
