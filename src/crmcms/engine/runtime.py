"""The composition root: what every engine action shares (definitions, rules, plugins, storage)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import pluggy

from crmcms.engine.audit import audit_event_of
from crmcms.engine.context import AppealData
from crmcms.engine.event_outbox import (
    WEBHOOK_PREFIX,
    EventMessage,
    EventTargets,
    event_message_of,
)
from crmcms.engine.hooks import FastHook
from crmcms.engine.outbox import default_delivery_domain, notification_of
from crmcms.engine.plans import Plans
from crmcms.engine.policy import AttributePolicy
from crmcms.engine.ports import DictionaryQueries, UnitOfWorkFactory
from crmcms.engine.queues import QueueIndex
from crmcms.engine.relay import Relay, RelaySettings
from crmcms.engine.rules import RuleBook
from crmcms.engine.validation import ValueChecker
from crmcms.engine.webhook_store import WebhookStore
from crmcms.engine.webhooks import WebhookDeliverer
from crmcms.errors import CrmcmsError, DeliveryError, PluginError
from crmcms.model import (
    AUDIT,
    EVENT,
    NOTIFICATION,
    Catalog,
    DictionaryKind,
    HistoryEvent,
    OutboxMessage,
    Principal,
    Route,
    Webhook,
)

__all__ = ["Runtime"]

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
        *,
        relay: RelaySettings | None = None,
        deliver_after_commit: bool = False,
        delivery_domain: str | None = None,
        dictionary_queries: DictionaryQueries | None = None,
        publish_events_to: Collection[str] = (),
        webhook_store: WebhookStore | None = None,
        webhook_refresh: float = 5.0,
    ) -> None:
        self.catalog = catalog
        self.dictionary_queries = dictionary_queries
        """Runs the queries of query dictionaries no plugin answers for, if given."""
        self.uow_factory = uow_factory
        self.plugins = plugins
        self.rules = rules
        self.clock = clock
        self.policy = AttributePolicy(catalog, rules)
        self.values = ValueChecker(catalog, rules, self.external_items)
        self.queues = QueueIndex(catalog)
        self.operators = {o.login: o for o in catalog.operators}
        """Operators by login: one lookup (unknown ones go to the catalog, which says so)."""
        self._principals: dict[str, Principal] = {}
        self.plans = Plans(catalog, rules)
        """The plan of a route version: ``rt.plans[code, version]``."""
        self.appeal_data = AppealData(catalog)
        self._hooks: dict[str, FastHook] = {}
        self.event_hook = self._hook("crmcms_event")
        """History event observers: ``event_hook.plain() == ()`` when there are none."""
        self.find_client_hook = self._hook("crmcms_find_client")
        """The client directory: ``find_client_hook(client_id)``."""
        self.party_hooks = {
            "Subscriber": self._hook("crmcms_find_subscriber"),
            "ContactPerson": self._hook("crmcms_find_contact_person"),
        }
        """Directories of subscribers and contact persons, by the rule data part they fill."""
        self.delivery_domain = delivery_domain or default_delivery_domain()
        """The right-hand side of the delivery ids of the messages this engine writes."""
        self.deliver_after_commit = deliver_after_commit
        """Whether an action delivers the messages it wrote as soon as it has committed."""
        self.relay = Relay(
            uow_factory,
            {
                NOTIFICATION: self.deliver_notification,
                AUDIT: self.deliver_audit,
                EVENT: self.deliver_event,
            },
            clock=clock,
            settings=relay,
        )
        self.publish_events_to = tuple(publish_events_to)
        self._targets = EventTargets(catalog.webhooks, publish_events_to)
        self.webhook_store = webhook_store
        """Subscriptions made while the system runs (``POST /webhooks``), if kept anywhere."""
        self.webhook_refresh = webhook_refresh
        """Seconds the stored subscriptions are trusted before they are read again: what
        another process added or removed is heard of within that time."""
        self._stored: dict[str, WebhookDeliverer] = {}
        self._stored_at = -math.inf
        self._refreshing = threading.Lock()
        self.webhook_secrets: dict[str, bytes] = {}
        """Secrets by webhook code, for hosts that keep them in settings; a webhook missing
        here signs with its environment variable's."""
        self.webhooks = {
            w.code: WebhookDeliverer(w, secrets=self.webhook_secrets) for w in catalog.webhooks
        }
        self.event_publishers: dict[str, Callable[[EventMessage], None]] = {}
        """Deliverers of the targets named in ``publish_events_to`` (``amqp``), registered
        by the process that runs the relay."""

    @property
    def event_targets(self) -> EventTargets:
        """Where the history events an action records go through the outbox, by kind: the
        declared webhooks, the stored ones (read again every :attr:`webhook_refresh`
        seconds) and the publishers."""
        if self.webhook_store is not None and (
            time.monotonic() - self._stored_at > self.webhook_refresh
        ):
            self.refresh_webhooks()
        return self._targets

    def refresh_webhooks(self) -> None:
        """Read the stored subscriptions again, now: after one is added or removed here."""
        store = self.webhook_store
        if store is None:
            return
        with self._refreshing:
            stored = [w for w in store.subscriptions() if w.code not in self.webhooks]
            self._stored = {
                w.code: WebhookDeliverer(w, secrets=self.webhook_secrets) for w in stored
            }
            every: list[Webhook] = [*self.catalog.webhooks, *stored]
            self._targets = EventTargets(every, self.publish_events_to)
            self._stored_at = time.monotonic()

    def webhook(self, code: str) -> WebhookDeliverer | None:
        """The deliverer of webhook ``code``, declared or stored; a code not known here is
        looked up in the store once more, for a subscription another process just made."""
        found = self.webhooks.get(code)
        if found is not None:
            return found
        self.event_targets  # noqa: B018 - read again once webhook_refresh seconds are past
        found = self._stored.get(code)
        if found is None and self.webhook_store is not None:
            self.refresh_webhooks()
            found = self._stored.get(code)
        return found

    def route(self, code: str, version: int) -> Route:
        """Route ``code`` at ``version``, looked up once."""
        return self.plans[code, version].route

    def _hook(self, name: str) -> FastHook:
        found = self._hooks.get(name)
        if found is None:
            found = self._hooks[name] = FastHook(self.plugins, name)
        return found

    def hook(self, name: str, **kwargs: Any) -> Any:
        """Call hook ``name``; a plugin's exception becomes :class:`PluginError`."""
        hook = self._hooks.get(name) or self._hook(name)
        try:
            return hook.call(**kwargs)
        except CrmcmsError:
            raise
        except Exception as exc:
            raise PluginError("<plugin>", name, f"{type(exc).__name__}: {exc}") from exc

    def deliver_notification(self, message: OutboxMessage) -> None:
        """Hand the notification ``message`` holds to the ``crmcms_notify`` plugins."""
        self.hook("crmcms_notify", notification=notification_of(message))

    def deliver_audit(self, message: OutboxMessage) -> None:
        """Hand the audit event ``message`` holds to the ``crmcms_audit`` plugins."""
        self.hook("crmcms_audit", event=audit_event_of(message))

    def deliver_event(self, message: OutboxMessage) -> None:
        """Hand the history event ``message`` holds to its target: a webhook, or a publisher
        this process registered. A target nobody here serves is retried later, for a relay
        that serves it."""
        found = event_message_of(message)
        target = found.target
        deliver: Callable[[EventMessage], None] | None
        if target.startswith(WEBHOOK_PREFIX):
            deliver = self.webhook(target.removeprefix(WEBHOOK_PREFIX))
            if deliver is None:
                raise DeliveryError(
                    target,
                    "no such webhook in the definitions or the subscriptions",
                    permanent=True,
                    hook="webhook",
                )
        else:
            deliver = self.event_publishers.get(target)
            if deliver is None:
                raise DeliveryError(target, "no publisher registered here", hook="publish")
        deliver(found)

    def deliver_written(self, message_ids: Collection[int], now: datetime) -> None:
        """Deliver messages an action wrote, right after its commit. The action stands
        whatever happens here: failures stay in the outbox for the next relay run."""
        try:
            self.relay.run(now=now, ids=message_ids, limit=len(message_ids))
        except Exception:
            log.exception("delivering outbox messages %s after commit failed", list(message_ids))

    def principal(self, login: str) -> Principal:
        """The principal operator ``login``'s roles in the catalog make, made once."""
        found = self._principals.get(login)
        if found is None:
            found = self._principals[login] = self.catalog.principal(login)
        return found

    def external_items(
        self, dictionary: str, params: Mapping[str, Any]
    ) -> Sequence[tuple[str, str]] | None:
        """Items of an external or query dictionary: a plugin's first, else a query
        dictionary's own query; ``None`` when neither gives them."""
        items: Sequence[tuple[str, str]] | None = self.hook(
            "crmcms_external_dictionary_items", dictionary=dictionary, params=params
        )
        if items is None and self.dictionary_queries is not None:
            found = self.catalog.dictionary(dictionary)
            if found.kind is DictionaryKind.QUERY:
                items = self.dictionary_queries.items(found, params)
        return items

    def publish(self, events: Sequence[HistoryEvent]) -> None:
        """Tell observers about stored events. The change is already committed, so an
        observer's failure is logged rather than raised."""
        hook = self.event_hook
        functions = hook.plain()  # one look at the observers for all the events
        if functions is not None and not functions:
            return  # nobody observes
        for event in events:
            try:
                if functions is None:
                    hook(event)
                else:
                    for function in functions:
                        function(event)
            except Exception:
                log.exception("crmcms_event observer failed on history event %s", event.id)
