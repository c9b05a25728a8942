"""Webhook subscriptions in memory, for tests and embedded hosts without a database."""

from __future__ import annotations

import threading

from crmcms.errors import NotFoundError, WorkflowError
from crmcms.model import Webhook

__all__ = ["MemoryWebhookStore"]


class MemoryWebhookStore:
    """Subscriptions by code, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_code: dict[str, Webhook] = {}
        self.added_by: dict[str, str | None] = {}

    def subscriptions(self) -> list[Webhook]:
        with self._lock:
            return [self._by_code[code] for code in sorted(self._by_code)]

    def add(self, webhook: Webhook, *, by: str | None) -> None:
        with self._lock:
            if webhook.code in self._by_code:
                raise WorkflowError(f"webhook {webhook.code} already exists")
            self._by_code[webhook.code] = webhook
            self.added_by[webhook.code] = by

    def remove(self, code: str) -> Webhook:
        with self._lock:
            found = self._by_code.pop(code, None)
            if found is None:
                raise NotFoundError("webhook", code)
            self.added_by.pop(code, None)
            return found
