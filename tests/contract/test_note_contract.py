"""Notes and their revisions: what every storage backend must do alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from crmcms.engine.ports import UnitOfWork
from crmcms.errors import ConcurrencyError, NotFoundError
from crmcms.model import Note, NoteRevision, NoteSubject, NoteVisibility

Factory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def written(uow: UnitOfWork, subject_id: int = 1, **fields: object) -> Note:
    given: dict[str, object] = {
        "subject": NoteSubject.CLIENT,
        "subject_id": subject_id,
        "text": "Звонит по понедельникам",
        "author": "olga",
        "created_at": T0,
        **fields,
    }
    made = Note(id=uow.notes.next_id(), **given)  # type: ignore[arg-type]
    uow.notes.add(made)
    return made


def edited(note: Note, **fields: object) -> tuple[Note, NoteRevision]:
    changed = attrs.evolve(note, version=note.version + 1, **fields)  # type: ignore[arg-type]
    revision = NoteRevision(
        note_id=note.id,
        version=changed.version,
        text=changed.text,
        visibility=changed.visibility,
        pinned=changed.pinned,
        deleted=changed.deleted,
        by="olga",
        at=T0 + timedelta(hours=changed.version),
    )
    return changed, revision


def test_a_note_is_stored_with_the_commit_and_listed_by_subject(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        old = written(uow)
        pinned = written(uow, pinned=True, created_at=T0 - timedelta(days=1))
        other = written(uow, subject_id=2)
        assert uow.notes.of([(NoteSubject.CLIENT, 1)]) == [pinned, old]
    with uow_factory() as uow:
        assert uow.notes.of([(NoteSubject.CLIENT, 1)]) == []  # left without commit
        old = written(uow)
        pinned = written(uow, pinned=True, created_at=T0 - timedelta(days=1))
        other = written(uow, subject_id=2, visibility=NoteVisibility.PRIVATE)
        uow.commit()
    with uow_factory() as uow:
        assert uow.notes.of([(NoteSubject.CLIENT, 1)]) == [pinned, old]  # pinned first
        assert uow.notes.of([(NoteSubject.CLIENT, 2), (NoteSubject.SUBSCRIBER, 1)]) == [other]
        assert uow.notes.get(other.id) == other
        assert [r.version for r in uow.notes.revisions(old.id)] == [1]


def test_edits_keep_every_revision_and_a_deleted_note_leaves_the_lists(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        note = written(uow)
        uow.commit()
    with uow_factory() as uow:
        changed, revision = edited(note, text="Звонит по вторникам")
        uow.notes.update(changed, revision)
        uow.commit()
    with uow_factory() as uow:
        gone, last = edited(changed, deleted=True)
        uow.notes.update(gone, last)
        assert uow.notes.of([(NoteSubject.CLIENT, 1)]) == []
        uow.commit()
    with uow_factory() as uow:
        assert uow.notes.of([(NoteSubject.CLIENT, 1)]) == []
        assert uow.notes.get(note.id) == gone
        history = uow.notes.revisions(note.id)
    assert [(r.version, r.text, r.deleted) for r in history] == [
        (1, "Звонит по понедельникам", False),
        (2, "Звонит по вторникам", False),
        (3, "Звонит по вторникам", True),
    ]


def test_two_edits_of_one_version_conflict_and_the_second_keeps_nothing(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        note = written(uow)
        uow.commit()
    with uow_factory() as one, uow_factory() as other:
        one.notes.update(*edited(note, text="first"))
        other.notes.update(*edited(note, text="second"))
        one.commit()
        with pytest.raises(ConcurrencyError):
            other.commit()
    with uow_factory() as uow:
        assert uow.notes.get(note.id).text == "first"
        assert len(uow.notes.revisions(note.id)) == 2
        with pytest.raises(ConcurrencyError):
            uow.notes.update(*edited(note, text="stale"))  # from version 1, stored is 2


def test_an_unknown_note_is_not_found(uow_factory: Factory) -> None:
    with uow_factory() as uow, pytest.raises(NotFoundError, match="note"):
        uow.notes.get(4242)
