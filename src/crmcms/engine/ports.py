"""Storage ports: the repositories and unit of work the engine needs, whatever the backend."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from crmcms.dsl import CompiledRule
from crmcms.model import (
    Appeal,
    Attachment,
    Contact,
    Dictionary,
    HistoryEvent,
    Note,
    NoteRevision,
    NoteSubject,
    OutboxMessage,
    OutboxStatus,
    ProblemOutcome,
    ProblemState,
    Prospect,
    ProspectStatus,
    SlaAttempt,
    SlaClock,
    SlaViewItem,
    SlaViewRow,
    StoredAppeal,
    SystemProblem,
)

__all__ = [
    "AppealRepository",
    "AttachmentRepository",
    "ClockRepository",
    "ContactRepository",
    "DictionaryQueries",
    "HistoryRepository",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "NoteRepository",
    "OutboxRepository",
    "ProblemRepository",
    "ProspectRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


@attrs.frozen
class IdempotencyRecord:
    """The outcome of one external call, kept so that a retry with the same key repeats nothing.

    ``fingerprint`` identifies the request (operation and parameters): a key reused for a
    different request is an error, not a replay. ``result`` is plain JSON-shaped data.
    """

    key: str
    operation: str
    fingerprint: str
    result: Mapping[str, Any]
    at: datetime


class ContactRepository(Protocol):
    """Contacts by id. Records handed out are copies: changing one changes nothing stored."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, contact: Contact) -> None:
        """Store a new contact; an id already stored raises :class:`~crmcms.errors.StorageError`."""

    def get(self, contact_id: int) -> Contact:
        """The contact; :class:`~crmcms.errors.NotFoundError` if there is none."""

    def update(self, contact: Contact) -> None:
        """Stage ``contact`` in place of the stored one with its id: what a contact is for
        (a prospect, then the client it became) is all that ever changes. Unknown raises
        :class:`~crmcms.errors.NotFoundError`."""

    def of_prospect(self, prospect_id: int) -> list[Contact]:
        """The contacts for the prospect (registered for it or attached), in id order, this
        unit's staged changes included."""


class AppealRepository(Protocol):
    """Appeals by id, with the queries the engine runs. Records handed out are copies."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, appeal: Appeal) -> StoredAppeal:
        """Store a new appeal as given (its ``version`` is normally 1) and return the record
        kept: a read-only copy, :class:`~crmcms.model.StoredAppeal`, that later changes to
        ``appeal`` do not reach.

        An id already stored raises :class:`~crmcms.errors.StorageError`.
        """

    def get(self, appeal_id: int) -> Appeal:
        """A plain copy of the appeal, the caller's to change and then :meth:`update`;
        :class:`~crmcms.errors.NotFoundError` if there is none."""

    def update(self, appeal: Appeal) -> StoredAppeal:
        """Save ``appeal`` if the stored version still equals ``appeal.version``.

        On success the stored version and ``appeal.version`` both go up by one, and the
        record kept is returned (read-only, like :meth:`add`'s); to change the appeal
        again, change ``appeal`` or :meth:`get` it again and update once more. A stale
        version (or a missing appeal) raises
        :class:`~crmcms.errors.ConcurrencyError` and stores nothing. The check is repeated
        at commit, so two units of work that read the same version cannot both commit an
        update.
        """

    def in_queue(self, queue: str, *, open_only: bool = True) -> list[Appeal]:
        """Appeals waiting in ``queue``: earliest ``deadline`` first, no deadline last, then id."""

    def children(self, parent_id: int) -> list[Appeal]:
        """Child appeals of ``parent_id`` in id order."""

    def of_contact(self, contact_id: int) -> list[Appeal]:
        """Appeals registered within the contact, in id order."""

    def of_client(self, client_id: int) -> list[Appeal]:
        """Appeals of every contact of the client, by ``registered_at`` then id."""

    def due_before(self, moment: datetime) -> list[Appeal]:
        """Open appeals whose ``deadline`` or ``process_deadline`` is at or before ``moment``,
        in id order: what a deadline scan looks at."""


class HistoryRepository(Protocol):
    """The append-only history of appeals."""

    def next_id(self) -> int:
        """A fresh id; ids grow, so they order events recorded at the same moment."""

    def add(self, event: HistoryEvent) -> None:
        """Append one event."""

    def amend(self, event: HistoryEvent) -> None:
        """Replace the event with ``event``'s id that this unit of work added and has not
        committed: what is committed is never edited."""

    def for_appeal(self, appeal_id: int) -> list[HistoryEvent]:
        """The appeal's events by ``at``, then id (the order they happened in)."""


class ClockRepository(Protocol):
    """The SLA clocks stored for each appeal, as last worked out from its history."""

    def for_appeal(self, appeal_id: int) -> list[SlaClock]:
        """The appeal's stored clocks: first response, resolution, then process clocks."""

    def put(
        self,
        appeal_id: int,
        clocks: Sequence[SlaClock],
        next_escalations: Sequence[datetime | None] = (),
    ) -> None:
        """Replace every stored clock of the appeal with ``clocks``; ``next_escalations``
        gives, clock by clock, when its next escalation level is due (``None``: none)."""

    def due_escalations(self, moment: datetime, limit: int) -> list[tuple[int, str]]:
        """``(appeal id, clock key)`` of clocks whose next escalation is due at ``moment``,
        earliest first, at most ``limit``: what the monitor works through (an index serves
        the search)."""

    def sla_counts(
        self, now: datetime, horizon: datetime, queue: str | None = None
    ) -> list[SlaViewRow]:
        """Open appeals (of ``queue``) whose earliest running clock is due by ``horizon``,
        counted overdue (due by ``now``) and at risk, by queue, by responsible and by topic
        (each dimension's rows by key, ``None`` first): one query over the stored clocks."""

    def sla_appeals(
        self, now: datetime, horizon: datetime, queue: str | None = None, limit: int = 50
    ) -> list[SlaViewItem]:
        """The ``limit`` appeals of :meth:`sla_counts` due first, each with its earliest
        running clock."""

    def claim(self, appeal_id: int) -> bool:
        """Take the appeal for this unit of work's monitor until it is left; ``False`` when
        another monitor holds it (on PostgreSQL; one monitor elsewhere always gets it)."""

    def fired(self, appeal_id: int) -> set[tuple[str, int, int]]:
        """The levels already fired on the appeal's clocks: ``(clock key, cycle, level)``,
        levels by their position in the ladder."""

    def fire(self, appeal_id: int, clock: str, cycle: int, level: int, at: datetime) -> None:
        """Record that a level fired, with the unit of work: a level recorded meanwhile by
        another one makes the commit raise :class:`~crmcms.errors.ConcurrencyError`, so
        nothing fires twice."""

    def attempts(self, appeal_id: int) -> list[SlaAttempt]:
        """The appeal's levels that failed while firing, with this unit of work's staged."""

    def record_attempt(self, attempt: SlaAttempt) -> None:
        """Store ``attempt`` in place of the level's earlier one, with the unit of work."""

    def open_appeal_ids(self, after: int, limit: int) -> list[int]:
        """Ids of open appeals above ``after``, ascending, at most ``limit``: what
        recomputing every appeal's clocks walks through, batch by batch."""


class AttachmentRepository(Protocol):
    """The records of files attached to appeals; the bytes are a file store's."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, attachment: Attachment) -> None:
        """Stage a new attachment record."""

    def get(self, attachment_id: int) -> Attachment:
        """The attachment (staged ones included); unknown raises NotFoundError."""

    def for_appeal(self, appeal_id: int) -> list[Attachment]:
        """The appeal's attachments, oldest first (this unit's staged changes included)."""

    def remove(self, attachment_id: int) -> None:
        """Stage the removal of a record; unknown raises NotFoundError."""

    def referenced(self, sha256s: Collection[str]) -> set[str]:
        """Which of the contents are still attached somewhere (committed records): the
        others may go from the file store."""


class NoteRepository(Protocol):
    """Notes on clients, subscribers and contact persons, with every version of each."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, note: Note) -> None:
        """Stage a new note (version 1) and its first revision."""

    def get(self, note_id: int) -> Note:
        """The note, deleted or not (staged changes included); unknown raises NotFoundError."""

    def update(self, note: Note, revision: NoteRevision) -> None:
        """Stage ``note`` in place of the stored one, whose version must be
        ``note.version - 1`` (else ConcurrencyError, here or at commit), and its revision."""

    def of(self, subjects: Collection[tuple[NoteSubject, int]]) -> list[Note]:
        """The notes not deleted on any of ``subjects``, pinned first, then newest first."""

    def revisions(self, note_id: int) -> list[NoteRevision]:
        """Every version of the note, oldest first."""


class ProspectRepository(Protocol):
    """Prospects: would-be clients, until billing makes clients of them."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, prospect: Prospect) -> None:
        """Stage a new prospect (version 1)."""

    def get(self, prospect_id: int) -> Prospect:
        """A copy of the prospect (staged changes included); unknown raises NotFoundError."""

    def update(self, prospect: Prospect) -> None:
        """Stage ``prospect`` in place of the stored one, whose version must be
        ``prospect.version - 1`` (else ConcurrencyError, here or at commit)."""

    def find(self, *, status: ProspectStatus | None = None, limit: int = 100) -> list[Prospect]:
        """Prospects with ``status`` (any if ``None``), newest first, at most ``limit``."""


class ProblemRepository(Protocol):
    """System problems, the appeals linked to them, and what resolving each did."""

    def next_id(self) -> int:
        """A fresh id; ids are never reused, even when the unit of work rolls back."""

    def add(self, problem: SystemProblem) -> None:
        """Stage a new problem (version 1)."""

    def get(self, problem_id: int) -> SystemProblem:
        """The problem (staged changes included); unknown raises NotFoundError."""

    def update(self, problem: SystemProblem) -> None:
        """Stage ``problem`` in place of the stored one, whose version must be
        ``problem.version - 1`` (else ConcurrencyError, here or at commit)."""

    def find(self, states: Collection[ProblemState] = ()) -> list[SystemProblem]:
        """The problems in any of ``states`` (every one if empty), in id order."""

    def linked(self, problem_id: int, *, after: int = 0, limit: int | None = None) -> list[int]:
        """Ids of the appeals linked to the problem above ``after``, ascending, at most
        ``limit`` (this unit's staged appeals included)."""

    def unresolved(self, problem_id: int, limit: int) -> list[int]:
        """Ids of linked appeals with no outcome of the problem's resolution yet, ascending,
        at most ``limit``: what resolving goes on with."""

    def matching(
        self,
        rule: CompiledRule | None,
        since: datetime | None,
        until: datetime | None,
        check: Callable[[Appeal], bool],
        limit: int,
    ) -> list[int]:
        """Ids of open appeals linked to no problem, registered in ``since``..``until``
        (either end open), that ``rule`` holds for: at most ``limit``, ascending. An SQL
        store runs the rule in the database (:func:`~crmcms.storage.sql.rule_to_sql`);
        one that cannot calls ``check`` on each candidate instead."""

    def record(self, outcome: ProblemOutcome) -> None:
        """Stage what resolving did to one appeal; a second outcome for the same appeal
        and problem raises :class:`~crmcms.errors.ConcurrencyError` (here or at commit)."""

    def outcomes(self, problem_id: int) -> list[ProblemOutcome]:
        """Every outcome of the problem's resolution, by appeal id."""


class IdempotencyRepository(Protocol):
    """Outcomes of external calls by idempotency key."""

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record stored under ``key``, or ``None``."""

    def add(self, record: IdempotencyRecord) -> None:
        """Store a record; a key already stored (or committed meanwhile by another unit of
        work) raises :class:`~crmcms.errors.ConcurrencyError`."""


class OutboxRepository(Protocol):
    """Messages for other systems, written with the change that causes them.

    :meth:`add` and the marks (:meth:`delivered`, :meth:`reschedule`, :meth:`dead`,
    :meth:`release`, :meth:`retry`, :meth:`purge`) are staged like every write of the unit
    of work and take effect at its commit. :meth:`claim` alone acts at once, in a short
    transaction of its own: it must hand each message to one relay only, whatever the
    caller's unit of work does afterwards.
    """

    def next_id(self) -> int:
        """A fresh id; ids grow, so they order messages written at the same moment."""

    def add(self, message: OutboxMessage) -> None:
        """Store a new message (normally pending, no attempts yet)."""

    def claim(
        self,
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        ids: Collection[int] | None = None,
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` pending messages that are due at ``now`` and not leased
        (or whose lease has expired), oldest first; each is leased to ``owner`` until
        ``now + lease`` and its ``attempts`` counted up. ``ids`` narrows the choice.

        Two relays claiming at once never get the same message while its lease runs.
        """

    def delivered(self, message_id: int, *, at: datetime) -> None:
        """The message was delivered at ``at``; its lease ends. A message already
        delivered stays as it is."""

    def reschedule(
        self, message_id: int, owner: str, *, available_at: datetime, error: str
    ) -> None:
        """A try failed with ``error``: pending again from ``available_at``, lease ended.
        Only while ``owner`` still holds the message: one another relay took over is left."""

    def dead(self, message_id: int, owner: str, *, error: str) -> None:
        """Given up with ``error``; only while ``owner`` still holds the message."""

    def release(self, message_id: int, owner: str) -> None:
        """Hand back a claimed message not tried (a relay stopping): its lease ends and
        the claim's attempt is not counted."""

    def get(self, message_id: int) -> OutboxMessage:
        """The message; :class:`~crmcms.errors.NotFoundError` if there is none."""

    def find(self, *, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Messages with ``status`` (any if ``None``), newest first, at most ``limit``."""

    def retry(self, message_ids: Collection[int], *, now: datetime) -> None:
        """Make the messages pending and due at ``now`` with a fresh count of attempts,
        whatever their status; an unknown id raises :class:`~crmcms.errors.NotFoundError`
        and stages nothing."""

    def dead_ids(self) -> list[int]:
        """The ids of every dead message, in id order."""

    def purge(self, *, delivered_before: datetime) -> int:
        """Delete the messages delivered before ``delivered_before``; returns how many."""


class UnitOfWork(Protocol):
    """One transaction over every repository; it rolls back unless :meth:`commit` is called.

    Use it as a context manager. Writes are invisible to other units of work until commit;
    an exception inside the block, or leaving it without committing, discards them.
    """

    @property
    def contacts(self) -> ContactRepository: ...

    @property
    def appeals(self) -> AppealRepository: ...

    @property
    def history(self) -> HistoryRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def clocks(self) -> ClockRepository: ...

    @property
    def attachments(self) -> AttachmentRepository: ...

    @property
    def notes(self) -> NoteRepository: ...

    @property
    def prospects(self) -> ProspectRepository: ...

    @property
    def problems(self) -> ProblemRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make every write of this unit of work durable and visible, or raise and keep none."""

    def rollback(self) -> None:
        """Discard every write not yet committed."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Makes a fresh unit of work; the engine opens one per action."""


class DictionaryQueries(Protocol):
    """Runs the queries of query dictionaries, read-only, with their parameters bound."""

    def items(
        self, dictionary: Dictionary, params: Mapping[str, object]
    ) -> Sequence[tuple[str, str]]:
        """The ``(code, name)`` items the query of ``dictionary`` gives with ``params``
        bound by name (a parameter not in ``params`` is bound as NULL); a refused, failed,
        too slow or too large query raises :class:`~crmcms.errors.DictionaryQueryError`."""
