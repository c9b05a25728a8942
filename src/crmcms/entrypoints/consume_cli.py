"""``crmcms consume``: external events and appeal creations from a RabbitMQ queue."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from crmcms.entrypoints.worker_cli import URL_OPTION

AMQP_URL_OPTION = click.option(
    "--url",
    "amqp_url",
    envvar="CRMCMS_AMQP_URL",
    default="amqp://guest:guest@127.0.0.1:5672/%2F",
    show_default=True,
    help="The broker (amqp://user:password@host:port/vhost); default $CRMCMS_AMQP_URL.",
)


@click.command()
@URL_OPTION
@click.option("--queue", required=True, help="The queue to consume (made durable if missing).")
@AMQP_URL_OPTION
@click.option(
    "--operator",
    "operator",
    required=True,
    help="The login of the operator the messages act as (its roles' permissions apply).",
)
@click.option(
    "--definitions",
    "definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Definition files or folders (*.crm); default: the catalog saved in the database.",
)
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE[:NAME]",
    help="Register this plugin besides the installed ones (a class is instantiated). Repeatable.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Tries of a failing message before it goes to the dead-letter queue.",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds a failed message waits (in the queue's retry queue) before it is tried "
    "again; 0 sends it straight back.",
)
@click.option(
    "--dead-letter-queue",
    default=None,
    help="Where poison messages go; default: the queue's name followed by .dead.",
)
@click.option(
    "--exchange",
    default=None,
    help="Also stage the history events the messages cause for this worker's exchange "
    "publisher (see crmcms worker --exchange).",
)
def consume(
    url: str | None,
    queue: str,
    amqp_url: str,
    operator: str,
    definitions: tuple[Path, ...],
    plugins: tuple[str, ...],
    max_attempts: int,
    retry_delay: float,
    dead_letter_queue: str | None,
    exchange: str | None,
) -> None:
    """Apply create_appeal and event messages from QUEUE until SIGTERM or Ctrl-C; each is
    acknowledged after its change is committed (docs/amqp.md)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    from crmcms.dsl import load_catalog
    from crmcms.engine import Engine
    from crmcms.entrypoints.amqp_consumer import Consumer, ConsumerSettings
    from crmcms.entrypoints.integration import Integration
    from crmcms.entrypoints.worker import load_plugins
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.database import create_engine
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.sql import SqlStore

    pm = make_plugin_manager(load_plugins(plugins))
    database = create_engine(url)
    store = SqlStore(database)
    try:
        if definitions:
            catalog = load_catalog(list(definitions), schema=rule_schema(pm))
        else:
            catalog = DefinitionStore(database).load()
        engine = Engine(
            catalog,
            store.unit_of_work,
            plugins=pm,
            trust_logins=True,
            publish_events_to=("amqp",) if exchange else (),
        )
        settings = ConsumerSettings(
            url=amqp_url,
            queue=queue,
            dead_letter_queue=dead_letter_queue,
            max_attempts=max_attempts,
            retry_delay=retry_delay,
        )
        consumer = Consumer(Integration(engine, operator), settings)

        def handle(signum: int, _frame: FrameType | None) -> None:
            logging.getLogger("crmcms.consume").info(
                "%s: stopping after the message in hand", signal.Signals(signum).name
            )
            threading.Thread(target=consumer.stop, daemon=True).start()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            logging.getLogger("crmcms.consume").info("consuming %s", queue)
            consumer.serve()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
    finally:
        store.dispose()
