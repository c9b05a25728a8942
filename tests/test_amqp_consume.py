"""`crmcms consume` on the real RabbitMQ: ack after commit, idempotent by message id, poison
messages to the dead-letter queue, a clean stop on SIGTERM; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amqp_world import Broker, create
from crmcms.entrypoints.amqp_consumer import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    Consumer,
    ConsumerSettings,
)
from crmcms.entrypoints.amqp_messages import apply_message
from crmcms.entrypoints.cli import cli
from crmcms.entrypoints.integration import Integration
from crmcms.errors import ConfigurationError, ValidationError
from event_world import DEFINITIONS, World

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def broker(amqp_url: str) -> Iterator[Broker]:
    found = Broker(amqp_url)
    yield found
    found.close()


def appeals(url: str) -> list[tuple[int, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, description FROM crm_appeal ORDER BY id"))
            return [(row[0], row[1]) for row in rows]
    finally:
        engine.dispose()


def consumer(w: World, broker: Broker, queue: str, **settings: int) -> Consumer:
    return Consumer(
        Integration(w.engine, "ann"),
        ConsumerSettings(url=broker.url, queue=queue, **settings),  # type: ignore[arg-type]
    )


def env() -> dict[str, str]:
    path = [str(TESTS), str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def test_messages_create_appeals_and_move_them_once_each(database_url: str, broker: Broker) -> None:
    w = World(database_url)
    queue = broker.name()
    try:
        broker.declare(queue)
        broker.publish(queue, create(), message_id="m-1")
        broker.publish(queue, create(), message_id="m-1")  # the sender retried
        consumer(w, broker, queue).run(until_idle=0.5)
        [(appeal_id, _)] = appeals(database_url)
        broker.publish(
            queue, {"operation": "event", "appeal_id": appeal_id, "event": "start"}, "m-2"
        )
        consumer(w, broker, queue).run(until_idle=0.5)
        assert w.engine.appeal(appeal_id).process == "work"
        assert broker.count(queue) == 0
        assert broker.count(f"{queue}.dead") == 0
    finally:
        w.close()


def test_a_consumer_killed_between_commit_and_ack_does_nothing_twice(
    database_url: str, broker: Broker
) -> None:
    w = World(database_url)  # makes the schema before the consumers start
    queue = broker.name()
    try:
        broker.declare(queue)
        broker.publish(queue, create(), message_id="once")
        crashed = subprocess.run(
            [sys.executable, str(TESTS / "amqp_crash.py"), database_url, queue, broker.url],
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert crashed.returncode == 3, crashed.stderr
        assert len(appeals(database_url)) == 1  # committed ...
        assert broker.wait_for(queue, 1) == 1  # ... and not acknowledged: the broker has it again
        again = consumer(w, broker, queue)
        totals = again.run(until_idle=0.5)
        assert totals.applied == 1
        assert len(appeals(database_url)) == 1
        assert broker.count(queue) == 0
    finally:
        w.close()


def test_a_poison_message_goes_to_the_dead_letter_queue_after_n_attempts(
    database_url: str, broker: Broker
) -> None:
    w = World(database_url)
    queue = broker.name()
    try:
        broker.declare(queue)
        broker.publish(queue, create("first"), message_id="a")
        broker.publish(queue, {"operation": "event", "appeal_id": 999, "event": "x"}, "poison")
        broker.publish(queue, b"not json", message_id="garbage")
        broker.publish(queue, create("second"), message_id="b")
        broker.publish(queue, create("no id"))  # no message id: dead at once
        totals = consumer(w, broker, queue, max_attempts=3, retry_delay=0).run(until_idle=0.5)
        assert totals.applied == 2
        assert totals.dead == 3
        assert totals.retried == 4  # the poison and the garbage, twice each
        assert len(appeals(database_url)) == 2
        dead = {p.message_id: p.headers for p, _ in broker.drain(f"{queue}.dead")}
        assert set(dead) == {"poison", "garbage", None}
        assert dead["poison"][ATTEMPTS_HEADER] == 3
        assert "NotFoundError" in dead["poison"][ERROR_HEADER]
        assert "not JSON" in dead["garbage"][ERROR_HEADER]
        assert dead[None][ATTEMPTS_HEADER] == 1
    finally:
        w.close()


def test_a_failed_message_waits_the_retry_delay_then_succeeds_once_it_can(
    database_url: str, broker: Broker
) -> None:
    """An event that came before the appeal it moves: retried after the delay, not at once."""
    w = World(database_url)
    queue = broker.name()
    try:
        broker.declare(queue)
        broker.publish(queue, {"operation": "event", "appeal_id": 1, "event": "start"}, "early")
        started = time.monotonic()
        totals = consumer(w, broker, queue, retry_delay=1).run(until_idle=0.3)
        assert (totals.applied, totals.retried, totals.dead) == (0, 1, 0)
        assert broker.count(queue) == 0  # waiting in the retry queue, not spinning
        assert broker.count(f"{queue}.retry-1000ms") == 1
        broker.publish(queue, create(), message_id="the-appeal")
        consumer(w, broker, queue, retry_delay=1).run(until_idle=0.3)
        assert w.engine.appeal(1).process == "new"
        totals = consumer(w, broker, queue, retry_delay=1).run(until_idle=1.5)
        assert time.monotonic() - started >= 1.0
        assert (totals.applied, totals.retried, totals.dead) == (1, 0, 0)
        assert w.engine.appeal(1).process == "work"
        assert broker.count(f"{queue}.retry-1000ms") == broker.count(f"{queue}.dead") == 0
    finally:
        w.close()


def test_crmcms_consume_applies_messages_and_stops_on_sigterm(
    tmp_path: pathlib.Path, broker: Broker
) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    World(url).close()
    definitions = tmp_path / "defs.crm"
    definitions.write_text(DEFINITIONS, encoding="utf-8")
    queue = broker.name()
    broker.declare(queue)
    command = [
        sys.executable,
        "-c",
        "from crmcms.entrypoints.cli import main; main()",
        "consume",
        "--db",
        url,
        "--queue",
        queue,
        "--url",
        broker.url,
        "--operator",
        "ann",
        "--definitions",
        str(definitions),
    ]
    process = subprocess.Popen(
        command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        broker.publish(queue, create(client=False), message_id="cli-1")
        deadline = time.monotonic() + 30
        while not appeals(url) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert len(appeals(url)) == 1
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "stopping after the message in hand" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_messages_of_the_guide_do_what_it_says(tmp_path: pathlib.Path) -> None:
    guide = (ROOT / "docs" / "amqp.md").read_text(encoding="utf-8")
    created, moved = (json.loads(b) for b in re.findall(r"```json\n(.*?)```", guide, re.S))
    w = World(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        api = Integration(w.engine, "ann")
        made = apply_message(api, "doc-1", json.dumps(created).encode())
        assert w.engine.appeal(made["appeal_id"]).values["NOTE"] == "no signal"
        moved["appeal_id"] = made["appeal_id"]
        assert apply_message(api, "doc-2", json.dumps(moved).encode())["process"] == "work"
        assert apply_message(api, "doc-2", json.dumps(moved).encode())["process"] == "work"
        with pytest.raises(ValidationError, match="operation"):
            apply_message(api, "doc-3", b'{"operation": "delete_everything"}')
        with pytest.raises(ValidationError, match="another request"):
            apply_message(api, "doc-1", json.dumps(moved).encode())
    finally:
        w.close()


def test_a_broker_that_cannot_be_reached_at_start_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    definitions = tmp_path / "defs.crm"
    definitions.write_text(DEFINITIONS, encoding="utf-8")
    args = ["consume", "--db", url, "--queue", "q", "--operator", "ann"]
    args += ["--definitions", str(definitions), "--url", "amqp://guest:secret@127.0.0.1:1/%2F"]
    done = CliRunner().invoke(cli, args)
    assert isinstance(done.exception, ConfigurationError)
    assert "cannot connect to the broker at amqp://127.0.0.1:1/ (" in str(done.exception)
    assert "secret" not in str(done.exception)
