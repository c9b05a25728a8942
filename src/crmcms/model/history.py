"""Appeal history: what happened to an appeal, when, by whom, and which values changed."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from crmcms.model.values import AttributeValue

__all__ = ["Change", "HistoryEvent", "HistoryKind"]


class HistoryKind(enum.Enum):
    CREATED = "created"
    CHANGED = "changed"
    MOVED = "moved"
    """Passed along a transition (or sent back by a rejection) into a process, with the queue,
    entry time and deadline that entering it set: one event for the whole move."""
    QUEUED = "queued"
    """A queue entry recorded on its own: histories written before a move became one event."""
    ASSIGNED = "assigned"
    DEADLINE_CHANGED = "deadline_changed"
    DEADLINE_WARNING = "deadline_warning"
    DEADLINE_BROKEN = "deadline_broken"
    RESCHEDULED = "rescheduled"
    """The deadlines moved because the clocks say so (a changed calendar or route deadline)
    and no action of the appeal's own recorded the move."""
    CLOSED = "closed"
    REOPENED = "reopened"
    ARCHIVED = "archived"
    ATTACHED = "attached"
    """A file was attached: the change ``attachment`` holds its name."""
    DETACHED = "detached"
    """An attachment was removed: the change ``attachment`` held its name."""
    CLIENT_ASSIGNED = "client_assigned"
    """The appeal's contact now belongs to a client: its prospect was converted by billing;
    the change ``client_id`` holds the client, the comment names the prospect."""
    PROBLEM_LINKED = "problem_linked"
    """Linked to a system problem (by hand, by its rule on registration, or by a search for
    matching appeals): the change ``system_problem_id`` holds it."""
    PROBLEM_UNLINKED = "problem_unlinked"


# No ``__weakref__`` slot: nothing needs weak references to history, and without it the
# engine can make these records with plain attribute stores (see crmcms.engine.records).
@attrs.frozen(weakref_slot=False)
class Change:
    """One field or attribute that changed: ``field`` is a field name or attribute code."""

    field: str
    old: AttributeValue | None = None
    new: AttributeValue | None = None


@attrs.frozen(weakref_slot=False)
class HistoryEvent:
    """An entry of an appeal's history; history is appended to, never edited."""

    id: int
    appeal_id: int
    kind: HistoryKind
    at: datetime
    operator: str | None = None
    """Login of who did it; ``None`` for the system (timers, automation)."""
    process: str | None = None
    queue: str | None = None
    transition: str | None = None
    changes: tuple[Change, ...] = ()
    comment: str = ""
    """What the operator wrote, or what the action was (a transition's name, say)."""
    reason: str = ""
    """Why the engine chose what it did: the queue an appeal was put in, on registration or
    on entering a process ("rule NOT_PSKOV holds; passed over 79: ...")."""
