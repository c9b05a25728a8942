"""Managing webhook subscriptions: the declared ones listed, stored ones added and removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcms.engine.obstacles import require
from crmcms.engine.webhook_store import Subscription, WebhookStore
from crmcms.errors import ConfigurationError, WorkflowError
from crmcms.model import Permission, Principal, Webhook

if TYPE_CHECKING:
    from crmcms.engine.runtime import Runtime

__all__ = ["subscribe", "subscriptions", "unsubscribe"]


def _store(rt: Runtime) -> WebhookStore:
    store = rt.webhook_store
    if store is None:
        raise ConfigurationError("this engine keeps no webhook subscriptions")
    return store


def _declared(rt: Runtime, code: str) -> bool:
    return any(w.code == code for w in rt.catalog.webhooks)


def subscriptions(rt: Runtime, who: Principal | None) -> list[Subscription]:
    """The declared webhooks, then the stored ones, each by code."""
    require(who, Permission.ADMINISTER, "read the webhook subscriptions")
    store = rt.webhook_store
    stored = [] if store is None else store.subscriptions()
    return [
        *(Subscription(w, True) for w in rt.catalog.webhooks),
        *(Subscription(w, False) for w in stored if not _declared(rt, w.code)),
    ]


def subscribe(rt: Runtime, who: Principal | None, webhook: Webhook) -> Webhook:
    """Store ``webhook``, a code no declared or stored webhook has, and serve it at once."""
    require(who, Permission.ADMINISTER, f"subscribe webhook {webhook.code}")
    store = _store(rt)
    if _declared(rt, webhook.code):
        raise WorkflowError(f"webhook {webhook.code} is declared in the definition files")
    store.add(webhook, by=None if who is None else who.login)
    rt.refresh_webhooks()
    return webhook


def unsubscribe(rt: Runtime, who: Principal | None, code: str) -> Webhook:
    """Remove stored subscription ``code``; a declared one is the definition files' to change."""
    require(who, Permission.ADMINISTER, f"remove webhook {code}")
    if _declared(rt, code):
        raise WorkflowError(f"webhook {code} is declared in the definition files: remove it there")
    removed = _store(rt).remove(code)
    rt.refresh_webhooks()
    return removed
