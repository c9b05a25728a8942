"""In-memory storage adapter: the engine's ports over dictionaries, for tests, demos and benches."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import attrs

from crmcms.dsl import CompiledRule
from crmcms.engine.notes import first_revision, sorted_notes
from crmcms.engine.ports import IdempotencyRecord
from crmcms.engine.records import replace_staged
from crmcms.errors import ConcurrencyError, NotFoundError, StorageError
from crmcms.model import (
    Appeal,
    Attachment,
    Contact,
    HistoryEvent,
    Note,
    NoteRevision,
    NoteSubject,
    OutboxMessage,
    ProblemOutcome,
    ProblemState,
    Prospect,
    SlaAttempt,
    SlaClock,
    SlaViewItem,
    SlaViewRow,
    StoredAppeal,
    SystemProblem,
    copy_appeal,
)
from crmcms.storage.memory_outbox import MemoryOutbox
from crmcms.storage.memory_prospects import MemoryProspects

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


_store = StoredAppeal.of
"""The record kept of an appeal given to ``add`` or ``update``: a read-only copy (see
:class:`~crmcms.model.StoredAppeal`), which they return."""
_copy_appeal = copy_appeal


def _deadline_key(appeal: Appeal) -> tuple[bool, datetime | None, int]:
    return (appeal.deadline is None, appeal.deadline, appeal.id)


class MemoryStore:
    """The committed state, shared by the units of work it makes. Thread-safe at commit."""

    def __init__(self) -> None:
        self.contacts: dict[int, Contact] = {}
        self.appeals: dict[int, Appeal] = {}
        self.history: dict[int, list[HistoryEvent]] = {}
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.outbox: dict[int, OutboxMessage] = {}
        self.clocks: dict[int, tuple[SlaClock, ...]] = {}
        """Each appeal's SLA clocks (immutable records) as last stored."""
        self.escalations: dict[tuple[int, str], datetime] = {}
        """When each clock's next escalation level is due, by (appeal id, clock key)."""
        self.fired: dict[tuple[int, str, int, int], datetime] = {}
        self.attempts: dict[tuple[int, str, int, int], SlaAttempt] = {}
        """Escalation levels that failed while firing, by (appeal, clock, cycle, level)."""
        self.attachments: dict[int, Attachment] = {}
        self.notes: dict[int, Note] = {}
        self.note_revisions: dict[int, list[NoteRevision]] = {}
        self.prospects: dict[int, Prospect] = {}
        self.problems: dict[int, SystemProblem] = {}
        self.outcomes: dict[tuple[int, int], ProblemOutcome] = {}
        self.lock = threading.Lock()
        """Held while a commit checks and writes (never while another lock is taken)."""
        # Ids come from counters outside transactions, like database sequences.
        self.contact_ids = itertools.count(1)
        self.appeal_ids = itertools.count(1)
        self.event_ids = itertools.count(1)
        self.message_ids = itertools.count(1)
        self.attachment_ids = itertools.count(1)
        self.note_ids = itertools.count(1)
        self.prospect_ids = itertools.count(1)
        self.problem_ids = itertools.count(1)
        self.idle: list[MemoryUnitOfWork] = []
        """Units of work left, with nothing staged, for the next actions to take again."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A unit of work; pass ``store.unit_of_work`` as the engine's factory.

        An engine opens one per action, and making one (with its four repositories) cost
        more than many actions' own work, so units left are kept and handed out again.
        """
        try:
            uow = self.idle.pop()
        except IndexError:
            return MemoryUnitOfWork(self)
        uow.idle = False
        return uow

    def claim(self, uow: MemoryUnitOfWork) -> None:
        """Take ``uow`` out of :attr:`idle`: someone entered it again after leaving it."""
        with self.lock:
            if uow in self.idle:
                self.idle.remove(uow)
            uow.idle = False


_IDLE = 8
"""Units of work a store keeps for reuse: enough for those open at once in practice."""


class _Contacts:
    __slots__ = ("_store", "changed", "new", "next_id")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.new: dict[int, Contact] = {}
        self.changed: dict[int, Contact] = {}
        """Stored contacts given another prospect or client here."""
        # Straight from the store's counter: no method of ours in between.
        self.next_id: Callable[[], int] = store.contact_ids.__next__

    def reset(self) -> None:
        """Drop what is staged."""
        self.new.clear()
        self.changed.clear()

    def add(self, contact: Contact) -> None:
        if contact.id in self.new or contact.id in self._store.contacts:
            raise StorageError(f"contact {contact.id} is already stored")
        self.new[contact.id] = contact  # immutable: nothing to copy

    def get(self, contact_id: int) -> Contact:
        new = self.new
        found = (new and new.get(contact_id)) or self._store.contacts.get(contact_id)
        if found is None:
            raise NotFoundError("contact", contact_id)
        changed = self.changed
        return changed.get(contact_id, found) if changed else found

    def update(self, contact: Contact) -> None:
        if contact.id in self.new:
            self.new[contact.id] = contact
            return
        if contact.id not in self._store.contacts:
            raise NotFoundError("contact", contact.id)
        self.changed[contact.id] = contact

    def every(self) -> dict[int, Contact]:
        """Every contact as this unit of work sees it."""
        return {**self._store.contacts, **self.changed, **self.new}

    def of_prospect(self, prospect_id: int) -> list[Contact]:
        found = [c for c in self.every().values() if c.prospect_id == prospect_id]
        return sorted(found, key=lambda c: c.id)


class _Appeals:
    __slots__ = ("_contacts", "_store", "base_versions", "changed", "new", "next_id")

    def __init__(self, store: MemoryStore, contacts: _Contacts) -> None:
        self._store = store
        self._contacts = contacts
        self.new: dict[int, Appeal] = {}
        self.changed: dict[int, Appeal] = {}
        self.base_versions: dict[int, int] = {}
        """Committed version each updated appeal was read at, re-checked on commit."""
        self.next_id: Callable[[], int] = store.appeal_ids.__next__

    def reset(self) -> None:
        """Drop what is staged (the store copied what it keeps)."""
        self.new.clear()
        self.changed.clear()
        self.base_versions.clear()

    def add(self, appeal: Appeal) -> StoredAppeal:
        if appeal.id in self.new or appeal.id in self._store.appeals:
            raise StorageError(f"appeal {appeal.id} is already stored")
        stored = self.new[appeal.id] = _store(appeal)
        return stored

    def get(self, appeal_id: int) -> Appeal:
        new, changed = self.new, self.changed
        # What is staged first; most units of work have staged nothing when they read.
        found = (
            (new and new.get(appeal_id))
            or (changed and changed.get(appeal_id))
            or self._store.appeals.get(appeal_id)
        )
        if found is None:
            raise NotFoundError("appeal", appeal_id)
        return _copy_appeal(found)

    def update(self, appeal: Appeal) -> StoredAppeal:
        appeal_id = appeal.id
        version = appeal.version
        new = self.new
        staged = new and new.get(appeal_id)
        if staged:  # added in this unit of work: no committed version to check
            if staged.version != version:
                raise ConcurrencyError("appeal", appeal_id, version, staged.version)
            appeal.version = version + 1
            stored = new[appeal_id] = _store(appeal)
            return stored
        changed = self.changed
        found = (changed and changed.get(appeal_id)) or self._store.appeals.get(appeal_id)
        if found is None or found.version != version:
            raise ConcurrencyError(
                "appeal", appeal_id, version, None if found is None else found.version
            )
        appeal.version = version + 1
        self.base_versions.setdefault(appeal_id, version)  # the first update's base counts
        stored = changed[appeal_id] = _store(appeal)
        return stored

    def _all(self) -> list[Appeal]:
        merged = {**self._store.appeals, **self.changed, **self.new}
        return list(merged.values())

    def in_queue(self, queue: str, *, open_only: bool = True) -> list[Appeal]:
        found = [a for a in self._all() if a.queue == queue and (a.is_open or not open_only)]
        return [_copy_appeal(a) for a in sorted(found, key=_deadline_key)]

    def children(self, parent_id: int) -> list[Appeal]:
        found = [a for a in self._all() if a.parent_id == parent_id]
        return [_copy_appeal(a) for a in sorted(found, key=lambda a: a.id)]

    def of_contact(self, contact_id: int) -> list[Appeal]:
        found = [a for a in self._all() if a.contact_id == contact_id]
        return [_copy_appeal(a) for a in sorted(found, key=lambda a: a.id)]

    def of_client(self, client_id: int) -> list[Appeal]:
        contacts = self._contacts.every()
        mine = {c.id for c in contacts.values() if c.client_id == client_id}
        found = [a for a in self._all() if a.contact_id in mine]
        return [_copy_appeal(a) for a in sorted(found, key=lambda a: (a.registered_at, a.id))]

    def due_before(self, moment: datetime) -> list[Appeal]:
        found = [
            a
            for a in self._all()
            if a.is_open
            and any(d is not None and d <= moment for d in (a.deadline, a.process_deadline))
        ]
        return [_copy_appeal(a) for a in sorted(found, key=lambda a: a.id)]


class _History:
    __slots__ = ("_store", "add", "new", "next_id")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.new: list[HistoryEvent] = []
        self.next_id: Callable[[], int] = store.event_ids.__next__
        self.add: Callable[[HistoryEvent], None] = self.new.append
        """Append one event (to what is staged)."""

    def reset(self) -> None:
        """Drop what is staged."""
        self.new.clear()

    def amend(self, event: HistoryEvent) -> None:
        replace_staged(self.new, event)

    def for_appeal(self, appeal_id: int) -> list[HistoryEvent]:
        events = [*self._store.history.get(appeal_id, ()), *self.new]
        return sorted((e for e in events if e.appeal_id == appeal_id), key=lambda e: (e.at, e.id))


class _Idempotency:
    __slots__ = ("_store", "new")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.new: dict[str, IdempotencyRecord] = {}

    def reset(self) -> None:
        """Drop what is staged."""
        self.new.clear()

    def get(self, key: str) -> IdempotencyRecord | None:
        return self.new.get(key) or self._store.idempotency.get(key)

    def add(self, record: IdempotencyRecord) -> None:
        if self.get(record.key) is not None:
            raise ConcurrencyError("idempotency key", record.key, 0, 1)
        self.new[record.key] = record


class _Clocks:
    __slots__ = ("_appeals", "_store", "attempts_new", "escalations", "fired_new", "new")

    def __init__(self, store: MemoryStore, appeals: _Appeals) -> None:
        self._store = store
        self._appeals = appeals
        self.new: dict[int, tuple[SlaClock, ...]] = {}
        self.escalations: dict[int, dict[str, datetime]] = {}
        self.fired_new: dict[tuple[int, str, int, int], datetime] = {}
        self.attempts_new: dict[tuple[int, str, int, int], SlaAttempt] = {}

    @property
    def staged(self) -> bool:
        return bool(self.new or self.fired_new or self.attempts_new)

    def reset(self) -> None:
        """Drop what is staged."""
        self.new.clear()
        self.escalations.clear()
        self.fired_new.clear()
        self.attempts_new.clear()

    def attempts(self, appeal_id: int) -> list[SlaAttempt]:
        both = {**self._store.attempts, **self.attempts_new}
        return [both[k] for k in sorted(both) if k[0] == appeal_id]

    def record_attempt(self, attempt: SlaAttempt) -> None:
        key = (attempt.appeal_id, attempt.clock, attempt.cycle, attempt.level)
        self.attempts_new[key] = attempt

    def due_escalations(self, moment: datetime, limit: int) -> list[tuple[int, str]]:
        found = sorted((at, key) for key, at in self._store.escalations.items() if at <= moment)
        return [key for _, key in found[:limit]]

    def claim(self, appeal_id: int) -> bool:
        return True

    def _earliest(self, horizon: datetime, queue: str | None) -> list[tuple[Appeal, SlaClock]]:
        found = []
        for a in self._appeals._all():
            if not a.is_open or (queue is not None and a.queue != queue):
                continue
            clocks = self.for_appeal(a.id)
            due = [c for c in clocks if c.stopped_at is None and c.due is not None]
            due = [c for c in due if c.due is not None and c.due <= horizon]
            if due:
                found.append((a, min(due, key=lambda c: (c.due, c.key))))
        return found

    def sla_counts(
        self, now: datetime, horizon: datetime, queue: str | None = None
    ) -> list[SlaViewRow]:
        found = self._earliest(horizon, queue)
        rows = []
        for dimension, field in (
            ("queue", "queue"),
            ("operator", "responsible"),
            ("topic", "topic"),
        ):
            counts: dict[str | None, list[int]] = {}
            for a, c in found:
                assert c.due is not None
                tally = counts.setdefault(getattr(a, field), [0, 0])
                tally[0 if c.due <= now else 1] += 1
            ordered = sorted(counts.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
            rows += [SlaViewRow(dimension, k, v[0], v[1]) for k, v in ordered]
        return rows

    def sla_appeals(
        self, now: datetime, horizon: datetime, queue: str | None = None, limit: int = 50
    ) -> list[SlaViewItem]:
        found = sorted(self._earliest(horizon, queue), key=lambda ac: (ac[1].due, ac[0].id))
        items = []
        for a, c in found[:limit]:
            assert c.due is not None
            items.append(
                SlaViewItem(a.id, c.key, c.due, c.due <= now, a.queue, a.responsible, a.topic)
            )
        return items

    def fired(self, appeal_id: int) -> set[tuple[str, int, int]]:
        both = (*self._store.fired, *self.fired_new)
        return {k[1:] for k in both if k[0] == appeal_id}

    def fire(self, appeal_id: int, clock: str, cycle: int, level: int, at: datetime) -> None:
        self.fired_new[(appeal_id, clock, cycle, level)] = at

    def for_appeal(self, appeal_id: int) -> list[SlaClock]:
        found = self.new.get(appeal_id)
        if found is None:
            found = self._store.clocks.get(appeal_id, ())
        return list(found)

    def put(
        self,
        appeal_id: int,
        clocks: Sequence[SlaClock],
        next_escalations: Sequence[datetime | None] = (),
    ) -> None:
        self.new[appeal_id] = tuple(clocks)
        self.escalations[appeal_id] = {
            c.key: at for c, at in zip(clocks, next_escalations, strict=False) if at is not None
        }

    def open_appeal_ids(self, after: int, limit: int) -> list[int]:
        found = sorted(a.id for a in self._appeals._all() if a.is_open and a.id > after)
        return found[:limit]

    def conflict(self) -> tuple[int, str, int, int] | None:
        """A level staged here that another unit of work fired meanwhile, if any."""
        return next((k for k in self.fired_new if k in self._store.fired), None)

    def write(self) -> None:
        """Hand what is staged to the store (its lock held by the caller); a level fired
        meanwhile by another unit of work refuses the whole commit."""
        store = self._store
        store.fired.update(self.fired_new)
        store.attempts.update(self.attempts_new)
        for appeal_id in self.new:
            for clock in store.clocks.get(appeal_id, ()):
                store.escalations.pop((appeal_id, clock.key), None)
            for key, at in self.escalations.get(appeal_id, {}).items():
                store.escalations[(appeal_id, key)] = at
        store.clocks.update(self.new)
        self.reset()


class _Attachments:
    __slots__ = ("_store", "new", "next_id", "removed")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.new: dict[int, Attachment] = {}
        self.removed: set[int] = set()
        self.next_id: Callable[[], int] = store.attachment_ids.__next__

    @property
    def staged(self) -> bool:
        return bool(self.new or self.removed)

    def reset(self) -> None:
        self.new.clear()
        self.removed.clear()

    def add(self, attachment: Attachment) -> None:
        if attachment.id in self.new or attachment.id in self._store.attachments:
            raise StorageError(f"attachment {attachment.id} is already stored")
        self.new[attachment.id] = attrs.evolve(attachment)

    def _visible(self) -> dict[int, Attachment]:
        found = {**self._store.attachments, **self.new}
        for gone in self.removed:
            found.pop(gone, None)
        return found

    def get(self, attachment_id: int) -> Attachment:
        found = self._visible().get(attachment_id)
        if found is None:
            raise NotFoundError("attachment", attachment_id)
        return attrs.evolve(found)

    def for_appeal(self, appeal_id: int) -> list[Attachment]:
        return [
            attrs.evolve(a) for _, a in sorted(self._visible().items()) if a.appeal_id == appeal_id
        ]

    def remove(self, attachment_id: int) -> None:
        self.get(attachment_id)
        if self.new.pop(attachment_id, None) is None:
            self.removed.add(attachment_id)

    def referenced(self, sha256s: Collection[str]) -> set[str]:
        wanted = set(sha256s)
        with self._store.lock:
            return {a.sha256 for a in self._store.attachments.values() if a.sha256 in wanted}

    def conflict(self) -> int | None:
        """An attachment removed here that another unit of work removed meanwhile."""
        stored = self._store.attachments
        return next((gone for gone in self.removed if gone not in stored), None)

    def write(self) -> None:
        """Inside the commit, under the store's lock."""
        stored = self._store.attachments
        for gone in self.removed:
            stored.pop(gone, None)
        stored.update(self.new)
        self.reset()


class _Notes:
    __slots__ = ("_store", "base", "next_id", "staged_notes", "staged_revisions")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.staged_notes: dict[int, Note] = {}
        self.base: dict[int, int] = {}
        """The stored version each note changed here had (0 for a new note)."""
        self.staged_revisions: list[NoteRevision] = []
        self.next_id: Callable[[], int] = store.note_ids.__next__

    @property
    def staged(self) -> bool:
        return bool(self.staged_notes)

    def reset(self) -> None:
        self.staged_notes.clear()
        self.base.clear()
        self.staged_revisions.clear()

    def add(self, note: Note) -> None:
        if note.id in self.staged_notes or note.id in self._store.notes:
            raise StorageError(f"note {note.id} is already stored")
        self.staged_notes[note.id] = attrs.evolve(note)
        self.base[note.id] = 0
        self.staged_revisions.append(first_revision(note))

    def get(self, note_id: int) -> Note:
        found = self.staged_notes.get(note_id) or self._store.notes.get(note_id)
        if found is None:
            raise NotFoundError("note", note_id)
        return attrs.evolve(found)

    def update(self, note: Note, revision: NoteRevision) -> None:
        current = self.get(note.id).version
        if current != note.version - 1:
            raise ConcurrencyError("note", note.id, note.version - 1, current)
        self.base.setdefault(note.id, current)
        self.staged_notes[note.id] = attrs.evolve(note)
        self.staged_revisions.append(revision)

    def of(self, subjects: Collection[tuple[NoteSubject, int]]) -> list[Note]:
        wanted = set(subjects)
        found = {**self._store.notes, **self.staged_notes}
        return sorted_notes(
            attrs.evolve(n)
            for n in found.values()
            if not n.deleted and (n.subject, n.subject_id) in wanted
        )

    def revisions(self, note_id: int) -> list[NoteRevision]:
        stored = self._store.note_revisions.get(note_id, [])
        return [*stored, *(r for r in self.staged_revisions if r.note_id == note_id)]

    def conflict(self) -> tuple[int, int, int | None] | None:
        """A note changed here that another unit of work changed meanwhile."""
        for note_id, base in self.base.items():
            stored = self._store.notes.get(note_id)
            version = 0 if stored is None else stored.version
            if version != base:
                return note_id, base, version
        return None

    def write(self) -> None:
        """Inside the commit, under the store's lock."""
        self._store.notes.update(self.staged_notes)
        for revision in self.staged_revisions:
            self._store.note_revisions.setdefault(revision.note_id, []).append(revision)
        self.reset()


class _Problems:
    __slots__ = ("_appeals", "_store", "base", "next_id", "staged", "staged_outcomes")

    def __init__(self, store: MemoryStore, appeals: _Appeals) -> None:
        self._store = store
        self._appeals = appeals
        self.staged: dict[int, SystemProblem] = {}
        self.base: dict[int, int] = {}
        """The stored version each problem changed here had (0 for a new one)."""
        self.staged_outcomes: dict[tuple[int, int], ProblemOutcome] = {}
        self.next_id: Callable[[], int] = store.problem_ids.__next__

    def __bool__(self) -> bool:
        return bool(self.staged or self.staged_outcomes)

    def reset(self) -> None:
        self.staged.clear()
        self.base.clear()
        self.staged_outcomes.clear()

    def add(self, problem: SystemProblem) -> None:
        if problem.id in self.staged or problem.id in self._store.problems:
            raise StorageError(f"system problem {problem.id} is already stored")
        self.staged[problem.id] = _copy_problem(problem)
        self.base[problem.id] = 0

    def get(self, problem_id: int) -> SystemProblem:
        found = self.staged.get(problem_id) or self._store.problems.get(problem_id)
        if found is None:
            raise NotFoundError("system problem", problem_id)
        return _copy_problem(found)

    def update(self, problem: SystemProblem) -> None:
        current = self.get(problem.id).version
        if current != problem.version - 1:
            raise ConcurrencyError("system problem", problem.id, problem.version - 1, current)
        self.base.setdefault(problem.id, current)
        self.staged[problem.id] = _copy_problem(problem)

    def find(self, states: Collection[ProblemState] = ()) -> list[SystemProblem]:
        every = {**self._store.problems, **self.staged}
        return [
            _copy_problem(p) for _, p in sorted(every.items()) if not states or p.state in states
        ]

    def _appeals_now(self) -> list[Appeal]:
        return self._appeals._all()

    def linked(self, problem_id: int, *, after: int = 0, limit: int | None = None) -> list[int]:
        found = sorted(
            a.id for a in self._appeals_now() if a.system_problem_id == problem_id and a.id > after
        )
        return found if limit is None else found[:limit]

    def unresolved(self, problem_id: int, limit: int) -> list[int]:
        done = {a for p, a in (*self._store.outcomes, *self.staged_outcomes) if p == problem_id}
        return [a for a in self.linked(problem_id) if a not in done][:limit]

    def matching(
        self,
        rule: CompiledRule | None,
        since: datetime | None,
        until: datetime | None,
        check: Callable[[Appeal], bool],
        limit: int,
    ) -> list[int]:
        found = []
        for appeal in sorted(self._appeals_now(), key=lambda a: a.id):
            if not appeal.is_open or appeal.system_problem_id is not None:
                continue
            if since is not None and appeal.registered_at < since:
                continue
            if until is not None and appeal.registered_at >= until:
                continue
            if check(appeal):
                found.append(appeal.id)
                if len(found) >= limit:
                    break
        return found

    def record(self, outcome: ProblemOutcome) -> None:
        key = (outcome.problem_id, outcome.appeal_id)
        if key in self.staged_outcomes or key in self._store.outcomes:
            raise ConcurrencyError("problem outcome", key, 0, 1)
        self.staged_outcomes[key] = outcome

    def outcomes(self, problem_id: int) -> list[ProblemOutcome]:
        every = {**self._store.outcomes, **self.staged_outcomes}
        return [o for (p, _), o in sorted(every.items()) if p == problem_id]

    def conflict(self) -> tuple[str, object, int, int | None] | None:
        """A problem changed here that another unit of work changed meanwhile, or an
        outcome another one recorded first."""
        for problem_id, base in self.base.items():
            stored = self._store.problems.get(problem_id)
            version = 0 if stored is None else stored.version
            if version != base:
                return "system problem", problem_id, base, version
        for key in self.staged_outcomes:
            if key in self._store.outcomes:
                return "problem outcome", key, 0, 1
        return None

    def write(self) -> None:
        """Inside the commit, under the store's lock."""
        self._store.problems.update(self.staged)
        self._store.outcomes.update(self.staged_outcomes)
        self.reset()


def _copy_problem(problem: SystemProblem) -> SystemProblem:
    return attrs.evolve(problem, values=dict(problem.values))


class MemoryUnitOfWork:
    """A transaction over a :class:`MemoryStore`: writes are staged here until commit.

    A unit of work may be entered again once left (what it staged is gone by then), but
    not while it is in use. Once left, the store may hand it to its next caller: it holds
    nothing of the last one.
    """

    __slots__ = (
        "_store",
        "appeals",
        "attachments",
        "clocks",
        "contacts",
        "history",
        "idempotency",
        "idle",
        "inside",
        "notes",
        "outbox",
        "problems",
        "prospects",
    )

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.contacts = _Contacts(store)
        self.appeals = _Appeals(store, self.contacts)
        self.history = _History(store)
        self.idempotency = _Idempotency(store)
        self.outbox = MemoryOutbox(store.outbox, store.lock, store.message_ids.__next__)
        self.clocks = _Clocks(store, self.appeals)
        self.attachments = _Attachments(store)
        self.notes = _Notes(store)
        self.prospects = MemoryProspects(store.prospects, store.prospect_ids)
        self.problems = _Problems(store, self.appeals)
        self.idle = False
        """Whether it is among the store's idle units of work."""
        self.inside = False
        """Whether a ``with`` block is using it."""

    def __enter__(self) -> Self:
        if self.idle:  # left before and entered again: the store must not hand it out
            self._store.claim(self)
        if self.inside:
            raise StorageError("this unit of work is already in use")
        self.inside = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.inside = False
        appeals = self.appeals
        # After a commit (most exits) nothing is staged: no rollback to do.
        if (
            appeals.changed
            or self.history.new
            or appeals.new
            or self.contacts.new
            or self.contacts.changed
            or self.idempotency.new
            or self.outbox
            or self.clocks.staged
            or self.attachments.staged
            or self.notes.staged
            or self.prospects.staged
            or self.problems
        ):
            self.rollback()
        idle = self._store.idle
        if len(idle) < _IDLE:
            self.idle = True
            idle.append(self)

    def commit(self) -> None:
        appeals, events = self.appeals, self.history.new
        changed, new = appeals.changed, appeals.new
        if (
            new
            or self.contacts.new
            or self.contacts.changed
            or self.idempotency.new
            or self.outbox
            or self.attachments.staged
            or self.notes.staged
            or self.prospects.staged
            or self.problems
        ):
            self._commit_all()
        elif changed or events or self.clocks.staged:
            # The usual action: appeals it read and changed, and their history events.
            store = self._store
            stored = store.appeals
            with store.lock:
                if changed:
                    self._check_versions(stored)
                self._check_fired()
                if changed:
                    stored.update(changed)
                if events:
                    _append_history(store.history, events)
                if self.clocks.staged:
                    self.clocks.write()
            if changed:
                changed.clear()
                appeals.base_versions.clear()
            events.clear()

    def _check_versions(self, stored: dict[int, Appeal]) -> None:
        """Refuse (and roll back) if an appeal changed here was committed meanwhile."""
        for appeal_id, base in self.appeals.base_versions.items():
            current = stored.get(appeal_id)
            if current is None or current.version != base:
                self.rollback()
                found = None if current is None else current.version
                raise ConcurrencyError("appeal", appeal_id, base, found)

    def _commit_all(self) -> None:
        appeals, history, contacts, keys = (
            self.appeals,
            self.history,
            self.contacts,
            self.idempotency,
        )
        new, changed, events = appeals.new, appeals.changed, history.new
        store = self._store
        with store.lock:
            # Check everything before writing anything, so a conflict leaves the store as it was.
            stored = store.appeals
            self._check_versions(stored)
            self._check_fired()
            gone = self.attachments.conflict()
            if gone is not None:
                self.rollback()
                raise ConcurrencyError("attachment", gone, 1, None)
            edited = self.notes.conflict()
            if edited is not None:
                self.rollback()
                raise ConcurrencyError("note", *edited)
            converted = self.prospects.conflict()
            if converted is not None:
                self.rollback()
                raise ConcurrencyError("prospect", *converted)
            clash = self.problems.conflict()
            if clash is not None:
                self.rollback()
                raise ConcurrencyError(*clash)
            if keys.new:
                for key in keys.new:
                    if key in store.idempotency:
                        self.rollback()
                        raise ConcurrencyError("idempotency key", key, 0, 1)
                store.idempotency.update(keys.new)
                keys.new.clear()
            # Only what was staged is written, and the staging goes once the store has it.
            if contacts.new or contacts.changed:
                store.contacts.update(contacts.new)
                store.contacts.update(contacts.changed)
                contacts.reset()
            if changed:
                stored.update(changed)
                changed.clear()
                appeals.base_versions.clear()
            if new:
                stored.update(new)
                new.clear()
            if events:
                _append_history(store.history, events)
                events.clear()
            if self.outbox:
                self.outbox.write()
            if self.clocks.staged:
                self.clocks.write()
            if self.attachments.staged:
                self.attachments.write()
            if self.notes.staged:
                self.notes.write()
            if self.prospects.staged:
                self.prospects.write()
            if self.problems:
                self.problems.write()

    def _check_fired(self) -> None:
        """Refuse (and roll back) if a level fired here was fired meanwhile elsewhere."""
        found = self.clocks.conflict()
        if found is not None:
            self.rollback()
            raise ConcurrencyError("escalation level", found, 0, 1)

    def rollback(self) -> None:
        # The repositories stay; only what they staged goes, and most actions stage in two
        # of them at most.
        if self.appeals.new or self.appeals.changed:
            self.appeals.reset()
        if self.contacts.new or self.contacts.changed:
            self.contacts.reset()
        if self.history.new:
            self.history.reset()
        if self.idempotency.new:
            self.idempotency.reset()
        if self.outbox:
            self.outbox.reset()
        if self.clocks.staged:
            self.clocks.reset()
        if self.attachments.staged:
            self.attachments.reset()
        if self.notes.staged:
            self.notes.reset()
        if self.prospects.staged:
            self.prospects.reset()
        if self.problems:
            self.problems.reset()


def _append_history(histories: dict[int, list[HistoryEvent]], events: list[HistoryEvent]) -> None:
    """Add staged events to the appeals' histories."""
    first = events[0].appeal_id
    if len(events) <= 2 and events[-1].appeal_id == first:
        # The usual action: one or two events of one appeal, stored at once.
        histories.setdefault(first, []).extend(events)
        return
    last: int | None = None
    found: list[HistoryEvent] = []
    for event in events:
        # An action's events are mostly of one appeal: one lookup for them all.
        if event.appeal_id != last:
            last = event.appeal_id
            found = histories.setdefault(last, [])
        found.append(event)
