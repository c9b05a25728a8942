"""``crmcms consume``'s work: messages from a RabbitMQ queue applied through the integration
facade, each acknowledged only after its change is committed.

Delivery is at least once: a consumer that dies between the commit and the ack gets the
message again, and the message id (the idempotency key) makes the repeat do nothing. A
message that fails is published again with its count of attempts, so the others go on: to a
retry queue that hands it back to the back of its queue after ``retry_delay`` seconds (its
messages expire into the queue through RabbitMQ's dead-lettering), or straight back when the
delay is 0; after ``max_attempts`` it goes to the dead-letter queue with the error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import pika
import sqlalchemy as sa
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from crmcms.entrypoints.amqp_messages import apply_message
from crmcms.entrypoints.integration import Integration
from crmcms.errors import ConfigurationError, StorageError

__all__ = ["ATTEMPTS_HEADER", "ERROR_HEADER", "Consumer", "ConsumerSettings", "ConsumerTotals"]

log = logging.getLogger("crmcms.consume")

ATTEMPTS_HEADER = "x-crmcms-attempts"
"""How many times the message was tried and failed."""
PERSISTENT = 2
"""AMQP delivery mode: written to disk by the broker."""
ERROR_HEADER = "x-crmcms-error"
"""Why a dead-lettered message failed the last time."""


@attrs.frozen
class ConsumerSettings:
    url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    queue: str = "crmcms.requests"
    dead_letter_queue: str | None = None
    """Where poison messages go; ``<queue>.dead`` when not given."""
    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    prefetch: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    outage_pause: float = 1.0
    """Seconds to wait before a message that met a database outage is tried again."""
    retry_delay: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    """Seconds a failed message waits before it is tried again: what another system needs to
    catch up (an event that came before the appeal it moves), where an immediate retry would
    spend every attempt in milliseconds."""

    @property
    def dead_letters(self) -> str:
        return self.dead_letter_queue or f"{self.queue}.dead"

    @property
    def retry_queue(self) -> str | None:
        """Where failed messages wait; ``None`` when they go straight back.

        The delay is in the name because a queue's arguments cannot change once declared:
        another delay is another queue, never a refused declaration."""
        if self.retry_delay == 0:
            return None
        return f"{self.queue}.retry-{self.retry_delay_ms}ms"

    @property
    def retry_delay_ms(self) -> int:
        return max(1, round(self.retry_delay * 1000))


@attrs.define
class ConsumerTotals:
    applied: int = 0
    retried: int = 0
    dead: int = 0


class Consumer:
    """Applies the messages of one queue until :meth:`stop`.

    ``before_ack`` runs after a message's commit and before its ack: what a test uses to
    die at the worst moment.
    """

    def __init__(
        self,
        api: Integration,
        settings: ConsumerSettings | None = None,
        *,
        before_ack: Callable[[], None] | None = None,
    ) -> None:
        self.api = api
        self.settings = settings or ConsumerSettings()
        self.before_ack = before_ack
        self.stopping = threading.Event()
        self.totals = ConsumerTotals()

    def stop(self) -> None:
        self.stopping.set()

    def connect(self) -> pika.BlockingConnection:
        try:
            return pika.BlockingConnection(pika.URLParameters(self.settings.url))
        except AMQPError as exc:
            reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            raise ConfigurationError(
                f"cannot connect to the broker at {_safe(self.settings.url)} ({reason})"
            ) from exc

    def declare(self, channel: BlockingChannel) -> None:
        """The queue, its retry and dead-letter queues, durable, made if missing."""
        settings = self.settings
        channel.queue_declare(settings.queue, durable=True)
        channel.queue_declare(settings.dead_letters, durable=True)
        if settings.retry_queue is not None:
            # One TTL for the whole queue: messages expire in the order they came, so none
            # waits behind a longer one; expired, they are dead-lettered to the queue.
            channel.queue_declare(
                settings.retry_queue,
                durable=True,
                arguments={
                    "x-message-ttl": settings.retry_delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": settings.queue,
                },
            )

    def run(self, *, until_idle: float | None = None) -> ConsumerTotals:
        """Consume until :meth:`stop` (or, with ``until_idle``, until the queue has been
        empty that many seconds)."""
        connection = self.connect()
        try:
            channel = connection.channel()
            channel.confirm_delivery()  # a republished message is the broker's before the ack
            channel.basic_qos(prefetch_count=self.settings.prefetch)
            self.declare(channel)
            idle_since = time.monotonic()
            for method, properties, body in channel.consume(
                self.settings.queue, inactivity_timeout=0.2
            ):
                if method is None:
                    if self.stopping.is_set():
                        break
                    if until_idle is not None and time.monotonic() - idle_since > until_idle:
                        break
                    continue
                assert properties is not None
                assert body is not None
                self.handle(channel, method, properties, body)
                idle_since = time.monotonic()
                if self.stopping.is_set():
                    break
            # Messages prefetched but not handled go back to the queue with the channel.
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()
        log.info(
            "consumer stopped: %s applied, %s retried, %s dead-lettered",
            self.totals.applied,
            self.totals.retried,
            self.totals.dead,
        )
        return self.totals

    def serve(self, *, reconnect: float = 5.0) -> ConsumerTotals:
        """:meth:`run` until :meth:`stop`, connecting again ``reconnect`` seconds after the
        broker went away. Failing to connect the first time is an error: a wrong URL or
        password is told at once rather than retried for ever."""
        first = True
        while not self.stopping.is_set():
            try:
                return self.run()
            except ConfigurationError:
                if first:
                    raise
                log.warning("the broker is still away; trying again in %s s", reconnect)
            except (AMQPError, OSError) as exc:
                log.warning("the broker went away (%s); connecting again in %s s", exc, reconnect)
            first = False
            self.stopping.wait(reconnect)
        return self.totals

    def handle(
        self,
        channel: BlockingChannel,
        method: Any,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        message_id = properties.message_id
        attempts = int((properties.headers or {}).get(ATTEMPTS_HEADER, 0))
        try:
            if not message_id:
                raise _Poison("the message has no message_id, so repeats could not be told")
            result = apply_message(self.api, message_id, body)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, StorageError) as exc:
            # The database, not the message: it goes back as it was, counting nothing.
            log.warning("message %s met a database outage (%s); requeued", message_id, exc)
            time.sleep(self.settings.outage_pause)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            final = isinstance(exc, _Poison) or attempts + 1 >= self.settings.max_attempts
            self._again(channel, properties, body, attempts + 1, error, dead=final)
            channel.basic_ack(method.delivery_tag)
            return
        log.info("message %s applied: %s", message_id, result)
        if self.before_ack is not None:
            self.before_ack()
        channel.basic_ack(method.delivery_tag)
        self.totals.applied += 1

    def _again(
        self,
        channel: BlockingChannel,
        properties: pika.BasicProperties,
        body: bytes,
        attempts: int,
        error: str,
        *,
        dead: bool,
    ) -> None:
        headers = {**(properties.headers or {}), ATTEMPTS_HEADER: attempts}
        if dead:
            headers[ERROR_HEADER] = error[:1000]
        republished = pika.BasicProperties(
            content_type=properties.content_type,
            message_id=properties.message_id,
            correlation_id=properties.correlation_id,
            headers=headers,
            delivery_mode=PERSISTENT,
        )
        settings = self.settings
        queue = settings.dead_letters if dead else (settings.retry_queue or settings.queue)
        channel.basic_publish("", queue, body, republished, mandatory=True)
        if dead:
            self.totals.dead += 1
            log.error(
                "message %s dead-lettered to %s after %s attempt(s): %s",
                properties.message_id,
                queue,
                attempts,
                error,
            )
        else:
            self.totals.retried += 1
            log.warning(
                "message %s failed (attempt %s): %s", properties.message_id, attempts, error
            )


class _Poison(Exception):
    """A message that no number of tries can apply."""


def _safe(url: str) -> str:
    """``url`` without its password, for messages."""
    params = pika.URLParameters(url)
    return f"amqp://{params.host}:{params.port}{params.virtual_host}"
