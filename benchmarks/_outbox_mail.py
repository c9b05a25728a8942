"""Mail through the outbox relay to a local SMTP server, against plain smtplib in one loop."""

from __future__ import annotations

import smtplib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from crmcms.dsl import load_catalog_text
from crmcms.engine import Engine
from crmcms.engine.relay import RelaySettings
from crmcms.mail import MailAddress, MailPlugin, MailSettings, compose_message
from crmcms.model import Notification, NotificationKind
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlStore
from crmcms.testing.smtp import SmtpTestServer

__all__ = ["measure", "section"]

CATALOG = load_catalog_text('operator olga "Ольга Петрова" { email: "olga@example.ru" }\n')
SENDER = "CRM <crm@operator.ru>"


def _notes(count: int) -> list[Notification]:
    return [
        Notification(
            NotificationKind.ESCALATION,
            n,
            ("olga",),
            ("olga",),
            f"Обращение {n}: срок нарушен",
            "Срок обработки обращения истёк.\nПримите меры.\n",
            html=f"<p>Обращение <b>{n}</b>: срок нарушен</p>",
            delivery_id=f"<bench-{n}@operator.ru>",
        )
        for n in range(count)
    ]


def _outbox_round(server: SmtpTestServer, folder: str, count: int, round_no: int) -> float:
    """Messages per second from the outbox (SQLite file) through the relay and the plugin."""
    store = SqlStore(f"sqlite:///{Path(folder) / f'outbox-{round_no}.sqlite'}")
    mail = MailPlugin(MailSettings.from_url(server.url, sender=SENDER), CATALOG)
    engine = Engine(
        CATALOG,
        store.unit_of_work,
        plugins=make_plugin_manager([mail], load_entry_points=False),
        relay=RelaySettings(batch=count),
        trust_logins=True,
    )
    notes = _notes(count)

    def stage(tx: Any) -> None:
        for note in notes:
            tx.notify(note)

    engine.run(stage)  # staged in one action, as a busy minute of escalations would be
    before = len(server.mails)
    start = time.perf_counter()
    report = engine.deliver_outbox()
    took = time.perf_counter() - start
    mail.close()
    store.dispose()
    assert len(report.delivered) == count, report
    assert len(server.wait_for(before + count)) == before + count
    return count / took


def _smtplib_round(server: SmtpTestServer, count: int) -> float:
    """The same messages sent by plain smtplib over one connection in one loop."""
    to = [MailAddress("olga@example.ru", "Ольга Петрова", "olga")]
    before = len(server.mails)
    start = time.perf_counter()
    messages = [compose_message(n, SENDER, to) for n in _notes(count)]
    with smtplib.SMTP(server.host, server.port) as smtp:
        for message in messages:
            smtp.send_message(message, from_addr="crm@operator.ru", to_addrs=["olga@example.ru"])
    took = time.perf_counter() - start
    assert len(server.wait_for(before + count)) == before + count
    return count / took


def measure(quick: bool) -> dict[str, Any]:
    count, rounds = (200, 3) if quick else (2000, 5)
    outbox: list[float] = []
    plain: list[float] = []
    ratios: list[float] = []
    with SmtpTestServer() as server, tempfile.TemporaryDirectory() as folder:
        _smtplib_round(server, 20)  # warm up the server and the encoders
        for round_no in range(rounds):
            base = _smtplib_round(server, count)
            ours = _outbox_round(server, folder, count, round_no)
            plain.append(base)
            outbox.append(ours)
            ratios.append(ours / base)
    return {
        "outbox_messages": count,
        "outbox_per_s": round(statistics.median(outbox)),
        "smtplib_per_s": round(statistics.median(plain)),
        "outbox_vs_smtplib": round(statistics.median(ratios), 2),
    }


def section(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## Mail through the outbox (`benchmarks/bench_sla.py`)",
            "",
            f"{r['outbox_messages']:,} notifications staged in one action, then delivered by "
            "one relay run from an SQLite outbox through the mail plugin to a local aiosmtpd "
            "server; the baseline sends the same messages with plain `smtplib` over one "
            "connection in one loop, to the same server, in the same round. Medians of rounds.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| outbox relay + mail plugin | {r['outbox_per_s']:,} messages/s |",
            f"| plain smtplib, one connection | {r['smtplib_per_s']:,} messages/s |",
            f"| outbox / smtplib | {r['outbox_vs_smtplib']} |",
            "",
            "The relay commits each outcome on its own (so a relay that dies loses at most the "
            "mark of the message in hand); the plugin keeps one SMTP connection for the run. "
            "Both sides compose each message (Cyrillic subject and names, plain and HTML parts) "
            "with the standard library's `email` package, which is most of the time on either "
            "side; the server runs in the same process, so its share is counted on both.",
        ]
    )
