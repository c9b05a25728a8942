"""Committed history events into the outbox: one message per event and target, written in the
action's transaction, so other systems hear of exactly the changes that were committed."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

import attrs

from crmcms import serialization
from crmcms.engine.ports import OutboxRepository
from crmcms.model import EVENT, HistoryEvent, HistoryKind, OutboxMessage, Webhook, delivery_id

__all__ = ["WEBHOOK_PREFIX", "EventMessage", "EventTargets", "event_message_of", "stage_events"]

WEBHOOK_PREFIX = "webhook:"
"""Targets naming a webhook subscription: ``webhook:BILLING``."""


@attrs.frozen
class EventMessage:
    """What an outbox message of kind ``event`` holds: one event for one target."""

    target: str
    delivery_id: str
    event: HistoryEvent


class EventTargets:
    """Where the events of each kind go: the webhooks that want the kind, then every
    publisher named (``amqp``), which hears of all of them."""

    def __init__(self, webhooks: Iterable[Webhook] = (), publishers: Collection[str] = ()):
        hooks = tuple(webhooks)
        self._by_kind = {
            kind: (
                *(WEBHOOK_PREFIX + w.code for w in hooks if w.wants(kind)),
                *publishers,
            )
            for kind in HistoryKind
        }
        self._any = any(self._by_kind.values())

    def __bool__(self) -> bool:
        return self._any

    def of(self, kind: HistoryKind) -> tuple[str, ...]:
        return self._by_kind[kind]


def stage_events(
    outbox: OutboxRepository,
    events: Sequence[HistoryEvent],
    targets: EventTargets,
    *,
    now: datetime,
    domain: str,
) -> list[int]:
    """Stage ``events`` in ``outbox``: one message per event and target, so a failing
    receiver retries its own messages only. Returns the ids of the messages staged."""
    ids = []
    for event in events:
        for target in targets.of(event.kind):
            message_id = outbox.next_id()
            payload = {
                "target": target,
                "delivery_id": delivery_id(message_id, domain),
                "event": serialization.dump(event),
            }
            outbox.add(OutboxMessage(message_id, EVENT, payload, now, now))
            ids.append(message_id)
    return ids


def event_message_of(message: OutboxMessage) -> EventMessage:
    """The event, target and delivery id an outbox message of kind ``event`` holds."""
    payload = message.payload
    return EventMessage(
        str(payload["target"]),
        str(payload["delivery_id"]),
        serialization.load(dict(payload["event"]), HistoryEvent),
    )
