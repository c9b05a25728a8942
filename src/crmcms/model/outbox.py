"""Outbox messages: what a change has to tell other systems, kept until it has been delivered."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "AUDIT",
    "EVENT",
    "NOTIFICATION",
    "PROSPECT_CONVERSION",
    "OutboxMessage",
    "OutboxStatus",
    "delivery_id",
]

NOTIFICATION = "notification"
"""The kind of a message holding a :class:`~crmcms.model.Notification` for ``crmcms_notify``.

Kinds are plain names so that later kinds (webhooks, published history events, audit
records, billing exports) need no change to the record or its table.
"""
AUDIT = "audit"
"""The kind of a message holding an :class:`~crmcms.model.AuditEvent` for ``crmcms_audit``."""
EVENT = "event"
"""The kind of a message holding a committed history event for one target: a webhook
(``webhook:CODE``) or a publisher the host registered (``amqp``)."""
PROSPECT_CONVERSION = "prospect_conversion"
"""The kind of a message asking billing to make a client of a prospect
(``crmcms_export_prospect``): ``{"prospect_id", "delivery_id"}``."""


class OutboxStatus(enum.Enum):
    PENDING = "pending"
    """Waiting for its first delivery, or for its next try after a failure."""
    DELIVERED = "delivered"
    DEAD = "dead"
    """Given up: a permanent failure, or too many attempts. ``crmcms outbox retry`` revives it."""


def delivery_id(message_id: int, domain: str) -> str:
    """The id a receiver sees for outbox message ``message_id``: ``<outbox-42.crmcms@domain>``.

    It has the shape of an e-mail ``Message-ID`` and is the same on every try of one
    message, so a receiver drops duplicates by it.
    """
    return f"<outbox-{message_id}.crmcms@{domain}>"


@attrs.frozen
class OutboxMessage:
    """One message in the outbox, written in the transaction of the change that causes it.

    ``payload`` is a JSON-ready document (for notifications, ``crmcms.serialization.dump``
    of one). ``attempts`` counts the times a relay took the message to deliver it; a relay
    holds a message it took until ``lease_expires_at``, after which another may take it.
    """

    id: int
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    available_at: datetime
    """Not delivered before this time: when it was written, or when its next try is due."""
    attempts: int = 0
    status: OutboxStatus = OutboxStatus.PENDING
    last_error: str = ""
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    delivered_at: datetime | None = None
