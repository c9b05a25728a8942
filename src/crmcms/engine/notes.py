"""Notes on clients, subscribers and contact persons: who writes, who reads, what is kept.

A note is read by its author, by the author's team (operators who work in a queue with
the author) or by every operator who may read, as its visibility says. Only its author
edits or deletes it, and every version stays as a revision: deleting hides the note from
every list, not from its history. A pinned note comes back with every contact registered
for its subject, so the next operator sees it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from crmcms.engine.obstacles import require
from crmcms.errors import (
    ConcurrencyError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    ValidationError,
)
from crmcms.model import (
    Contact,
    Note,
    NoteRevision,
    NoteSubject,
    NoteVisibility,
    Permission,
)

if TYPE_CHECKING:
    from crmcms.engine.transaction import Tx

__all__ = [
    "add_note",
    "delete_note",
    "edit_note",
    "first_revision",
    "note_history",
    "notes_of",
    "pinned_notes",
    "sorted_notes",
    "subjects_of",
]

_PARTIES = {NoteSubject.SUBSCRIBER: "Subscriber", NoteSubject.CONTACT_PERSON: "ContactPerson"}


def first_revision(note: Note) -> NoteRevision:
    """The revision a note starts with: as it was written."""
    return _revision(note, note.author, note.created_at)


def _revision(note: Note, by: str, at: datetime) -> NoteRevision:
    return NoteRevision(
        note_id=note.id,
        version=note.version,
        text=note.text,
        visibility=note.visibility,
        pinned=note.pinned,
        deleted=note.deleted,
        by=by,
        at=at,
    )


def sorted_notes(notes: Iterable[Note]) -> list[Note]:
    """Pinned first, then the newest first (by when written, then by id)."""
    return sorted(notes, key=lambda n: (not n.pinned, -n.created_at.timestamp(), -n.id))


def _login(tx: Tx) -> str:
    return tx.principal.login if tx.principal is not None else "system"


def _may_read(tx: Tx, note: Note) -> bool:
    who = tx.principal
    if who is None or who.system or note.author == who.login:
        return True
    if Permission.READ not in who.permissions and Permission.READ_ALL not in who.permissions:
        return False
    if note.visibility is NoteVisibility.ALL:
        return True
    if note.visibility is NoteVisibility.PRIVATE:
        return False
    return _same_team(tx, note.author, who.login)


def _same_team(tx: Tx, a: str, b: str) -> bool:
    """Whether both work in one queue (members, by role or by name, or administrators);
    queues open to all make no team."""
    return any(
        workers is not None and a in workers and b in workers
        for workers in tx.rt.queues.workers.values()
    )


def _check_subject(tx: Tx, subject: NoteSubject, subject_id: int) -> None:
    """The subject must be known to its directory (billing, for clients)."""
    if subject is NoteSubject.CLIENT:
        tx.client(subject_id)
        return
    if not tx.party(_PARTIES[subject], subject_id):
        raise NotFoundError(subject.value.replace("_", " "), subject_id)


def _check_text(text: str) -> str:
    """The text without outer blanks; the engine bounds its length before any work."""
    text = text.strip()
    if not text:
        raise ValidationError([Problem("text", "a note needs some text")], subject="note")
    return text


def add_note(
    tx: Tx,
    subject: NoteSubject,
    subject_id: int,
    text: str,
    visibility: NoteVisibility,
    pinned: bool,
) -> Note:
    """Write a note on a client, subscriber or contact person its directory knows."""
    require(tx.principal, Permission.HANDLE, f"write a note on {subject.value} {subject_id}")
    written = _check_text(text)
    _check_subject(tx, subject, subject_id)
    note = Note(
        id=tx.uow.notes.next_id(),
        subject=subject,
        subject_id=subject_id,
        text=written,
        author=_login(tx),
        created_at=tx.now,
        visibility=visibility,
        pinned=pinned,
    )
    tx.uow.notes.add(note)
    return note


def _own(tx: Tx, note_id: int, action: str) -> Note:
    """The note, if the action's principal wrote it; one it may not read is not found."""
    note = tx.uow.notes.get(note_id)
    if note.deleted or not _may_read(tx, note):
        raise NotFoundError("note", note_id)
    who = tx.principal
    if who is not None and not who.system and note.author != who.login:
        raise PermissionDeniedError(
            who.login, f"{action} note {note_id}", f"only its author {note.author} may"
        )
    return note


def edit_note(
    tx: Tx,
    note_id: int,
    *,
    text: str | None,
    visibility: NoteVisibility | None,
    pinned: bool | None,
    expected_version: int | None,
) -> Note:
    """Change a note's text, visibility or pin; the version it had is kept as a revision."""
    note = _own(tx, note_id, "edit")
    if expected_version is not None and expected_version != note.version:
        raise ConcurrencyError("note", note_id, expected_version, note.version)
    changed = attrs.evolve(
        note,
        text=note.text if text is None else _check_text(text),
        visibility=note.visibility if visibility is None else visibility,
        pinned=note.pinned if pinned is None else pinned,
    )
    if (changed.text, changed.visibility, changed.pinned) == (
        note.text,
        note.visibility,
        note.pinned,
    ):
        return note  # nothing to keep a revision of
    changed.version += 1
    changed.updated_at, changed.updated_by = tx.now, _login(tx)
    tx.uow.notes.update(changed, _revision(changed, _login(tx), tx.now))
    return changed


def delete_note(tx: Tx, note_id: int) -> Note:
    """Hide a note from every list; its revisions stay, the last one saying it was deleted."""
    note = _own(tx, note_id, "delete")
    gone = attrs.evolve(note, deleted=True, version=note.version + 1)
    gone.updated_at, gone.updated_by = tx.now, _login(tx)
    tx.uow.notes.update(gone, _revision(gone, _login(tx), tx.now))
    return gone


def notes_of(tx: Tx, subjects: Sequence[tuple[NoteSubject, int]]) -> list[Note]:
    """The notes on ``subjects`` the action's principal may read, pinned first."""
    require(tx.principal, Permission.READ, "read notes")
    return [n for n in tx.uow.notes.of(subjects) if _may_read(tx, n)]


def note_history(tx: Tx, note_id: int) -> list[NoteRevision]:
    """Every version of a note one may read (deleted ones too), oldest first."""
    note = tx.uow.notes.get(note_id)
    if not _may_read(tx, note):
        raise NotFoundError("note", note_id)
    return tx.uow.notes.revisions(note_id)


def subjects_of(contact: Contact) -> list[tuple[NoteSubject, int]]:
    """The note subjects a contact is about: its client, subscriber and contact person."""
    return [
        (subject, ident)
        for subject, ident in (
            (NoteSubject.CLIENT, contact.client_id),
            (NoteSubject.SUBSCRIBER, contact.subscriber_id),
            (NoteSubject.CONTACT_PERSON, contact.contact_person_id),
        )
        if ident is not None
    ]


def pinned_notes(tx: Tx, contact: Contact) -> tuple[Note, ...]:
    """The pinned notes on what ``contact`` is about that the action's principal may read."""
    subjects = subjects_of(contact)
    if not subjects:
        return ()
    return tuple(n for n in tx.uow.notes.of(subjects) if n.pinned and _may_read(tx, n))
