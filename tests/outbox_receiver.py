"""A receiver that worker tests register with ``--plugin outbox_receiver:Receiver``.

Each delivery becomes a row of ``received`` (delivery id, worker pid) in the database of
``$RECEIVER_URL``, with no unique key: a message delivered twice shows as two rows.
``$RECEIVER_DELAY`` seconds pass before each is recorded, so a test can stop or kill a
worker in the middle of its batch. ``$RECEIVER_START_DELAY`` seconds pass while the plugin
loads, after it has written "receiver loading" to stderr: a worker still starting up.
"""

from __future__ import annotations

import os
import sys
import time

import sqlalchemy as sa

from crmcms import Notification, hookimpl

TABLE = sa.Table(
    "received",
    sa.MetaData(),
    sa.Column("delivery_id", sa.String(200), nullable=False),
    sa.Column("worker", sa.Integer, nullable=False),
)


def create_table(engine: sa.Engine) -> None:
    TABLE.metadata.create_all(engine)


def received(engine: sa.Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(sa.select(TABLE.c.delivery_id, TABLE.c.worker))]


class Receiver:
    def __init__(self) -> None:
        self.engine = sa.create_engine(os.environ["RECEIVER_URL"])
        self.delay = float(os.environ.get("RECEIVER_DELAY", "0"))
        start_delay = float(os.environ.get("RECEIVER_START_DELAY", "0"))
        if start_delay:
            print("receiver loading", file=sys.stderr, flush=True)
            time.sleep(start_delay)

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        time.sleep(self.delay)
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(TABLE).values(delivery_id=notification.delivery_id, worker=os.getpid())
            )
