"""A consumer that dies right after its first commit, before the ack: ``python amqp_crash.py
DATABASE_URL QUEUE AMQP_URL``."""

from __future__ import annotations

import os
import sys

from crmcms.entrypoints.amqp_consumer import Consumer, ConsumerSettings
from crmcms.entrypoints.integration import Integration
from event_world import World


def main() -> None:
    url, queue, amqp_url = sys.argv[1:4]
    world = World(url)
    consumer = Consumer(
        Integration(world.engine, "ann"),
        ConsumerSettings(url=amqp_url, queue=queue),
        before_ack=lambda: os._exit(3),  # killed: no ack, no clean close
    )
    consumer.run()


if __name__ == "__main__":
    main()
