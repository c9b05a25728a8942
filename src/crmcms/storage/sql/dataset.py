"""A seeded, deterministic dataset of clients, contacts, appeals and history for benchmarks."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import sqlalchemy as sa

from crmcms.dsl import DATE, DECIMAL, STRING, RuleType
from crmcms.storage.schema import appeal, client, contact, history
from crmcms.storage.sql.ids import bump_counters

__all__ = ["DATASET_ATTRIBUTES", "DATASET_END", "Dataset", "generate"]

DATASET_END = datetime(2026, 1, 1, tzinfo=UTC)
"""Appeals are registered over the year before this moment, whatever the date of the run."""

DATASET_ATTRIBUTES: dict[str, RuleType] = {
    "reason": STRING,
    "due": DATE,
    "amount": DECIMAL,
    "region": STRING,
}
"""Attribute codes and types the dataset fills, for filters and their indexes."""

# Topic -> route, its processes, the queues they use and the attributes the topic has.
_TOPICS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "CONSULTATION": ("CONSULT", ("registration", "answer"), ("reason",)),
    "REQUEST": ("REQUEST", ("registration", "execution", "check"), ("reason", "due")),
    "CLAIM": ("CLAIM", ("registration", "analysis", "refund"), ("reason", "amount", "region")),
    "TERMINATION": ("TERMINATION", ("registration", "transfer_sd", "closing"), ("due", "region")),
    "COMPLAINTS": ("COMPLAINTS", ("registration", "review"), ("reason", "region")),
}
_TOPIC_WEIGHTS = (30, 25, 20, 15, 10)
_QUEUES = ("REGISTRATION", "67", "79", "14", "CP", "PSKOV", *(f"Q{i:02d}" for i in range(1, 25)))
_CATEGORIES = ("BIS", "CMS CUSTOMER", "VIP", "REGULAR")
_REGIONS = ("PSKOV", "MOSCOW", "SPB", "NOVGOROD", "TVER", "KAZAN")
_CHANNELS = ("PHONE", "VISIT", "EMAIL", "SMS", "WEB")
_REASONS = tuple(f"R{i:03d}" for i in range(100))
_REASON_WEIGHTS = tuple(1 / (i + 1) for i in range(100))


@attrs.frozen
class Dataset:
    """How much was generated."""

    clients: int
    contacts: int
    appeals: int
    events: int


def _rows(appeals: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) in an order that satisfies foreign keys, the same for the same seed."""
    rnd = random.Random(seed)
    operators = [f"op{i:03d}" for i in range(200)]
    n_clients = max(1, appeals // 5)
    for i in range(1, n_clients + 1):
        yield (
            "client",
            {
                "id": i,
                "name": f"Client {i}",
                "category": rnd.choices(_CATEGORIES, (10, 30, 5, 55))[0],
                "region": rnd.choice(_REGIONS),
                "status": "active",
            },
        )
    topics = list(_TOPICS)
    span = 365 * 24 * 3600
    start = DATASET_END - timedelta(seconds=span)
    contact_id = event_id = 0
    appeal_id = 0
    while appeal_id < appeals:
        contact_id += 1
        at = start + timedelta(seconds=span * appeal_id / appeals + rnd.random() * 60)
        client_id = rnd.randint(1, n_clients)
        operator = rnd.choice(operators)
        yield (
            "contact",
            {
                "id": contact_id,
                "place": "CALL_CENTER",
                "direction": "incoming" if rnd.random() < 0.9 else "outgoing",
                "channel": rnd.choice(_CHANNELS),
                "operator": operator,
                "registered_at": at,
                "template": None,
                "client_id": client_id,
                "subscriber_id": None,
                "contact_person_id": None,
                "prospect_id": None,
                "comment": "",
            },
        )
        for _ in range(min(rnd.choice((1, 1, 1, 2, 3)), appeals - appeal_id)):
            appeal_id += 1
            topic = rnd.choices(topics, _TOPIC_WEIGHTS)[0]
            route, processes, codes = _TOPICS[topic]
            age = (DATASET_END - at).total_seconds()
            # Older appeals are mostly done; about one in eight stays open.
            is_open = rnd.random() < (0.6 if age < 14 * 86400 else 0.1)
            step = rnd.randrange(1, len(processes)) if is_open else len(processes) - 1
            deadline = at + timedelta(hours=rnd.choice((4, 24, 72, 168, 240)))
            if is_open and rnd.random() < 0.1:
                deadline_or_none: datetime | None = None
            else:
                deadline_or_none = deadline
            closed_at = None if is_open else at + timedelta(hours=rnd.uniform(0.1, 200))
            values: dict[str, Any] = {}
            for code in codes:
                if code == "reason":
                    values[code] = rnd.choices(_REASONS, _REASON_WEIGHTS)[0]
                elif code == "due":
                    values[code] = {
                        "date": (at.date() + timedelta(days=rnd.randrange(30))).isoformat()
                    }
                elif code == "amount":
                    values[code] = {"decimal": str(Decimal(rnd.randrange(100, 500000)) / 100)}
                else:
                    values[code] = rnd.choice(_REGIONS)
            yield (
                "appeal",
                {
                    "id": appeal_id,
                    "contact_id": contact_id,
                    "client_id": client_id,
                    "topic": topic,
                    "route": route,
                    "route_version": 1,
                    "process": processes[step],
                    "operator": operator,
                    "registered_at": at,
                    "queue": rnd.choice(_QUEUES) if is_open else None,
                    "state": "open" if is_open else "closed",
                    "priority": rnd.choice(("LOW", "NORMAL", "NORMAL", "HIGH")),
                    "responsible": rnd.choice(operators) if rnd.random() < 0.5 else None,
                    "parent_id": None,
                    "system_problem_id": None,
                    "process_entered_at": at,
                    "deadline": deadline_or_none,
                    "process_deadline": None,
                    "closed_at": closed_at,
                    "description": f"Appeal {appeal_id} about {topic.lower()}",
                    "attribute_values": values,
                    "version": 1 + step + (0 if is_open else 1),
                },
            )
            kinds = ["created", *(["moved"] * step), *([] if is_open else ["closed"])]
            for k, kind in enumerate(kinds):
                event_id += 1
                yield (
                    "event",
                    {
                        "id": event_id,
                        "appeal_id": appeal_id,
                        "kind": kind,
                        "at": at + timedelta(minutes=10 * k),
                        "operator": operator,
                        "process": processes[min(k, len(processes) - 1)],
                        "queue": None,
                        "transition": None,
                        "changes": [],
                        "comment": "",
                        "reason": "",
                    },
                )


_TABLES = {"client": client, "contact": contact, "appeal": appeal, "event": history}


def _copy_line(table: sa.Table, row: dict[str, Any]) -> str:
    out = []
    for column in table.c:
        value = row[column.name]
        if value is None:
            out.append("\\N")
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value)
        elif isinstance(value, date):  # dates and datetimes alike
            value = value.isoformat()
        text = str(value)
        out.append(text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"))
    return "\t".join(out) + "\n"


class _Writer:
    """Buffers rows per table and writes them in batches: COPY on PostgreSQL, else inserts."""

    def __init__(self, conn: sa.Connection, batch: int) -> None:
        self.conn = conn
        self.batch = batch
        self.pending: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}

    def add(self, name: str, row: dict[str, Any]) -> None:
        rows = self.pending[name]
        rows.append(row)
        if len(rows) >= self.batch:
            # Parents first: a batch of appeals may refer to contacts still buffered.
            for parent in _TABLES:
                self.flush(parent)
                if parent == name:
                    break

    def flush(self, name: str) -> None:
        rows = self.pending[name]
        if not rows:
            return
        table = _TABLES[name]
        if self.conn.dialect.name == "postgresql":
            raw: Any = self.conn.connection.driver_connection
            columns = ", ".join(c.name for c in table.c)
            with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as cp:
                buf = io.StringIO()
                for row in rows:
                    buf.write(_copy_line(table, row))
                cp.write(buf.getvalue())
        else:
            self.conn.execute(sa.insert(table), rows)
        rows.clear()

    def close(self) -> None:
        for name in _TABLES:
            self.flush(name)


def generate(
    engine: sa.Engine,
    appeals: int,
    *,
    seed: int = 42,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> Dataset:
    """Write ``appeals`` appeals with their clients, contacts and history into ``engine``.

    The same ``seed`` gives the same rows. The tables must hold no records yet. ``progress``
    is called with the number of appeals written since its last call.
    """
    counts = dict.fromkeys(_TABLES, 0)
    done = 0
    with engine.begin() as conn:
        writer = _Writer(conn, batch)
        for name, row in _rows(appeals, seed):
            writer.add(name, row)
            counts[name] += 1
            if name == "appeal" and progress is not None and counts["appeal"] - done >= 1000:
                progress(counts["appeal"] - done)
                done = counts["appeal"]
        writer.close()
        bump_counters(conn)
    if progress is not None and counts["appeal"] > done:
        progress(counts["appeal"] - done)
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    return Dataset(counts["client"], counts["contact"], counts["appeal"], counts["event"])
