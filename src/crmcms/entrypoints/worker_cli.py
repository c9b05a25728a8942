"""``crmcms worker``: the outbox relay and the deadline monitor as a long-running process."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crmcms.entrypoints.worker import Worker

URL_OPTION = click.option(
    "--db",
    "url",
    envvar="CRMCMS_DATABASE_URL",
    default=None,
    help="Database URL (sqlite:///FILE or postgresql://...); default $CRMCMS_DATABASE_URL "
    "or sqlite:///var/crmcms.sqlite.",
)


@click.command()
@URL_OPTION
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
@click.option("--once", is_flag=True, help="Deliver what is due, scan deadlines once, exit.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Messages claimed at once.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=0.1),
    default=300.0,
    show_default=True,
    help="Seconds a claimed message stays this worker's; then another worker may take it.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=5.0,
    show_default=True,
    help="Seconds between looks for due work when nothing wakes the worker.",
)
@click.option(
    "--deadlines/--no-deadlines",
    default=True,
    show_default=True,
    help="Run the deadline monitor too.",
)
@click.option(
    "--mail",
    is_flag=True,
    help="Deliver notifications as e-mail (crmcms.mail), to the SMTP server in "
    "$CRMCMS_SMTP_URL, or $CRMCMS_SMTP_HOST and its siblings (docs/mail.md).",
)
@click.option(
    "--exchange",
    default=None,
    help="Publish every history event to this RabbitMQ exchange (docs/amqp.md).",
)
@click.option(
    "--amqp-url",
    envvar="CRMCMS_AMQP_URL",
    default="amqp://guest:guest@127.0.0.1:5672/%2F",
    show_default=True,
    help="The broker of --exchange; default $CRMCMS_AMQP_URL.",
)
def worker(
    url: str | None,
    definitions: tuple[Path, ...],
    plugins: tuple[str, ...],
    once: bool,
    batch: int,
    lease: float,
    poll: float,
    deadlines: bool,
    mail: bool,
    exchange: str | None,
    amqp_url: str,
) -> None:
    """Deliver the outbox and watch deadlines until SIGTERM or Ctrl-C.

    Several workers may share a PostgreSQL database (each claims its own messages, and a
    killed one's are taken over when their lease expires); run one on SQLite.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks at every start
    # First of all: a SIGTERM while plugins load or the database connects ends the start-up
    # cleanly, having claimed nothing, instead of killing the process.
    stopper = _Stopper()
    previous = {sig: signal.signal(sig, stopper.handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _serve(
            url,
            definitions,
            plugins,
            once,
            batch,
            lease,
            poll,
            deadlines,
            mail,
            stopper,
            (amqp_url, exchange) if exchange else None,
        )
    except _StoppedDuringStartUp as stopped:
        logging.getLogger("crmcms.worker").info("%s during start-up: stopped", stopped)
    finally:
        # Called in-process (tests, a host's own CLI), the worker leaves the handlers it found.
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(
    url: str | None,
    definitions: tuple[Path, ...],
    plugins: tuple[str, ...],
    once: bool,
    batch: int,
    lease: float,
    poll: float,
    deadlines: bool,
    mail: bool,
    stopper: _Stopper,
    publish: tuple[str, str] | None = None,
) -> None:
    from crmcms.dsl import load_catalog
    from crmcms.engine import Engine, RelaySettings
    from crmcms.entrypoints.worker import Worker, load_plugins, wakeup_for
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.database import create_engine
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.sql import SqlStore, SqlWebhookStore

    pm = make_plugin_manager(load_plugins(plugins))
    database = create_engine(url)
    store = SqlStore(database)
    closing = [store.dispose]
    try:
        if definitions:
            catalog = load_catalog(list(definitions), schema=rule_schema(pm))
        else:
            catalog = DefinitionStore(database).load()
        if mail:
            from crmcms.mail import MailPlugin, MailSettings, client_directory

            pm.register(MailPlugin(MailSettings.from_env(), catalog, clients=client_directory(pm)))
        settings = RelaySettings(lease=timedelta(seconds=lease), batch=batch)
        engine = Engine(
            catalog,
            store.unit_of_work,
            plugins=pm,
            relay=settings,
            publish_events_to=("amqp",) if publish else (),
            webhook_store=SqlWebhookStore(store.engine),
        )
        if publish:
            from crmcms.entrypoints.amqp_publisher import AMQP_TARGET, ExchangePublisher

            publisher = ExchangePublisher(*publish)
            engine.runtime.event_publishers[AMQP_TARGET] = publisher
            closing.append(publisher.close)
        runner = Worker(
            engine,
            wakeup=None if once else wakeup_for(database),
            poll=poll,
            batch=batch,
            scan_deadlines=deadlines,
        )
        stopper.started(runner)
        if once:
            runner.run_once()
            return
        logging.getLogger("crmcms.worker").info(
            "worker %s started on %s", engine.runtime.relay.owner, database.url.render_as_string()
        )
        runner.run()
    finally:
        for close in reversed(closing):
            close()


class _StoppedDuringStartUp(BaseException):
    """Raised by the signal handler until the worker runs: unwinds the start-up. A
    ``BaseException``, so that no ``except Exception`` on the way swallows it."""


class _Stopper:
    """The SIGTERM and SIGINT handler: before the worker runs it ends the start-up, after
    it tells the worker to stop after the message in hand."""

    def __init__(self) -> None:
        self._runner: Worker | None = None

    def started(self, runner: Worker) -> None:
        self._runner = runner

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        runner = self._runner
        if runner is None:
            raise _StoppedDuringStartUp(name)
        logging.getLogger("crmcms.worker").info("%s: stopping after the message in hand", name)
        # Not runner.stop() here: the handler runs in the main thread, which may be inside
        # the stop event's own wait holding its lock; setting it from here would deadlock.
        threading.Thread(target=runner.stop, name="crmcms-stop", daemon=True).start()
