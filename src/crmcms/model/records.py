"""Runtime records: contacts, appeals, attachments, notes and system problems."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

import attrs

from crmcms.errors import ReadOnlyRecordError, WorkflowError
from crmcms.model.places import Direction
from crmcms.model.values import AttributeValue

__all__ = [
    "OPEN_PROBLEM_STATES",
    "Appeal",
    "AppealState",
    "Attachment",
    "Contact",
    "Note",
    "NoteRevision",
    "NoteSubject",
    "NoteVisibility",
    "ProblemOutcome",
    "ProblemState",
    "StoredAppeal",
    "SystemProblem",
    "copy_appeal",
]


@attrs.frozen(kw_only=True)
class Contact:
    """One interaction with a client; it holds one or more appeals.

    A contact records what happened and is never edited, so it is immutable: storage hands
    out the stored record itself, with nothing to copy.
    """

    id: int
    place: str
    direction: Direction
    channel: str
    operator: str
    registered_at: datetime
    template: str | None = None
    client_id: int | None = None
    subscriber_id: int | None = None
    contact_person_id: int | None = None
    prospect_id: int | None = None
    comment: str = ""


class AppealState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


@attrs.define(kw_only=True)
class Appeal:
    """A client's request handled along a route; refers to its route by code and version.

    ``version`` counts saved changes: storage refuses a write whose version is stale
    (optimistic concurrency) and bumps it on every successful save.
    """

    id: int
    contact_id: int
    topic: str
    route: str
    route_version: int
    process: str
    operator: str
    """Login of the operator who registered the appeal."""
    registered_at: datetime
    queue: str | None = None
    state: AppealState = AppealState.OPEN
    priority: str | None = None
    responsible: str | None = None
    """Login of the operator now working on it."""
    parent_id: int | None = None
    """The parent appeal of a child created for parallel work."""
    system_problem_id: int | None = None
    process_entered_at: datetime | None = None
    deadline: datetime | None = None
    process_deadline: datetime | None = None
    closed_at: datetime | None = None
    description: str = ""
    values: dict[str, AttributeValue] = attrs.field(factory=dict)
    """Attribute values by attribute code."""
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.state is AppealState.OPEN

    def close(self, at: datetime) -> None:
        if not self.is_open:
            raise WorkflowError(f"appeal {self.id} is already closed")
        self.state = AppealState.CLOSED
        self.closed_at = at

    def reopen(self, at: datetime) -> None:
        """Resume work on a closed appeal, as a queue administrator may."""
        if self.is_open:
            raise WorkflowError(f"appeal {self.id} is open, nothing to reopen")
        self.state = AppealState.OPEN
        self.closed_at = None
        self.process_entered_at = at


_FIELD_NAMES = tuple(f.name for f in attrs.fields(Appeal))


class ReadOnlyValues(dict[str, AttributeValue]):
    """The attribute values of a stored appeal, as its ``values`` gives them: a copy (a real
    dict, for JSON and ``attrs.asdict``) whose changing methods raise
    :class:`~crmcms.errors.ReadOnlyRecordError` naming ``values.<code>``."""

    __slots__ = ("_record",)

    def __init__(self, values: Mapping[str, AttributeValue], record: str) -> None:
        super().__init__(values)
        self._record = record

    def _refuse(self, code: object = "*") -> NoReturn:
        raise ReadOnlyRecordError(self._record, f"values.{code}")

    def __setitem__(self, key: str, value: AttributeValue) -> None:
        self._refuse(key)

    def __delitem__(self, key: str) -> None:
        self._refuse(key)

    def __ior__(self, other: object) -> NoReturn:  # type: ignore[misc]
        self._refuse()

    def pop(self, key: str, *default: object) -> NoReturn:
        self._refuse(key)

    def popitem(self) -> NoReturn:
        self._refuse()

    def setdefault(self, key: str, default: object = None) -> NoReturn:
        self._refuse(key)

    def update(self, *args: object, **kwargs: object) -> NoReturn:
        self._refuse()

    def clear(self) -> NoReturn:
        self._refuse()

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy or a pickle of them is a plain dict, the copier's to change.
        return dict, (dict(self),)


class StoredAppeal(Appeal):
    """An appeal as storage holds it: read-only.

    Storage keeps a read-only copy of the appeal given to ``add`` or ``update``
    (:meth:`of`) and returns it, so the appeal an engine action returns is the one stored,
    and nothing done to it, or to the appeal it was copied from, can change the store
    behind the engine's back: its fields cannot be set and its ``values`` come as a copy
    that refuses changes. It equals a plain appeal with the same fields; ``copy.copy`` and
    ``attrs.evolve`` give plain (changeable) appeals.

    It holds a plain copy of its own and reads every field from it: setting one slot is
    all a new stored appeal costs beyond that copy, where filling the inherited slots one
    by one past the refusing ``__setattr__`` would cost about four times as much.
    """

    __slots__ = ("_record",)
    _record: Appeal

    @staticmethod
    def of(appeal: Appeal) -> StoredAppeal:
        """A read-only copy of ``appeal``; a stored appeal is returned as it is (it cannot
        change, so a copy would be the same)."""
        return _store_appeal(appeal)

    # A property over the held copy: what gets out is a copy that refuses changes.
    @property
    def values(self) -> dict[str, AttributeValue]:  # type: ignore[override]
        return ReadOnlyValues(_record_of(self).values, f"appeal {self.id}")

    def __setattr__(self, name: str, value: object) -> None:
        raise ReadOnlyRecordError(f"appeal {self.id}", name)

    def __delattr__(self, name: str) -> None:
        raise ReadOnlyRecordError(f"appeal {self.id}", name)

    def __new__(cls, **fields: Any) -> Appeal:  # type: ignore[misc]
        # attrs.evolve calls the record's class with every field: make a plain appeal
        # (not an instance of cls, so Python calls no __init__ on it).
        values = fields.pop("values", {})
        return Appeal(values=dict(values), **fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Appeal):
            return NotImplemented
        mine = _record_of(self)
        return mine == (_record_of(other) if type(other) is StoredAppeal else other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Stored{_record_of(self)!r}"

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy, a pickle or a deep copy of a stored appeal is a plain one.
        return copy_appeal, (copy_appeal(self),)


_record_of: Callable[[Appeal], Appeal] = StoredAppeal.__dict__["_record"].__get__

# Every field but ``values`` reads through to the held copy, in C (no Python frame).
for _name in _FIELD_NAMES:
    if _name != "values":
        setattr(StoredAppeal, _name, property(operator.attrgetter(f"_record.{_name}")))
del _name


def _copiers() -> tuple[Callable[[Appeal], Appeal], Callable[[Appeal], StoredAppeal]]:
    """Two functions copying an appeal field by field, ``values`` as a new dict: into a plain
    appeal (from a plain or a stored one), and into a new stored appeal.

    ``attrs.evolve`` inspects the class on every call, and the engine copies an appeal on
    every read and save; a function written out once for the fields (as attrs writes its
    own ``__init__``), doing the whole copy in one call, does the same work several times
    faster. ``Appeal`` has no validators, converters or post-init steps (checked here), so
    skipping ``__init__`` skips nothing.
    """
    if hasattr(Appeal, "__attrs_post_init__") or any(
        f.validator is not None or f.converter is not None for f in attrs.fields(Appeal)
    ):  # pragma: no cover - a guard on the technique
        raise TypeError("Appeal has validators or hooks: copy it with its __init__")
    fields = [
        f"    new.{name} = dict(old.values)" if name == "values" else f"    new.{name} = old.{name}"
        for name in _FIELD_NAMES
    ]
    lines = [
        "def copy_appeal(old):",
        "    if type(old) is StoredAppeal:",
        "        old = old._record",  # the plain copy it holds: plain reads, a real dict
        "    new = new_instance(Appeal)",
        *fields,
        "    return new",
        "def store_appeal(old):",
        "    if type(old) is StoredAppeal:",
        "        return old",
        "    new = new_instance(Appeal)",
        *fields,
        "    stored = new_instance(StoredAppeal)",
        "    set_record(stored, new)",
        "    return stored",
    ]
    namespace: dict[str, Any] = {
        "new_instance": object.__new__,
        "Appeal": Appeal,
        "StoredAppeal": StoredAppeal,
        "set_record": StoredAppeal.__dict__["_record"].__set__,
    }
    exec("\n".join(lines), namespace)
    return namespace["copy_appeal"], namespace["store_appeal"]


_copy, _store_appeal = _copiers()
_copy.__doc__ = """A plain copy of an appeal (plain or stored) that shares nothing mutable with
it (``values`` is the only mutable field)."""
_store_appeal.__doc__ = StoredAppeal.of.__doc__
copy_appeal: Callable[[Appeal], Appeal] = _copy
# Storage calls this on every save: the written-out function itself, not a call through one.
setattr(StoredAppeal, "of", staticmethod(_store_appeal))  # noqa: B010


@attrs.define(kw_only=True)
class Attachment:
    """A file attached to an appeal; the bytes live in storage under ``sha256``."""

    id: int
    appeal_id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime


class NoteSubject(enum.Enum):
    CLIENT = "client"
    SUBSCRIBER = "subscriber"
    CONTACT_PERSON = "contact_person"


class NoteVisibility(enum.Enum):
    """Who reads a note besides its author."""

    PRIVATE = "private"
    """Its author only."""
    TEAM = "team"
    """Operators who work in a queue with the author (members or administrators)."""
    ALL = "all"
    """Every operator who may read."""


@attrs.define(kw_only=True)
class Note:
    """Free text about a client, subscriber or contact person; a pinned one is shown
    whenever a contact is registered for its subject. Edits and deletion keep every earlier
    version (:class:`NoteRevision`); a deleted note is gone from every list."""

    id: int
    subject: NoteSubject
    subject_id: int
    text: str
    author: str
    created_at: datetime
    visibility: NoteVisibility = NoteVisibility.TEAM
    pinned: bool = False
    version: int = 1
    updated_at: datetime | None = None
    updated_by: str | None = None
    deleted: bool = False


@attrs.frozen(kw_only=True)
class NoteRevision:
    """One version of a note as it was written: the first, each edit, the deletion."""

    note_id: int
    version: int
    text: str
    visibility: NoteVisibility
    pinned: bool
    deleted: bool
    by: str
    at: datetime


class ProblemState(enum.Enum):
    """Where a system problem stands: registered, confirmed, resolved, then closed."""

    REGISTERED = "registered"
    CONFIRMED = "confirmed"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_PROBLEM_STATES = frozenset({ProblemState.REGISTERED, ProblemState.CONFIRMED})
"""The states in which a problem links appeals (new ones as they are registered)."""


@attrs.define(kw_only=True)
class SystemProblem:
    """A mass incident (a network outage in one region, a billing run gone wrong) that many
    appeals link to and are resolved with.

    ``rule`` (a rule over appeals, as queue rules are written) and the window
    ``since``..``until`` (registration times, either end open) choose the appeals linked
    automatically; a problem without a rule links only by hand. ``resolving`` holds while a
    resolution has started and not yet moved every linked appeal: calling it again goes on
    where it stopped.
    """

    id: int
    title: str
    registered_by: str
    opened_at: datetime
    """When it was registered."""
    description: str = ""
    state: ProblemState = ProblemState.REGISTERED
    rule: str = ""
    since: datetime | None = None
    until: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str = ""
    transition: str | None = None
    """The transition every linked appeal is moved along when the problem is resolved."""
    resolving: bool = False
    closed_at: datetime | None = None
    closed_by: str | None = None
    values: dict[str, AttributeValue] = attrs.field(factory=dict)
    """System problem attributes by code."""
    version: int = 1

    @property
    def is_open(self) -> bool:
        """Whether it still links appeals (registered or confirmed)."""
        return self.state in OPEN_PROBLEM_STATES

    def in_window(self, at: datetime) -> bool:
        """Whether an appeal registered ``at`` falls in the problem's window."""
        return (self.since is None or self.since <= at) and (self.until is None or at < self.until)

    def confirm(self, at: datetime, by: str) -> None:
        if self.state is not ProblemState.REGISTERED:
            raise WorkflowError(f"system problem {self.id} is {self.state.value}, not registered")
        self.state = ProblemState.CONFIRMED
        self.confirmed_at, self.confirmed_by = at, by

    def resolve(self, at: datetime, by: str, resolution: str, transition: str) -> None:
        """Start the resolution: the problem links nothing more from now on."""
        if self.state is ProblemState.RESOLVED and not self.resolving:
            raise WorkflowError(f"system problem {self.id} is already resolved")
        if not self.is_open:
            raise WorkflowError(f"system problem {self.id} is {self.state.value}")
        self.state = ProblemState.RESOLVED
        self.resolved_at, self.resolved_by = at, by
        self.resolution, self.transition = resolution, transition
        self.resolving = True

    def close(self, at: datetime, by: str) -> None:
        if self.state is not ProblemState.RESOLVED or self.resolving:
            shown = "still resolving" if self.resolving else self.state.value
            raise WorkflowError(
                f"system problem {self.id} is {shown}: only a resolved problem closes"
            )
        self.state = ProblemState.CLOSED
        self.closed_at, self.closed_by = at, by


@attrs.frozen(kw_only=True)
class ProblemOutcome:
    """What resolving a system problem did to one linked appeal, kept so that a resolution
    interrupted goes on where it stopped and never moves an appeal twice."""

    problem_id: int
    appeal_id: int
    ok: bool
    at: datetime
    version: int | None = None
    """The appeal's version after it was moved."""
    error: str | None = None
    error_type: str | None = None
