"""What the RabbitMQ tests share: unique queues, publishing, and reading a queue back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika


class Broker:
    """A connection to the test broker; every queue it names is deleted at :meth:`close`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.queues: list[str] = []

    def name(self, what: str = "requests") -> str:
        found = f"crmcms-test-{what}-{uuid.uuid4().hex[:10]}"
        # The retry queues of the default delay and of the one the tests choose.
        self.queues += [found, f"{found}.dead", f"{found}.retry-5000ms", f"{found}.retry-1000ms"]
        return found

    def declare(self, queue: str) -> None:
        self.channel.queue_declare(queue, durable=True)

    def publish(self, queue: str, document: Any, message_id: str | None = None) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        properties = pika.BasicProperties(
            content_type="application/json", message_id=message_id, delivery_mode=2
        )
        self.channel.basic_publish("", queue, body, properties)

    def drain(self, queue: str) -> Iterator[tuple[pika.BasicProperties, bytes]]:
        """Every message waiting in ``queue``, taken off it."""
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return
            assert properties is not None
            assert body is not None
            yield properties, body

    def count(self, queue: str) -> int:
        declared = self.channel.queue_declare(queue, durable=True, passive=True)
        count: int = declared.method.message_count
        return count

    def wait_for(self, queue: str, count: int, timeout: float = 10.0) -> int:
        """The count of ``queue`` once it is ``count``, or the last one seen after ``timeout``
        seconds: the broker requeues a dead consumer's messages when it notices the closed
        connection, a moment after the process is gone."""
        deadline = time.monotonic() + timeout
        while (found := self.count(queue)) != count and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def close(self) -> None:
        for queue in self.queues:
            self.channel.queue_delete(queue)
        self.connection.close()


def create(note: str = "", *, client: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {"topic": "REPAIR", "place": "CC", "channel": "PHONE"}
    if client:  # the test engines know client 1; a bare `crmcms consume` knows none
        params["client_id"] = 1
    if note:
        params["attributes"] = {"NOTE": note}
    return {"operation": "create_appeal", "params": params}
