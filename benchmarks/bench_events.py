"""History events leaving through the outbox, and requests arriving from RabbitMQ:

- an action with two webhook subscriptions beside the same action with none (the staging);
- event messages delivered by the relay to a local HTTP server beside plain urllib POSTs;
- event messages published by the relay to a RabbitMQ exchange beside plain pika publishes;
- appeal creations consumed from a queue beside the same calls of the facade in a loop.

    python benchmarks/bench_events.py --quick      # under a minute
    python benchmarks/bench_events.py

Needs RabbitMQ at $CRMCMS_BENCH_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2F).
"""

from __future__ import annotations

import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pika
from _report import run

from crmcms import AppealDraft, Client, Engine
from crmcms.dsl import load_catalog_text
from crmcms.engine import RelaySettings
from crmcms.entrypoints.amqp_consumer import Consumer, ConsumerSettings
from crmcms.entrypoints.amqp_publisher import AMQP_TARGET, ExchangePublisher
from crmcms.entrypoints.integration import Integration
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling

AMQP_URL = os.environ.get("CRMCMS_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

DEFINITIONS = """
topic REPAIR "Repair" { attribute NOTE "Note": string }
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
operator ann "Ann" { roles: QUEUE_ADMINISTRATOR }
queue LINE "Line" { members: ann }
route R "Repair" {
    topics: REPAIR
    process new "New" initial
    process done "Done" final
    transition finish new -> done "Finish"
}
"""


def _hooks(url: str) -> str:
    return "".join(
        f'webhook {code} "{code}" {{ url: "{url}" secret: env BENCH_SECRET }}\n'
        for code in ("A", "B")
    )


class _Sink:
    """A local HTTP server answering 204 to every POST."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _engine(path: Path, definitions: str, publish: tuple[str, ...] = ()) -> tuple[Engine, SqlStore]:
    store = SqlStore(f"sqlite:///{path}")
    plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
    engine = Engine(
        load_catalog_text(definitions),
        store.unit_of_work,
        plugins=plugins,
        relay=RelaySettings(batch=100_000),
        trust_logins=True,
        publish_events_to=publish,
    )
    return engine, store


def _register(engine: Engine, count: int) -> float:
    """Actions per second: one contact with one appeal each."""
    draft = [AppealDraft("REPAIR", {"NOTE": "n"})]
    start = time.perf_counter()
    for _ in range(count):
        engine.register_contact("ann", place="CC", channel="PHONE", client_id=1, drafts=draft)
    return count / (time.perf_counter() - start)


def _staging_round(folder: Path, sink: _Sink, count: int, n: int) -> tuple[float, float, float]:
    plain, plain_store = _engine(folder / f"plain-{n}.sqlite", DEFINITIONS)
    hooked, hooked_store = _engine(folder / f"hooked-{n}.sqlite", DEFINITIONS + _hooks(sink.url))
    base = _register(plain, count)
    ours = _register(hooked, count)
    # The two webhooks' messages, delivered by one relay run.
    start = time.perf_counter()
    report = hooked.deliver_outbox()
    delivered = len(report.delivered) / (time.perf_counter() - start)
    assert len(report.delivered) == 2 * count, report
    plain_store.dispose()
    hooked_store.dispose()
    return base, ours, delivered


def _urllib_round(sink: _Sink, count: int) -> float:
    body = json.dumps({"delivery_id": "<x>", "event": {"kind": "created"}}).encode()
    start = time.perf_counter()
    for _ in range(count):
        request = urllib.request.Request(sink.url, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
    return count / (time.perf_counter() - start)


def _publish_round(folder: Path, count: int, n: int) -> tuple[float, float]:
    exchange = f"crmcms-bench-{uuid.uuid4().hex[:8]}"
    engine, store = _engine(folder / f"amqp-{n}.sqlite", DEFINITIONS, (AMQP_TARGET,))
    publisher = ExchangePublisher(AMQP_URL, exchange)
    engine.runtime.event_publishers[AMQP_TARGET] = publisher
    _register(engine, count)
    publisher.channel()  # connected before the clock starts, as the baseline's is
    start = time.perf_counter()
    report = engine.deliver_outbox()
    ours = len(report.delivered) / (time.perf_counter() - start)
    assert len(report.delivered) == count, report
    channel = publisher.channel()
    body = json.dumps({"delivery_id": "<x>", "event": {"kind": "created"}}).encode()
    properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
    start = time.perf_counter()
    for _ in range(count):
        channel.basic_publish(exchange, "appeal.created", body, properties)
    base = count / (time.perf_counter() - start)
    channel.exchange_delete(exchange)
    publisher.close()
    store.dispose()
    return ours, base


def _consume_round(folder: Path, count: int, n: int) -> tuple[float, float]:
    queue = f"crmcms-bench-{uuid.uuid4().hex[:8]}"
    params = {"topic": "REPAIR", "place": "CC", "channel": "PHONE", "client_id": 1}
    direct, direct_store = _engine(folder / f"direct-{n}.sqlite", DEFINITIONS)
    api = Integration(direct, "ann")
    start = time.perf_counter()
    for i in range(count):
        api.create_appeal(params, idempotency_key=f"amqp:{i}")
    base = count / (time.perf_counter() - start)
    consumed, consumed_store = _engine(folder / f"consumed-{n}.sqlite", DEFINITIONS)
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    body = json.dumps({"operation": "create_appeal", "params": params}).encode()
    for i in range(count):
        channel.basic_publish("", queue, body, pika.BasicProperties(message_id=str(i)))
    consumer = Consumer(Integration(consumed, "ann"), ConsumerSettings(url=AMQP_URL, queue=queue))
    start = time.perf_counter()
    totals = consumer.run(until_idle=0.3)
    ours = count / (time.perf_counter() - start - 0.3)  # the idle wait that ends the run
    assert totals.applied == count, totals
    channel.queue_delete(queue)
    channel.queue_delete(f"{queue}.dead")
    connection.close()
    direct_store.dispose()
    consumed_store.dispose()
    return ours, base


def measure(quick: bool) -> dict[str, Any]:
    os.environ.setdefault("BENCH_SECRET", "bench")
    count, rounds = (150, 3) if quick else (1000, 5)
    staging: list[tuple[float, float, float]] = []
    posts: list[float] = []
    published: list[tuple[float, float]] = []
    consumed: list[tuple[float, float]] = []
    sink = _Sink()
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            _staging_round(folder, sink, 20, -1)  # warm up
            for n in range(rounds):
                staging.append(_staging_round(folder, sink, count, n))
                posts.append(_urllib_round(sink, 2 * count))
                published.append(_publish_round(folder, count, n))
                consumed.append(_consume_round(folder, count, n))
    finally:
        sink.close()

    def median(values: list[float]) -> float:
        return statistics.median(values)

    return {
        "quick": quick,
        "actions": count,
        "actions_per_s_no_webhooks": round(median([b for b, _, _ in staging])),
        "actions_per_s_two_webhooks": round(median([o for _, o, _ in staging])),
        "staging_vs_none": round(median([o / b for b, o, _ in staging]), 3),
        "webhook_per_s": round(median([d for _, _, d in staging])),
        "urllib_per_s": round(median(posts)),
        "webhook_vs_urllib": round(
            median([d / p for (_, _, d), p in zip(staging, posts, strict=True)]), 3
        ),
        "publish_per_s": round(median([o for o, _ in published])),
        "pika_per_s": round(median([b for _, b in published])),
        "publish_vs_pika": round(median([o / b for o, b in published]), 3),
        "consume_per_s": round(median([o for o, _ in consumed])),
        "facade_per_s": round(median([b for _, b in consumed])),
        "consume_vs_facade": round(median([o / b for o, b in consumed]), 3),
    }


def section(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## History events out, requests in (`benchmarks/bench_events.py`)",
            "",
            f"{r['actions']:,} actions (one contact with one appeal each) per round on SQLite "
            "files; every figure is paired with its baseline in the same round, medians of "
            "rounds. RabbitMQ and the HTTP server run on the same machine.",
            "",
            "| measure | ours | baseline | ratio |",
            "|---|---|---|---|",
            f"| actions/s, two webhooks vs none | {r['actions_per_s_two_webhooks']:,} | "
            f"{r['actions_per_s_no_webhooks']:,} | {r['staging_vs_none']} |",
            f"| webhook POSTs/s by the relay vs plain urllib | {r['webhook_per_s']:,} | "
            f"{r['urllib_per_s']:,} | {r['webhook_vs_urllib']} |",
            f"| events/s published by the relay vs plain pika (confirms) | "
            f"{r['publish_per_s']:,} | {r['pika_per_s']:,} | {r['publish_vs_pika']} |",
            f"| appeals/s created by `crmcms consume` vs the facade in a loop | "
            f"{r['consume_per_s']:,} | {r['facade_per_s']:,} | {r['consume_vs_facade']} |",
            "",
            "Staging writes one outbox row per event and webhook in the action's own "
            "transaction. The relay commits each outcome on its own and signs each request; "
            "its baseline sends unsigned POSTs in one loop. The publisher waits for the "
            "broker's confirm of each message, as the baseline on the same channel does. The "
            "consumer acknowledges each message after its commit; the baseline makes the same "
            "facade calls, idempotency keys included, without a broker.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    return run("bench_events", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
