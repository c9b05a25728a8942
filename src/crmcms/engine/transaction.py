"""One engine action in progress: its unit of work, clock reading, caches and history events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pluggy

from crmcms.engine.context import rule_data
from crmcms.engine.history import blank_snapshot, diff, snapshot
from crmcms.engine.notifications import Notification
from crmcms.engine.policy import AttributePolicy
from crmcms.engine.ports import UnitOfWork, UnitOfWorkFactory
from crmcms.engine.rules import RuleBook
from crmcms.engine.validation import ValueChecker
from crmcms.errors import (
    ConcurrencyError,
    CrmcmsError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
)
from crmcms.model import Appeal, Catalog, Contact, HistoryEvent, HistoryKind, Operator, Route

__all__ = ["Runtime", "Tx"]

log = logging.getLogger("crmcms.engine")


class Runtime:
    """What every action shares: definitions, compiled rules, policy, plugins, storage, clock."""

    def __init__(
        self,
        catalog: Catalog,
        uow_factory: UnitOfWorkFactory,
        plugins: pluggy.PluginManager,
        rules: RuleBook,
        clock: Callable[[], datetime],
    ) -> None:
        self.catalog = catalog
        self.uow_factory = uow_factory
        self.plugins = plugins
        self.rules = rules
        self.clock = clock
        self.policy = AttributePolicy(catalog, rules)
        self.values = ValueChecker(catalog, rules, self.external_items)
        self._routes: dict[tuple[str, int], Route] = {}

    def route(self, code: str, version: int) -> Route:
        """Route ``code`` at ``version``, looked up once."""
        found = self._routes.get((code, version))
        if found is None:
            found = self._routes[(code, version)] = self.catalog.route(code, version)
        return found

    def hook(self, name: str, **kwargs: Any) -> Any:
        """Call hook ``name``; a plugin's exception becomes :class:`PluginError`."""
        try:
            return getattr(self.plugins.hook, name)(**kwargs)
        except CrmcmsError:
            raise
        except Exception as exc:
            raise PluginError("<plugin>", name, f"{type(exc).__name__}: {exc}") from exc

    def external_items(
        self, dictionary: str, params: Mapping[str, Any]
    ) -> Sequence[tuple[str, str]] | None:
        items: Sequence[tuple[str, str]] | None = self.hook(
            "crmcms_external_dictionary_items", dictionary=dictionary, params=params
        )
        return items

    def publish(self, events: Sequence[HistoryEvent]) -> None:
        """Tell observers about stored events. The change is already committed, so an
        observer's failure is logged rather than raised."""
        for event in events:
            try:
                self.plugins.hook.crmcms_event(event=event)
            except Exception:
                log.exception("crmcms_event observer failed on history event %s", event.id)


class Tx:
    """An action's transaction: read, change and record through it, then :meth:`finish`."""

    def __init__(self, runtime: Runtime, uow: UnitOfWork, now: datetime | None = None) -> None:
        self.rt = runtime
        self.catalog = runtime.catalog
        self.uow = uow
        self.now = now if now is not None else runtime.clock()
        self.events: list[HistoryEvent] = []
        self._contacts: dict[int, Contact] = {}
        self._clients: dict[int, Any] = {}

    # --- Reading ----------------------------------------------------------------------------

    def operator(self, login: str | None) -> Operator | None:
        """The acting operator (``None`` is the system); unknown or inactive ones are refused."""
        if login is None:
            return None
        operator = self.catalog.operator(login)
        if not operator.active:
            raise PermissionDeniedError(login, "act", "the operator is inactive")
        return operator

    def appeal(self, appeal_id: int, expected_version: int | None = None) -> Appeal:
        appeal = self.uow.appeals.get(appeal_id)
        if expected_version is not None and appeal.version != expected_version:
            raise ConcurrencyError("appeal", appeal_id, expected_version, appeal.version)
        return appeal

    def contact(self, contact_id: int) -> Contact:
        found = self._contacts.get(contact_id)
        if found is None:
            found = self._contacts[contact_id] = self.uow.contacts.get(contact_id)
        return found

    def client(self, client_id: int | None) -> Any:
        """The client as the directory plugin (billing) describes it, or ``None``."""
        if client_id is None:
            return None
        if client_id not in self._clients:
            found = self.rt.hook("crmcms_find_client", client_id=str(client_id))
            if found is None:
                raise NotFoundError("client", client_id, hint="no client directory knows it")
            self._clients[client_id] = found
        return self._clients[client_id]

    def data(self, appeal: Appeal, operator: Operator | None = None) -> dict[str, Any]:
        """What rules see for ``appeal`` acted on by ``operator``."""
        contact = self.contact(appeal.contact_id)
        return rule_data(
            self.catalog,
            appeal,
            contact=contact,
            client=self.client(contact.client_id),
            operator=operator,
        )

    # --- Writing ----------------------------------------------------------------------------

    def record(
        self,
        appeal: Appeal,
        kind: HistoryKind,
        before: dict[str, Any] | None,
        *,
        operator: str | None,
        transition: str | None = None,
        comment: str = "",
    ) -> HistoryEvent:
        """Append a history event with the changes since ``before`` (everything if ``None``)."""
        after = snapshot(appeal)
        if before is None:
            before = blank_snapshot()
        event = HistoryEvent(
            id=self.uow.history.next_id(),
            appeal_id=appeal.id,
            kind=kind,
            at=self.now,
            operator=operator,
            process=appeal.process,
            queue=appeal.queue,
            transition=transition,
            changes=diff(before, after),
            comment=comment,
        )
        self.uow.history.add(event)
        self.events.append(event)
        return event

    def notify(self, notification: Notification) -> None:
        """Deliver now, inside the transaction: a delivery failure undoes the action."""
        self.rt.hook("crmcms_notify", notification=notification)

    def commit(self) -> None:
        self.uow.commit()
        events, self.events = self.events, []
        self.rt.publish(events)
