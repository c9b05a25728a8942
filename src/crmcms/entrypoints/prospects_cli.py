"""``crmcms prospects``: register would-be clients, give them contacts, convert them by billing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.engine import Engine
    from crmcms.model import Principal, Prospect

__all__ = ["prospects"]

_STATUSES = ("prospect", "converting", "converted")

AS_OPTION = click.option(
    "--as",
    "login",
    default=None,
    metavar="LOGIN",
    help="Act as this operator (with its catalog roles); default: the system.",
)
PLUGIN_OPTION = click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE[:NAME]",
    help="Register this plugin besides the installed ones (a class is instantiated). Repeatable.",
)


@contextmanager
def _engine(url: str | None, plugins: Sequence[str] = ()) -> Iterator[Engine]:
    """An engine on the database's published catalog, with the installed plugins and ``plugins``."""
    from crmcms.engine import Engine
    from crmcms.entrypoints.worker import load_plugins
    from crmcms.plugins import make_plugin_manager
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.sql import SqlStore

    store = SqlStore(url)
    try:
        pm = make_plugin_manager(load_plugins(plugins))
        catalog = DefinitionStore(store.engine).load()
        yield Engine(catalog, store.unit_of_work, plugins=pm)
    finally:
        store.dispose()


def _who(engine: Engine, login: str | None) -> Principal:
    from crmcms.model import SYSTEM

    return SYSTEM if login is None else engine.trusted(login)


def _print(found: Sequence[Prospect], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("Id", "Name", "Phone", "E-mail", "Region", "Category", "Status", "Client"):
        table.add_column(column, justify="right" if column in ("Id", "Client") else "left")
    for p in found:
        table.add_row(
            str(p.id),
            p.name,
            p.phone or "",
            p.email or "",
            p.region or "",
            p.category or "",
            p.status.value,
            "" if p.client_id is None else str(p.client_id),
        )
    Console().print(table)


@click.group()
def prospects() -> None:
    """Prospects (would-be clients): register, attach contacts, convert through billing."""


@prospects.command("list")
@URL_OPTION
@click.option("--status", type=click.Choice(_STATUSES), default=None, help="Only these.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def list_prospects(url: str | None, status: str | None, limit: int) -> None:
    """The newest prospects."""
    from crmcms.model import SYSTEM, ProspectStatus

    wanted = None if status is None else ProspectStatus(status)
    with _engine(url) as engine:
        found = engine.prospects(status=wanted, limit=limit, operator=SYSTEM)
    _print(found, "Prospects")


@prospects.command("show")
@URL_OPTION
@click.argument("prospect_id", type=int)
def show(url: str | None, prospect_id: int) -> None:
    """Prospect PROSPECT_ID, its conversion and its contacts."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import SYSTEM

    with _engine(url) as engine:
        found = engine.prospect(prospect_id, operator=SYSTEM)
        contacts = engine.prospect_contacts(prospect_id, operator=SYSTEM)
    _print([found], f"Prospect {prospect_id}")
    console = Console()
    if found.conversion_id is not None:
        console.print(f"Conversion under way: {found.conversion_id}")
    if found.conversion_error:
        console.print(f"[red]Billing said:[/red] {found.conversion_error}")
    table = Table(title=f"Contacts of prospect {prospect_id}")
    for column in ("Id", "Registered", "Operator", "Channel", "Client", "Comment"):
        table.add_column(column)
    for c in contacts:
        table.add_row(
            str(c.id),
            c.registered_at.isoformat(timespec="minutes"),
            c.operator,
            c.channel,
            "" if c.client_id is None else str(c.client_id),
            c.comment,
        )
    console.print(table)


@prospects.command("register")
@URL_OPTION
@AS_OPTION
@click.option("--name", required=True)
@click.option("--phone", default=None)
@click.option("--email", default=None)
@click.option("--region", default=None)
@click.option("--category", default=None)
def register(
    url: str | None,
    login: str | None,
    name: str,
    phone: str | None,
    email: str | None,
    region: str | None,
    category: str | None,
) -> None:
    """Register a prospect; a bad field is reported by its code and nothing is stored."""
    with _engine(url) as engine:
        made = engine.register_prospect(
            _who(engine, login),
            name=name,
            phone=phone,
            email=email,
            region=region,
            category=category,
        )
    click.echo(f"prospect {made.id} registered: {made.name}")


@prospects.command("attach")
@URL_OPTION
@AS_OPTION
@click.argument("prospect_id", type=int)
@click.argument("contact_id", type=int)
def attach(url: str | None, login: str | None, prospect_id: int, contact_id: int) -> None:
    """Give contact CONTACT_ID to prospect PROSPECT_ID."""
    with _engine(url) as engine:
        engine.attach_to_prospect(prospect_id, contact_id, _who(engine, login))
    click.echo(f"contact {contact_id} attached to prospect {prospect_id}")


@prospects.command("convert")
@URL_OPTION
@AS_OPTION
@PLUGIN_OPTION
@click.option(
    "--deliver/--no-deliver",
    default=False,
    help="Ask billing now (with the plugins given) instead of leaving it to crmcms worker.",
)
@click.argument("prospect_id", type=int)
def convert(
    url: str | None, login: str | None, plugins: tuple[str, ...], deliver: bool, prospect_id: int
) -> None:
    """Ask billing to make a client of prospect PROSPECT_ID, through the outbox."""
    from crmcms.model import PROSPECT_CONVERSION, SYSTEM, OutboxStatus

    with _engine(url, plugins) as engine:
        asked = engine.convert_prospect(prospect_id, _who(engine, login))
        click.echo(f"prospect {prospect_id}: conversion {asked.conversion_id} requested")
        if not deliver:
            return
        with engine.runtime.uow_factory() as uow:
            mine = [
                m.id
                for m in uow.outbox.find(status=OutboxStatus.PENDING, limit=1000)
                if m.kind == PROSPECT_CONVERSION and m.payload["delivery_id"] == asked.conversion_id
            ]
        engine.runtime.relay.run(ids=mine)  # this request only: the rest is the worker's
        done = engine.prospect(prospect_id, operator=SYSTEM)
    if done.client_id is not None:
        click.echo(f"prospect {prospect_id} is client {done.client_id} now")
    else:
        click.echo(f"prospect {prospect_id} is {done.status.value}: {done.conversion_error}")
