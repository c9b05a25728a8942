"""Notes and their revisions in SQL: staged in the unit of work, written with its commit."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from crmcms.engine.notes import first_revision, sorted_notes
from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import Note, NoteRevision, NoteSubject, NoteVisibility
from crmcms.storage.schema import note, note_revision
from crmcms.storage.sql.codec import to_utc

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlNotes"]


def _note(row: Any) -> Note:
    m = row._mapping
    created = to_utc(m["created_at"])
    assert created is not None
    return Note(
        id=int(m["id"]),
        subject=NoteSubject(m["subject"]),
        subject_id=int(m["subject_id"]),
        text=str(m["text"]),
        author=str(m["author"]),
        created_at=created,
        visibility=NoteVisibility(m["visibility"]),
        pinned=bool(m["pinned"]),
        version=int(m["version"]),
        updated_at=to_utc(m["updated_at"]),
        updated_by=m["updated_by"],
        deleted=bool(m["deleted"]),
    )


def _note_row(item: Note) -> dict[str, Any]:
    return {
        "id": item.id,
        "subject": item.subject.value,
        "subject_id": item.subject_id,
        "text": item.text,
        "author": item.author,
        "created_at": to_utc(item.created_at),
        "visibility": item.visibility.value,
        "pinned": item.pinned,
        "version": item.version,
        "updated_at": to_utc(item.updated_at),
        "updated_by": item.updated_by,
        "deleted": item.deleted,
    }


def _revision(row: Any) -> NoteRevision:
    m = row._mapping
    at = to_utc(m["written_at"])
    assert at is not None
    return NoteRevision(
        note_id=int(m["note_id"]),
        version=int(m["version"]),
        text=str(m["text"]),
        visibility=NoteVisibility(m["visibility"]),
        pinned=bool(m["pinned"]),
        deleted=bool(m["deleted"]),
        by=str(m["written_by"]),
        at=at,
    )


def _revision_row(item: NoteRevision) -> dict[str, Any]:
    return {
        "note_id": item.note_id,
        "version": item.version,
        "text": item.text,
        "visibility": item.visibility.value,
        "pinned": item.pinned,
        "deleted": item.deleted,
        "written_by": item.by,
        "written_at": to_utc(item.at),
    }


class SqlNotes:
    """The notes repository of one :class:`SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[int, Note] = {}
        self.base: dict[int, int] = {}
        """The stored version each note changed here had (0: a new one)."""
        self.revisions_new: list[NoteRevision] = []

    def __bool__(self) -> bool:
        return bool(self.staged)

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("note")

    def add(self, item: Note) -> None:
        if item.id in self.staged:
            raise StorageError(f"note {item.id} is already stored")
        self.staged[item.id] = attrs.evolve(item)
        self.base[item.id] = 0
        self.revisions_new.append(first_revision(item))

    def get(self, note_id: int) -> Note:
        if note_id in self.staged:
            return attrs.evolve(self.staged[note_id])
        rows = list(self._uow.connection().execute(sa.select(note).where(note.c.id == note_id)))
        if not rows:
            raise NotFoundError("note", note_id)
        return _note(rows[0])

    def update(self, item: Note, revision: NoteRevision) -> None:
        current = self.get(item.id).version
        if current != item.version - 1:
            raise ConcurrencyError("note", item.id, item.version - 1, current)
        self.base.setdefault(item.id, current)
        self.staged[item.id] = attrs.evolve(item)
        self.revisions_new.append(revision)

    def of(self, subjects: Collection[tuple[NoteSubject, int]]) -> list[Note]:
        wanted = set(subjects)
        if not wanted:
            return []
        which = sa.or_(
            *(sa.and_(note.c.subject == s.value, note.c.subject_id == i) for s, i in wanted)
        )
        query = sa.select(note).where(which, note.c.deleted == sa.false())
        found = {n.id: n for n in map(_note, self._uow.connection().execute(query))}
        for staged in self.staged.values():
            if (staged.subject, staged.subject_id) in wanted and not staged.deleted:
                found[staged.id] = attrs.evolve(staged)
            else:
                found.pop(staged.id, None)
        return sorted_notes(found.values())

    def revisions(self, note_id: int) -> list[NoteRevision]:
        query = (
            sa.select(note_revision)
            .where(note_revision.c.note_id == note_id)
            .order_by(note_revision.c.version)
        )
        stored = [_revision(r) for r in self._uow.connection().execute(query)]
        return [*stored, *(r for r in self.revisions_new if r.note_id == note_id)]

    def write(self, conn: sa.Connection) -> None:
        """Inside the commit: a note changed meanwhile by another unit of work refuses it."""
        new = [n for k, n in self.staged.items() if self.base[k] == 0]
        if new:
            conn.execute(sa.insert(note), [_note_row(n) for n in new])
        for key, item in self.staged.items():
            base = self.base[key]
            if base == 0:
                continue
            row = _note_row(item)
            changed = conn.execute(
                sa.update(note).where(note.c.id == key, note.c.version == base).values(**row)
            )
            if changed.rowcount != 1:
                raise ConcurrencyError("note", key, base, None)
        conn.execute(sa.insert(note_revision), [_revision_row(r) for r in self.revisions_new])
        self.staged, self.base, self.revisions_new = {}, {}, []
