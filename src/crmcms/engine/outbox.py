"""Notifications into the outbox: one message per recipient, written in the action's transaction."""

from __future__ import annotations

import socket
from datetime import datetime

import attrs

from crmcms import serialization
from crmcms.engine.ports import OutboxRepository
from crmcms.model import NOTIFICATION, Notification, OutboxMessage, delivery_id

__all__ = ["default_delivery_domain", "enqueue_notification", "notification_of"]


def default_delivery_domain() -> str:
    """The right-hand side of delivery ids when none is configured: this host's name."""
    return socket.gethostname() or "localhost"


def enqueue_notification(
    outbox: OutboxRepository, notification: Notification, *, now: datetime, domain: str
) -> list[int]:
    """Stage ``notification`` in ``outbox``: one message per recipient (one for none), each
    holding the notification narrowed to its recipient and carrying its delivery id.

    One message per recipient means a failure for one address retries that address only,
    never re-sending to those already served. Returns the ids of the messages staged.
    """
    ids = []
    each: list[tuple[str, ...]] = [(r,) for r in notification.recipients]
    for recipients in each or [()]:
        message_id = outbox.next_id()
        one = attrs.evolve(
            notification, recipients=recipients, delivery_id=delivery_id(message_id, domain)
        )
        outbox.add(OutboxMessage(message_id, NOTIFICATION, serialization.dump(one), now, now))
        ids.append(message_id)
    return ids


def notification_of(message: OutboxMessage) -> Notification:
    """The notification an outbox message of kind ``notification`` holds."""
    return serialization.load(dict(message.payload), Notification)
