"""``crmcms attachments``: files attached to appeals, for an administrator at the console."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crmcms.entrypoints.outbox_cli import parse_age
from crmcms.entrypoints.worker_cli import URL_OPTION

if TYPE_CHECKING:
    from crmcms.engine import Engine
    from crmcms.model import Principal

__all__ = ["FILES_OPTION", "attachments", "engine_on"]

FILES_OPTION = click.option(
    "--files",
    "files",
    envvar="CRMCMS_FILES",
    default="var/files",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory attached files are kept in ($CRMCMS_FILES).",
)
AS_OPTION = click.option(
    "--as",
    "login",
    default=None,
    metavar="LOGIN",
    help="Act as this operator (with its catalog roles); default: the system.",
)


@contextmanager
def engine_on(url: str | None, files: Path) -> Iterator[Engine]:
    """An engine on the database's published catalog, keeping files under ``files`` (or
    where a plugin's file store says)."""
    from crmcms.engine import Engine
    from crmcms.plugins import make_plugin_manager
    from crmcms.storage.definitions import DefinitionStore
    from crmcms.storage.files import DirectoryFileStore
    from crmcms.storage.sql import SqlStore

    store = SqlStore(url)
    try:
        pm = make_plugin_manager()
        file_store = pm.hook.crmcms_file_store() or DirectoryFileStore(files)
        catalog = DefinitionStore(store.engine).load()
        yield Engine(catalog, store.unit_of_work, plugins=pm, file_store=file_store)
    finally:
        store.dispose()


def _who(engine: Engine, login: str | None) -> Principal:
    from crmcms.model import SYSTEM

    return SYSTEM if login is None else engine.trusted(login)


@click.group()
def attachments() -> None:
    """Files attached to appeals: list, add, get, remove, and clean up unattached ones."""


@attachments.command("list")
@URL_OPTION
@FILES_OPTION
@click.argument("appeal_id", type=int)
def list_files(url: str | None, files: Path, appeal_id: int) -> None:
    """The files attached to appeal APPEAL_ID."""
    from rich.console import Console
    from rich.table import Table

    with engine_on(url, files) as engine:
        found = engine.attachments(appeal_id, operator=_who(engine, None))
    table = Table(title=f"Attachments of appeal {appeal_id}")
    for column in ("Id", "Name", "Type", "Size", "Added by", "Added at", "SHA-256"):
        table.add_column(column, justify="right" if column in ("Id", "Size") else "left")
    for a in found:
        table.add_row(
            str(a.id),
            a.file_name,
            a.media_type,
            f"{a.size:,}",
            a.added_by,
            a.added_at.isoformat(timespec="seconds"),
            a.sha256[:12] + "…",
        )
    Console().print(table)


@attachments.command("add")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.option("--type", "media_type", default=None, help="Media type; default: from the name.")
@click.option("--name", default=None, help="The name to keep; default: the file's.")
@click.argument("appeal_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def add(
    url: str | None,
    files: Path,
    login: str | None,
    media_type: str | None,
    name: str | None,
    appeal_id: int,
    path: Path,
) -> None:
    """Attach the file PATH to appeal APPEAL_ID (with a progress bar as it uploads)."""
    import rich.progress

    with engine_on(url, files) as engine:
        who = _who(engine, login)
        with rich.progress.open(path, "rb", description=f"Uploading {path.name}") as stream:
            made = engine.attach(appeal_id, who, name or path.name, stream, media_type=media_type)
    click.echo(f"attachment {made.id}: {made.file_name} ({made.size:,} bytes, {made.media_type})")


@attachments.command("get")
@URL_OPTION
@FILES_OPTION
@click.argument("attachment_id", type=int)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Where to write it; default: its name in the current directory; - for stdout.",
)
def get(url: str | None, files: Path, attachment_id: int, output: Path | None) -> None:
    """Write the content of attachment ATTACHMENT_ID to a file."""
    with engine_on(url, files) as engine:
        found, stream = engine.open_attachment(attachment_id, operator=_who(engine, None))
    with stream:
        if output is not None and str(output) == "-":
            shutil.copyfileobj(stream, sys.stdout.buffer)
            return
        target = output or Path(found.file_name)
        with target.open("wb") as out:
            shutil.copyfileobj(stream, out)
    click.echo(f"{target}: {found.size:,} bytes")


@attachments.command("remove")
@URL_OPTION
@FILES_OPTION
@AS_OPTION
@click.argument("attachment_id", type=int)
def remove(url: str | None, files: Path, login: str | None, attachment_id: int) -> None:
    """Remove attachment ATTACHMENT_ID (its content goes at the next gc if unused)."""
    with engine_on(url, files) as engine:
        gone = engine.remove_attachment(attachment_id, _who(engine, login))
    click.echo(f"removed attachment {gone.id} ({gone.file_name}) of appeal {gone.appeal_id}")


@attachments.command("gc")
@URL_OPTION
@FILES_OPTION
@click.option(
    "--older-than",
    "older",
    default="1h",
    show_default=True,
    help="Only contents untouched this long (30m, 2h, 1d): uploads under way keep theirs.",
)
def gc(url: str | None, files: Path, older: str) -> None:
    """Delete stored contents that no attachment holds any more."""
    grace: timedelta = parse_age(older)
    with engine_on(url, files) as engine:
        gone = engine.collect_files(grace=grace, operator=_who(engine, None))
    click.echo(f"deleted {len(gone)} unattached file{'s' if len(gone) != 1 else ''}")
