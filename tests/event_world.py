"""What the tests of history events leaving through the outbox share: definitions with
webhooks, an engine on a real database, and a real HTTP server that records what it gets."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from crmcms import AppealDraft, Client, Engine
from crmcms.dsl import load_catalog_text
from crmcms.engine import RelaySettings
from crmcms.model import EVENT, OutboxMessage, OutboxStatus
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlStore
from crmcms.testing import ManualClock
from crmcms.testing.engine import FakeBilling

DEFINITIONS = """
topic REPAIR "Repair" {
    attribute NOTE "Note": string
}
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
operator ann "Ann" { roles: QUEUE_ADMINISTRATOR }
queue LINE "Line" { members: ann }
route R "Repair" {
    topics: REPAIR
    process new "New" initial
    process work "Work"
    process done "Done" final
    transition start new -> work "Start"
    transition finish work -> done "Finish"
}
"""

SETTINGS = RelaySettings(
    retry_base=timedelta(seconds=10), retry_cap=timedelta(minutes=1), max_attempts=5, batch=100
)


def webhook(code: str, url: str, events: str = "", secret: str = "HOOK_SECRET") -> str:
    listed = f"events: {events}" if events else ""
    return f'webhook {code} "{code}" {{ url: "{url}" {listed} secret: env {secret} }}\n'


class Receiver:
    """A real HTTP server in a thread: answers each POST with the next status of
    ``statuses`` (200 when they run out) after ``delay`` seconds, and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def documents(self, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(body) for headers, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class World:
    """An engine on the database at ``url`` with ``definitions`` added to :data:`DEFINITIONS`."""

    def __init__(
        self,
        url: str,
        definitions: str = "",
        *,
        publish_events_to: tuple[str, ...] = (),
    ) -> None:
        self.store = SqlStore(url)
        self.clock = ManualClock()
        plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
        self.engine = Engine(
            load_catalog_text(DEFINITIONS + definitions),
            self.store.unit_of_work,
            plugins=plugins,
            clock=self.clock,
            relay=SETTINGS,
            delivery_domain="crm.example",
            trust_logins=True,
            publish_events_to=publish_events_to,
        )

    def register(self, note: str = "") -> int:
        values = {"NOTE": note} if note else {}
        made = self.engine.register_contact(
            "ann", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("REPAIR", values)]
        )
        return made.appeals[0].id

    def messages(self, kind: str = EVENT) -> list[OutboxMessage]:
        with self.store.unit_of_work() as uow:
            found = uow.outbox.find(limit=10_000)
        return sorted((m for m in found if m.kind == kind), key=lambda m: m.id)

    def drain(self, rounds: int = 30, between: Callable[[], None] = lambda: None) -> None:
        """Deliver, letting the clock past every back-off, until nothing is pending."""
        for _ in range(rounds):
            self.engine.deliver_outbox()
            if all(m.status is not OutboxStatus.PENDING for m in self.messages()):
                return
            between()
            self.clock.advance(minutes=2)
        raise AssertionError("messages still pending")

    def close(self) -> None:
        self.store.dispose()
