"""Webhook subscriptions kept in the webhook store, beside the declared webhooks."""

from __future__ import annotations

from crmcms.engine import subscriptions as hooks
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.webhook_store import Subscription
from crmcms.model import Webhook

__all__ = ["WebhookDesk"]


class WebhookDesk(ActionRunner):
    """The engine's webhook subscription actions (``administer``)."""

    def webhook_subscriptions(self, *, operator: Acting | None = None) -> list[Subscription]:
        """The webhooks declared in the definition files, then the stored ones."""
        return hooks.subscriptions(self.runtime, self.principal(operator))

    def subscribe_webhook(self, webhook: Webhook, *, operator: Acting | None = None) -> Webhook:
        """Store a subscription, served at once like a declared webhook; a code declared or
        stored already is refused."""
        return hooks.subscribe(self.runtime, self.principal(operator), webhook)

    def unsubscribe_webhook(self, code: str, *, operator: Acting | None = None) -> Webhook:
        """Remove a stored subscription (its undelivered messages are given up); declared
        webhooks are read-only here."""
        return hooks.unsubscribe(self.runtime, self.principal(operator), code)
