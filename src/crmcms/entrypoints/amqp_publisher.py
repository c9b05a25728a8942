"""History events from the outbox to a RabbitMQ exchange, for other systems to bind queues to.

Each message is published persistent, with publisher confirms, under the routing key
``appeal.<kind>`` (``appeal.created``, ``appeal.moved``, ...) and with the delivery id as
its ``message_id``: the same on every retry, so a receiver drops repeats by it. The relay
counts a message delivered only once the broker has confirmed it; a broker that is down
fails the delivery, and the relay tries the message again later.
"""

from __future__ import annotations

import json
import logging

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pika.exchange_type import ExchangeType

from crmcms import serialization
from crmcms.engine.event_outbox import EventMessage
from crmcms.errors import DeliveryError

__all__ = ["AMQP_TARGET", "ExchangePublisher", "routing_key"]

log = logging.getLogger("crmcms.publish")

AMQP_TARGET = "amqp"
"""The target name of the exchange publisher: ``Engine(publish_events_to=[AMQP_TARGET])``."""


def routing_key(message: EventMessage) -> str:
    return f"appeal.{message.event.kind.value}"


class ExchangePublisher:
    """Publishes event messages to ``exchange`` (a durable topic exchange, made if missing)
    on the broker at ``url``; one connection, opened when first needed and again after a
    failure."""

    def __init__(self, url: str, exchange: str) -> None:
        self.url = url
        self.exchange = exchange
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def channel(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self.close()
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
            channel = connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(self.exchange, ExchangeType("topic"), durable=True)
            self._connection, self._channel = connection, channel
        return self._channel

    def __call__(self, message: EventMessage) -> None:
        body = json.dumps(
            {"delivery_id": message.delivery_id, "event": serialization.dump(message.event)},
            ensure_ascii=False,
            sort_keys=True,
        ).encode("utf-8")
        properties = pika.BasicProperties(
            content_type="application/json",
            message_id=message.delivery_id,
            type=message.event.kind.value,
            delivery_mode=2,
        )
        reused = self._channel is not None
        try:
            self._publish(body, properties, routing_key(message))
        except (AMQPError, OSError) as first:
            self.close()
            if not reused:
                raise _failed(self.exchange, first) from first
            # An idle connection the broker dropped (heartbeats) fails the first publish
            # after it: one more try on a fresh connection before the relay waits.
            try:
                self._publish(body, properties, routing_key(message))
            except (AMQPError, OSError) as exc:
                self.close()
                raise _failed(self.exchange, exc) from exc

    def _publish(self, body: bytes, properties: pika.BasicProperties, key: str) -> None:
        self.channel().basic_publish(self.exchange, key, body, properties)

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError):
                log.debug("closing the publisher's connection failed", exc_info=True)


def _failed(exchange: str, exc: BaseException) -> DeliveryError:
    text = str(exc) or type(exc).__name__
    return DeliveryError(AMQP_TARGET, f"publishing to {exchange}: {text}", hook="publish")
