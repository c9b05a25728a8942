"""``crmcms db``: database schema commands."""

from __future__ import annotations

import click

from crmcms.storage.database import create_engine
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema

URL_OPTION = click.option(
    "--url",
    envvar="CRMCMS_DATABASE_URL",
    default=None,
    help="Database URL (sqlite:///FILE or postgresql://...); default $CRMCMS_DATABASE_URL "
    "or sqlite:///var/crmcms.sqlite.",
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
