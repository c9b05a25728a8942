"""What handlers may use of the action running them: its time, definitions, rules, events, mail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from crmcms.engine.notifications import Notification
from crmcms.engine.rules import RuleBook
from crmcms.model import Appeal, Catalog, Change, HistoryEvent, HistoryKind, Operator

__all__ = ["ActionScope"]


class ActionScope(Protocol):
    """The narrow view of an action in progress that handlers work through (the engine's
    :class:`~crmcms.engine.transaction.Tx` is one; a test can pass a few lines of its own)."""

    @property
    def now(self) -> datetime:
        """The action's time."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def rules(self) -> RuleBook:
        """The catalog's compiled rules and expressions."""

    def data(
        self, appeal: Appeal, operator: Operator | None = None, live: bool = False
    ) -> Mapping[str, Any]:
        """What rules see for ``appeal`` acted on by ``operator``."""

    def event(
        self,
        appeal: Appeal,
        kind: HistoryKind,
        changes: Sequence[Change],
        operator: str | None,
        transition: str | None = None,
        comment: str = "",
        reason: str = "",
    ) -> HistoryEvent:
        """Record a history event of the action."""

    def notify(self, notification: Notification) -> None:
        """Hand a notification over for delivery, as part of the action."""

    def hook(self, name: str, **kwargs: Any) -> Any:
        """Call plugin hook ``name`` (plugin actions and business functions are found so)."""
