"""History events published from the outbox to a real RabbitMQ exchange: confirmed, one
delivery id per message, and nothing lost while the broker is down."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from amqp_world import Broker
from crmcms.entrypoints.amqp_publisher import AMQP_TARGET, ExchangePublisher
from crmcms.entrypoints.cli import cli
from crmcms.model import OutboxStatus
from event_world import DEFINITIONS, World

DOWN = "amqp://guest:guest@127.0.0.1:1/%2F"
"""A broker that is not there: nothing listens on port 1."""


@pytest.fixture
def broker(amqp_url: str) -> Iterator[Broker]:
    found = Broker(amqp_url)
    yield found
    found.close()


def bound_queue(broker: Broker, exchange: str) -> str:
    """A queue that hears every event published to ``exchange``."""
    queue = broker.name("events")
    broker.channel.exchange_declare(exchange, "topic", durable=True)
    broker.declare(queue)
    broker.channel.queue_bind(queue, exchange, routing_key="appeal.#")
    return queue


def published(broker: Broker, queue: str) -> list[tuple[str, str, str]]:
    """``(message_id, kind, delivery_id in the body)`` of each message in ``queue``."""
    return [
        (str(p.message_id), str(p.type), json.loads(body)["delivery_id"])
        for p, body in broker.drain(queue)
    ]


def test_the_events_an_action_commits_are_published_to_the_exchange(
    database_url: str, broker: Broker
) -> None:
    exchange = broker.name("exchange")
    queue = bound_queue(broker, exchange)
    w = World(database_url, publish_events_to=(AMQP_TARGET,))
    publisher = ExchangePublisher(broker.url, exchange)
    w.engine.runtime.event_publishers[AMQP_TARGET] = publisher
    try:
        appeal_id = w.register()
        w.engine.transition(appeal_id, "ann", "start")
        w.drain()
        got = published(broker, queue)
        assert [kind for _, kind, _ in got] == ["created", "moved"]
        assert all(message_id == body_id for message_id, _, body_id in got)
        assert [m.payload["delivery_id"] for m in w.messages()] == [m for m, _, _ in got]
    finally:
        publisher.close()
        broker.channel.exchange_delete(exchange)
        w.close()


def test_while_the_broker_is_down_events_wait_in_the_outbox_and_none_is_lost(
    database_url: str, broker: Broker
) -> None:
    exchange = broker.name("exchange")
    queue = bound_queue(broker, exchange)
    w = World(database_url, publish_events_to=(AMQP_TARGET,))
    publisher = ExchangePublisher(DOWN, exchange)
    w.engine.runtime.event_publishers[AMQP_TARGET] = publisher
    try:
        for _ in range(3):
            w.register()
        report = w.engine.deliver_outbox()
        assert len(report.retried) == 3
        assert "publishing to" in next(iter(report.errors.values()))
        assert published(broker, queue) == []
        publisher.url = broker.url  # the broker is back
        w.drain()
        assert {m.status for m in w.messages()} == {OutboxStatus.DELIVERED}
        got = published(broker, queue)
        assert sorted(m for m, _, _ in got) == sorted(
            m.payload["delivery_id"] for m in w.messages()
        )
    finally:
        publisher.close()
        broker.channel.exchange_delete(exchange)
        w.close()


def test_a_process_without_the_publisher_leaves_the_events_for_one_that_has_it(
    tmp_path: pathlib.Path, broker: Broker
) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    exchange = broker.name("exchange")
    queue = bound_queue(broker, exchange)
    w = World(url, publish_events_to=(AMQP_TARGET,))
    try:
        w.register()
        report = w.engine.deliver_outbox()  # this engine registered no publisher
        assert "no publisher registered here" in next(iter(report.errors.values()))
        definitions = tmp_path / "defs.crm"
        definitions.write_text(DEFINITIONS, encoding="utf-8")
        args = ["worker", "--once", "--no-deadlines", "--db", url]
        args += ["--definitions", str(definitions), "--exchange", exchange]
        args += ["--amqp-url", broker.url]
        for message in w.messages():  # due now for the worker, whose clock is the wall's
            with w.store.unit_of_work() as uow:
                uow.outbox.retry([message.id], now=message.created_at)
                uow.commit()
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == 0, done.output
        assert [kind for _, kind, _ in published(broker, queue)] == ["created"]
    finally:
        broker.channel.exchange_delete(exchange)
        w.close()
