"""Test doubles for the engine: a client directory, a notification inbox and a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pluggy

from crmcms.engine import Engine, Notification
from crmcms.engine.context import party_data
from crmcms.errors import DeliveryError
from crmcms.model import Catalog, Client, ContactPerson, HistoryEvent, Prospect, Subscriber
from crmcms.plugins import hookimpl, make_plugin_manager
from crmcms.storage.files import MemoryFileStore
from crmcms.storage.memory import MemoryStore
from crmcms.storage.memory_reports import MemoryReports

__all__ = ["FakeBilling", "ManualClock", "in_memory_engine", "make_engine"]


class ManualClock:
    """A clock that stands still until moved: ``clock.advance(hours=2)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class FakeBilling:
    """A plugin standing in for billing: clients, external dictionaries, business functions;
    it keeps every notification and history event it is given.

    It makes clients of prospects (``crmcms_export_prospect``) as billing should: once per
    idempotency key, the same client for a key seen before. ``export_failures`` are raised
    one by one before exporting (billing down, or refusing); ``after_export`` is called once
    the client is made, before answering (raise there to lose the answer).
    """

    def __init__(
        self,
        clients: Iterable[Client] = (),
        *,
        dictionaries: Mapping[str, Iterable[tuple[str, str]]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        actions: Mapping[str, Callable[..., Any]] | None = None,
        subscribers: Iterable[Subscriber] = (),
        contact_persons: Iterable[ContactPerson] = (),
    ) -> None:
        self.clients = {str(c.id): c for c in clients}
        self.subscribers = {str(s.id): s for s in subscribers}
        self.contact_persons = {str(p.id): p for p in contact_persons}
        self.dictionaries = {k: list(v) for k, v in (dictionaries or {}).items()}
        self.functions = dict(functions or {})
        self.actions = dict(actions or {})
        self.notifications: list[Notification] = []
        self.events: list[HistoryEvent] = []
        self.exports: dict[str, int] = {}
        """The client made for each idempotency key."""
        self.created: list[tuple[int, int]] = []
        """``(prospect id, client id)`` of every client made, in order."""
        self.export_failures: list[BaseException] = []
        self.after_export: Callable[[Prospect, int], None] | None = None

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        c = self.clients.get(client_id)
        return None if c is None else party_data("Client", c)

    @hookimpl
    def crmcms_find_subscriber(self, subscriber_id: str) -> Mapping[str, Any] | None:
        s = self.subscribers.get(subscriber_id)
        return None if s is None else party_data("Subscriber", s)

    @hookimpl
    def crmcms_find_contact_person(self, contact_person_id: str) -> Mapping[str, Any] | None:
        p = self.contact_persons.get(contact_person_id)
        return None if p is None else party_data("ContactPerson", p)

    @hookimpl
    def crmcms_external_dictionary_items(
        self, dictionary: str, params: Mapping[str, Any]
    ) -> list[tuple[str, str]] | None:
        return self.dictionaries.get(dictionary)

    @hookimpl
    def crmcms_business_functions(self) -> Mapping[str, Any]:
        return self.functions

    @hookimpl
    def crmcms_handler_actions(self) -> Mapping[str, Any]:
        return self.actions

    @hookimpl
    def crmcms_export_prospect(self, prospect: Prospect, idempotency_key: str) -> int:
        client_id = self.exports.get(idempotency_key)
        if self.export_failures:
            failure = self.export_failures.pop(0)
            # A refusal is billing's answer to a new request: a key it has answered before
            # gets that answer again, whatever else fails on the way there.
            replayed = isinstance(failure, DeliveryError) and failure.permanent
            if not (replayed and client_id is not None):
                raise failure
        if client_id is None:
            client_id = max((int(k) for k in self.clients), default=0) + 1
            self.clients[str(client_id)] = Client(
                client_id, prospect.name, prospect.category, prospect.region
            )
            self.exports[idempotency_key] = client_id
            self.created.append((prospect.id, client_id))
        if self.after_export is not None:
            self.after_export(prospect, client_id)
        return client_id

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        self.notifications.append(notification)

    @hookimpl
    def crmcms_event(self, event: HistoryEvent) -> None:
        self.events.append(event)


def in_memory_engine(
    catalog: Catalog,
    *,
    plugins: pluggy.PluginManager | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Engine:
    """An engine on a fresh in-memory store (the installed plugins unless ``plugins`` is
    given, the wall clock unless ``clock`` is) that delivers each action's notifications
    right after it commits, so a test sees them as soon as the action returns; attached
    files are kept in memory, and reports are worked out over the store."""
    store = MemoryStore()
    if clock is None:
        return Engine(
            catalog,
            store.unit_of_work,
            plugins=plugins,
            deliver_after_commit=True,
            trust_logins=True,
            file_store=MemoryFileStore(),
            reports=MemoryReports(store, catalog),
        )
    return Engine(
        catalog,
        store.unit_of_work,
        plugins=plugins,
        clock=clock,
        deliver_after_commit=True,
        trust_logins=True,
        file_store=MemoryFileStore(),
        reports=MemoryReports(store, catalog),
    )


def make_engine(
    catalog: Catalog, billing: FakeBilling | None = None, clock: ManualClock | None = None
) -> tuple[Engine, FakeBilling, ManualClock]:
    """An in-memory engine wired to ``billing`` and ``clock`` (fresh ones if not given)."""
    billing = billing or FakeBilling()
    clock = clock or ManualClock()
    plugins = make_plugin_manager([billing], load_entry_points=False)
    return in_memory_engine(catalog, plugins=plugins, clock=clock), billing, clock
