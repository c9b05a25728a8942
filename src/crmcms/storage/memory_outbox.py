"""The outbox repository of the in-memory adapter: messages in a dictionary, marks staged."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import attrs

from crmcms.errors import NotFoundError
from crmcms.model import OutboxMessage, OutboxStatus

__all__ = ["MemoryOutbox"]

Messages = dict[int, OutboxMessage]
Change = Callable[[Messages], None]
"""A staged write: applied to the committed messages, under the store's lock, at commit."""

_PENDING = OutboxStatus.PENDING


def _claimable(message: OutboxMessage, now: datetime) -> bool:
    expires = message.lease_expires_at
    return (
        message.status is _PENDING
        and message.available_at <= now
        and (expires is None or expires <= now)
    )


def _held(message: OutboxMessage | None, owner: str) -> bool:
    return message is not None and message.status is _PENDING and message.lease_owner == owner


class MemoryOutbox:
    """Outbox messages of one unit of work over the store's ``messages`` and ``lock``."""

    __slots__ = ("_ids", "_lock", "_messages", "changes", "new")

    def __init__(self, messages: Messages, lock: threading.Lock, ids: Callable[[], int]) -> None:
        self._messages = messages
        self._lock = lock
        self._ids = ids
        self.new: Messages = {}
        self.changes: list[Change] = []

    def __bool__(self) -> bool:
        """Whether anything is staged."""
        return bool(self.new or self.changes)

    def reset(self) -> None:
        self.new.clear()
        self.changes.clear()

    def write(self) -> None:
        """Apply what is staged; the caller holds the store's lock."""
        messages = self._messages
        messages.update(self.new)
        for change in self.changes:
            change(messages)
        self.reset()

    def next_id(self) -> int:
        return self._ids()

    def add(self, message: OutboxMessage) -> None:
        self.new[message.id] = message

    def claim(
        self,
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        ids: Collection[int] | None = None,
    ) -> list[OutboxMessage]:
        until = now + lease
        with self._lock:
            messages = self._messages
            candidates = messages.values() if ids is None else filter(None, map(messages.get, ids))
            due = sorted(
                (m for m in candidates if _claimable(m, now)),
                key=lambda m: (m.available_at, m.id),
            )[: max(limit, 0)]
            taken = []
            for m in due:
                m = messages[m.id] = attrs.evolve(
                    m, lease_owner=owner, lease_expires_at=until, attempts=m.attempts + 1
                )
                taken.append(m)
            return taken

    def _stage(
        self, message_id: int, change: Callable[[OutboxMessage], OutboxMessage | None]
    ) -> None:
        def apply(messages: Messages) -> None:
            found = messages.get(message_id)
            if found is not None:
                changed = change(found)
                if changed is not None:
                    messages[message_id] = changed

        self.changes.append(apply)

    def delivered(self, message_id: int, *, at: datetime) -> None:
        self._stage(
            message_id,
            lambda m: (
                None
                if m.status is OutboxStatus.DELIVERED
                else attrs.evolve(
                    m,
                    status=OutboxStatus.DELIVERED,
                    delivered_at=at,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            ),
        )

    def reschedule(
        self, message_id: int, owner: str, *, available_at: datetime, error: str
    ) -> None:
        self._stage(
            message_id,
            lambda m: (
                attrs.evolve(
                    m,
                    available_at=available_at,
                    last_error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                if _held(m, owner)
                else None
            ),
        )

    def dead(self, message_id: int, owner: str, *, error: str) -> None:
        self._stage(
            message_id,
            lambda m: (
                attrs.evolve(
                    m,
                    status=OutboxStatus.DEAD,
                    last_error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                if _held(m, owner)
                else None
            ),
        )

    def release(self, message_id: int, owner: str) -> None:
        self._stage(
            message_id,
            lambda m: (
                attrs.evolve(
                    m, attempts=max(m.attempts - 1, 0), lease_owner=None, lease_expires_at=None
                )
                if _held(m, owner)
                else None
            ),
        )

    def get(self, message_id: int) -> OutboxMessage:
        found = self.new.get(message_id) or self._messages.get(message_id)
        if found is None:
            raise NotFoundError("outbox message", message_id)
        return found

    def find(self, *, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
        merged = {**self._messages, **self.new}
        found = [m for m in merged.values() if status is None or m.status is status]
        return sorted(found, key=lambda m: m.id, reverse=True)[: max(limit, 0)]

    def retry(self, message_ids: Collection[int], *, now: datetime) -> None:
        for message_id in message_ids:
            self.get(message_id)  # every id known, or nothing staged
        for message_id in message_ids:
            self._stage(
                message_id,
                lambda m: attrs.evolve(
                    m,
                    status=_PENDING,
                    available_at=now,
                    attempts=0,
                    lease_owner=None,
                    lease_expires_at=None,
                    delivered_at=None,
                ),
            )

    def dead_ids(self) -> list[int]:
        return sorted(m.id for m in self._messages.values() if m.status is OutboxStatus.DEAD)

    def purge(self, *, delivered_before: datetime) -> int:
        def old(m: OutboxMessage) -> bool:
            return (
                m.status is OutboxStatus.DELIVERED
                and m.delivered_at is not None
                and m.delivered_at < delivered_before
            )

        count = sum(1 for m in self._messages.values() if old(m))

        def apply(messages: Messages) -> None:
            for message_id in [i for i, m in messages.items() if old(m)]:
                del messages[message_id]

        self.changes.append(apply)
        return count
