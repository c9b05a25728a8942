"""Webhook subscriptions kept in the database, beside those declared in definition files.

Declared webhooks are read-only outside the files; stored ones are added and removed while
the system runs (``POST``/``DELETE /webhooks``). Both are served alike: the engine stages
history events for every webhook that wants their kind, and the relay POSTs them, signed
with the secret in the environment variable the subscription names.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from crmcms.model import Webhook

__all__ = ["Subscription", "WebhookStore"]


class WebhookStore(Protocol):
    """Where subscriptions made while the system runs are kept."""

    def subscriptions(self) -> list[Webhook]:
        """Every stored subscription, by code."""

    def add(self, webhook: Webhook, *, by: str | None) -> None:
        """Store a subscription; a code already stored raises
        :class:`~crmcms.errors.WorkflowError`."""

    def remove(self, code: str) -> Webhook:
        """Remove a subscription and return it; unknown raises
        :class:`~crmcms.errors.NotFoundError`."""


@attrs.frozen
class Subscription:
    """A webhook and where it comes from: the definition files (``declared``, read-only
    here) or the database."""

    webhook: Webhook
    declared: bool
