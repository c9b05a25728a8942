"""Notes on clients, subscribers and contact persons: writing, editing, reading."""

from __future__ import annotations

from crmcms.engine import notes as notebook
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.model import Note, NoteRevision, NoteSubject, NoteVisibility

__all__ = ["NoteDesk"]


class NoteDesk(ActionRunner):
    """The engine's note actions, each its own transaction."""

    def add_note(
        self,
        operator: Acting,
        subject: NoteSubject,
        subject_id: int,
        text: str,
        *,
        visibility: NoteVisibility = NoteVisibility.TEAM,
        pinned: bool = False,
    ) -> Note:
        """Write a note on a client, subscriber or contact person (which its directory must
        know); needs ``handle``. A pinned note comes back with every contact registered for
        its subject (:attr:`ContactRegistration.pinned_notes`)."""
        who, _ = self._acting(operator)
        self.limits.check(f"note on {subject.value} {subject_id}", texts={"text": text})
        return self.run(
            lambda tx: notebook.add_note(tx, subject, subject_id, text, visibility, pinned),
            principal=who,
        )

    def edit_note(
        self,
        note_id: int,
        operator: Acting,
        *,
        text: str | None = None,
        visibility: NoteVisibility | None = None,
        pinned: bool | None = None,
        expected_version: int | None = None,
    ) -> Note:
        """Change a note (its author only); the earlier version stays as a revision."""
        who, _ = self._acting(operator)
        self.limits.check(f"note {note_id}", texts={"text": text or ""})
        return self.run(
            lambda tx: notebook.edit_note(
                tx,
                note_id,
                text=text,
                visibility=visibility,
                pinned=pinned,
                expected_version=expected_version,
            ),
            principal=who,
        )

    def delete_note(self, note_id: int, operator: Acting) -> Note:
        """Delete a note (its author only): gone from every list, kept in its history."""
        who, _ = self._acting(operator)
        return self.run(lambda tx: notebook.delete_note(tx, note_id), principal=who)

    def notes(
        self, subject: NoteSubject, subject_id: int, *, operator: Acting | None = None
    ) -> list[Note]:
        """The notes on one client, subscriber or contact person that ``operator`` may
        read: pinned first, then the newest first."""
        return self.run(
            lambda tx: notebook.notes_of(tx, [(subject, subject_id)]),
            principal=self.principal(operator),
        )

    def note_history(self, note_id: int, *, operator: Acting | None = None) -> list[NoteRevision]:
        """Every version of a note, oldest first, the deletion included."""
        return self.run(
            lambda tx: notebook.note_history(tx, note_id), principal=self.principal(operator)
        )
