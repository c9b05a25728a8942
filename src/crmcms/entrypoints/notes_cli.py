"""``crmcms notes``: the notes on a client, subscriber or contact person, and their history."""

from __future__ import annotations

from pathlib import Path

import click

from crmcms.entrypoints.attachments_cli import FILES_OPTION, engine_on
from crmcms.entrypoints.worker_cli import URL_OPTION

__all__ = ["notes"]

_SUBJECTS = ("client", "subscriber", "contact_person")


@click.group()
def notes() -> None:
    """Notes on clients, subscribers and contact persons (every version kept)."""


@notes.command("list")
@URL_OPTION
@FILES_OPTION
@click.argument("subject", type=click.Choice(_SUBJECTS))
@click.argument("subject_id", type=int)
def list_notes(url: str | None, files: Path, subject: str, subject_id: int) -> None:
    """The notes on SUBJECT (client, subscriber, contact_person) SUBJECT_ID, pinned first."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import SYSTEM, NoteSubject

    with engine_on(url, files) as engine:
        found = engine.notes(NoteSubject(subject), subject_id, operator=SYSTEM)
    table = Table(title=f"Notes on {subject.replace('_', ' ')} {subject_id}")
    for column in ("Id", "Pinned", "Visibility", "Author", "Written", "Version", "Text"):
        table.add_column(column, justify="right" if column in ("Id", "Version") else "left")
    for n in found:
        table.add_row(
            str(n.id),
            "📌" if n.pinned else "",
            n.visibility.value,
            n.author,
            n.created_at.isoformat(timespec="minutes"),
            str(n.version),
            n.text,
        )
    Console().print(table)


@notes.command("history")
@URL_OPTION
@FILES_OPTION
@click.argument("note_id", type=int)
def history(url: str | None, files: Path, note_id: int) -> None:
    """Every version of note NOTE_ID, its deletion included."""
    from rich.console import Console
    from rich.table import Table

    from crmcms.model import SYSTEM

    with engine_on(url, files) as engine:
        found = engine.note_history(note_id, operator=SYSTEM)
    table = Table(title=f"Note {note_id}")
    for column in ("Version", "When", "By", "Visibility", "Pinned", "Text"):
        table.add_column(column)
    for r in found:
        text = "[red]deleted[/red]" if r.deleted else r.text
        table.add_row(
            str(r.version),
            r.at.isoformat(timespec="minutes"),
            r.by,
            r.visibility.value,
            "yes" if r.pinned else "",
            text,
        )
    Console().print(table)
