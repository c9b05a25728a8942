"""``crmcms db`` and ``crmcms dev``: database schema commands and generated datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crmcms.storage.database import create_engine
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema

if TYPE_CHECKING:
    import sqlalchemy as sa

URL_OPTION = click.option(
    "--url",
    envvar="CRMCMS_DATABASE_URL",
    default=None,
    help="Database URL (sqlite:///FILE or postgresql://...); default $CRMCMS_DATABASE_URL "
    "or sqlite:///var/crmcms.sqlite.",
)
DEFINITIONS_OPTION = click.option(
    "--definitions",
    "definitions",
    multiple=True,
    required=True,
    type=click.Path(exists=True),
    help="Definition files or folders (*.crm). Repeatable.",
)


@click.group()
def db() -> None:
    """Create and upgrade the database schema."""


@db.command()
@URL_OPTION
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
def upgrade(url: str | None, revision: str) -> None:
    """Upgrade the schema to the newest revision (safe to run at every start)."""
    engine = create_engine(url)
    try:
        click.echo(f"schema at revision {upgrade_schema(engine, revision)}")
    finally:
        engine.dispose()


@db.command()
@URL_OPTION
def current(url: str | None) -> None:
    """Show the revision the database is at and whether it is up to date."""
    engine = create_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        click.echo(f"empty (newest is {head}; run 'crmcms db upgrade')")
    elif revision == head:
        click.echo(f"{revision} (up to date)")
    else:
        click.echo(f"{revision} (newest is {head}; run 'crmcms db upgrade')")


@db.command("index")
@URL_OPTION
@DEFINITIONS_OPTION
@click.option(
    "--attribute",
    "attributes",
    multiple=True,
    metavar="CODE",
    help="Index this attribute too, though it is not shown as a column. Repeatable.",
)
@click.option(
    "--concurrently",
    is_flag=True,
    help="On PostgreSQL, build (and drop) without blocking writes (slower; for a live database).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Also drop the attribute indexes no longer asked for (attributes no longer shown as "
    "columns or named, or retyped). Other indexes are never touched.",
)
def index(
    url: str | None,
    definitions: tuple[str, ...],
    attributes: tuple[str, ...],
    concurrently: bool,
    prune: bool,
) -> None:
    """Create the expression indexes of attributes shown as columns (safe to run again)."""
    from crmcms.dsl.definitions.loader import load_catalog
    from crmcms.entrypoints.definitions_cli import installed_schema
    from crmcms.errors import CrmcmsError
    from crmcms.storage.sql.binding import indexed_attributes
    from crmcms.storage.sql.unit_of_work import SqlStore

    try:
        catalog = load_catalog(list(definitions), schema=installed_schema())
        wanted = indexed_attributes(catalog, attributes)
    except CrmcmsError as exc:
        raise click.ClickException(str(exc)) from None
    store = SqlStore(create_engine(url))
    try:
        created = store.ensure_indexes(catalog, extra=attributes, concurrently=concurrently)
        dropped = (
            store.prune_indexes(catalog, extra=attributes, concurrently=concurrently)
            if prune
            else []
        )
    finally:
        store.dispose()
    codes = ", ".join(wanted) or "none"
    message = f"indexed attributes: {codes}; {len(created)} index(es) created"
    if prune:
        message += f", {len(dropped)} dropped"
    click.echo(message)


@db.command()
@URL_OPTION
@DEFINITIONS_OPTION
@click.option(
    "--recompute/--no-recompute",
    default=True,
    show_default=True,
    help="Work out the SLA clocks of open appeals again with the published definitions.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Appeals per transaction while recomputing.",
)
def publish(url: str | None, definitions: tuple[str, ...], recompute: bool, batch: int) -> None:
    """Check definitions and save them to the database, where the engine, the worker and the
    monitor load them; then the stored clocks of open appeals follow the new calendars and
    deadlines."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crmcms.dsl.definitions.loader import load_catalog
    from crmcms.engine import Engine
    from crmcms.errors import CrmcmsError
    from crmcms.plugins import make_plugin_manager, rule_schema
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.sql.unit_of_work import SqlStore

    pm = make_plugin_manager()
    try:
        catalog = load_catalog(list(definitions), schema=rule_schema(pm))
    except CrmcmsError as exc:
        raise click.ClickException(str(exc)) from None
    store = SqlStore(create_engine(url))
    try:
        saved = DefinitionStore(store.engine)
        try:
            saved.save(catalog)
        except CrmcmsError as exc:
            raise click.ClickException(str(exc)) from None
        _audit_publish(store.engine, definitions)
        message = "definitions published"
        if recompute:
            # Loaded back: it holds the earlier route versions appeals still run on.
            engine = Engine(saved.load(), store.unit_of_work, plugins=pm)
            columns = (
                SpinnerColumn(),
                TextColumn("recomputing SLA clocks: {task.completed} appeals"),
                TimeElapsedColumn(),
            )
            # Drawn on stderr and only on a terminal: a long run shows it is alive.
            console = Console(stderr=True)
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("recompute", total=None)
                changed = engine.recompute_deadlines(
                    batch=batch, progress=lambda n: bar.advance(task, n)
                )
            message += f"; clocks of {changed} open appeal(s) changed"
    finally:
        store.dispose()
    click.echo(message)


def _audit_publish(engine: sa.Engine, definitions: tuple[str, ...]) -> None:
    """Say in the audit who published definitions from where: who runs this command holds
    the database's credentials, so the operating system's user is who acted."""
    import getpass
    import socket

    from crmcms.engine import AuditKind, AuditLog
    from crmcms.storage.sql.logins import SqlLoginStore

    AuditLog(SqlLoginStore(engine, upgrade=False)).record(
        AuditKind.DEFINITIONS_PUBLISHED,
        None,
        actor=getpass.getuser(),
        source=socket.gethostname(),
        detail=", ".join(definitions),
    )


_PROFILES = {"rfc9106-low-memory": "RFC_9106_LOW_MEMORY", "cheapest": "CHEAPEST"}


@db.command("roles")
@URL_OPTION
@click.option("--login-role", default="crmcms_login", show_default=True, metavar="NAME")
@click.option("--app-role", default="crmcms_app", show_default=True, metavar="NAME")
@click.option("--owner-role", default="crmcms_owner", show_default=True, metavar="NAME")
@click.option(
    "--auth-schema",
    default="crmcms_auth",
    show_default=True,
    metavar="NAME",
    help="The schema of the login functions (its owner is the owner role).",
)
@click.option(
    "--login-password",
    envvar="CRMCMS_LOGIN_ROLE_PASSWORD",
    default=None,
    help="Set the login role's password (better: $CRMCMS_LOGIN_ROLE_PASSWORD). Sent as a "
    "SCRAM verifier, never printed; left as it is when not given.",
)
@click.option(
    "--app-login/--no-app-login",
    default=False,
    show_default=True,
    help="Whether the application role may log in itself (else app servers log in as "
    "roles granted it).",
)
@click.option(
    "--app-password",
    envvar="CRMCMS_APP_ROLE_PASSWORD",
    default=None,
    help="The application role's password, with --app-login (better: $CRMCMS_APP_ROLE_PASSWORD).",
)
@click.option(
    "--rls/--no-rls",
    default=None,
    help="Guard appeals, their history and attachments with row level security by session "
    "(default off; with --check, not checked unless given).",
)
@click.option(
    "--key-profile",
    type=click.Choice(sorted(_PROFILES)),
    default="rfc9106-low-memory",
    show_default=True,
    help="The key parameters answered for logins without a password: the gateway's profile.",
)
@click.option("--check", is_flag=True, help="Only report what is wrong; exit 1 if anything.")
def roles(
    url: str | None,
    login_role: str,
    app_role: str,
    owner_role: str,
    auth_schema: str,
    login_password: str | None,
    app_login: bool,
    app_password: str | None,
    rls: bool | None,
    key_profile: str,
    check: bool,
) -> None:
    """Set up least privilege on PostgreSQL (safe to run again): an owner role with the
    login functions, a login role that can only call them, an application role with the
    DML the library needs. Run it as a superuser after every 'crmcms db upgrade'."""
    from crmcms.engine.authentication import KeyProfile
    from crmcms.errors import CrmcmsError
    from crmcms.storage.sql.roles import RoleNames, check_roles, set_up_roles

    try:
        names = RoleNames(login_role, app_role, owner_role, auth_schema)
        engine = create_engine(url)
    except CrmcmsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if not check:
            profile = getattr(KeyProfile, _PROFILES[key_profile])
            for line in set_up_roles(
                engine,
                names,
                login_password=login_password,
                app_login=app_login,
                app_password=app_password,
                rls=bool(rls),
                profile=profile,
            ):
                click.echo(line)
        problems = check_roles(engine, names, rls=rls if check else bool(rls))
    except CrmcmsError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("roles: no problem found")


@click.group()
def dev() -> None:
    """Tools for developers: generated datasets."""


@dev.command()
@URL_OPTION
@click.option("--appeals", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same data.")
@click.option(
    "--index/--no-index",
    default=True,
    show_default=True,
    help="Create the expression indexes of the dataset's attributes.",
)
def seed(url: str | None, appeals: int, seed: int, index: bool) -> None:
    """Fill an empty database with a deterministic dataset of appeals, contacts and history."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from crmcms.storage.sql.binding import index_attributes
    from crmcms.storage.sql.dataset import DATASET_ATTRIBUTES, generate

    engine = create_engine(url)
    try:
        upgrade_schema(engine)
        columns = (
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as bar:
            task = bar.add_task("appeals", total=appeals)
            made = generate(engine, appeals, seed=seed, progress=lambda n: bar.advance(task, n))
        if index:
            index_attributes(engine, DATASET_ATTRIBUTES)
    finally:
        engine.dispose()
    click.echo(
        f"{made.appeals} appeals, {made.contacts} contacts, {made.clients} clients,"
        f" {made.events} history events"
    )
