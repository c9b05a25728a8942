"""Runtime records: contacts, appeals, attachments, notes and system problems."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from crmcms.errors import WorkflowError
from crmcms.model.places import Direction
from crmcms.model.values import AttributeValue

__all__ = [
    "Appeal",
    "AppealState",
    "Attachment",
    "Contact",
    "Note",
    "NoteSubject",
    "ProblemState",
    "SystemProblem",
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


@attrs.define(kw_only=True)
class Note:
    """Free text about a client, subscriber or contact person."""

    id: int
    subject: NoteSubject
    subject_id: int
    text: str
    author: str
    created_at: datetime


class ProblemState(enum.Enum):
    OPEN = "open"
    RESOLVED = "resolved"


@attrs.define(kw_only=True)
class SystemProblem:
    """A mass incident (e.g. a network outage) that many appeals link to and close with."""

    id: int
    title: str
    registered_by: str
    opened_at: datetime
    description: str = ""
    state: ProblemState = ProblemState.OPEN
    resolved_at: datetime | None = None
    resolution: str = ""
    values: dict[str, AttributeValue] = attrs.field(factory=dict)
    """System problem attributes by code."""
    version: int = 1

    def resolve(self, at: datetime, resolution: str) -> None:
        if self.state is ProblemState.RESOLVED:
            raise WorkflowError(f"system problem {self.id} is already resolved")
        self.state = ProblemState.RESOLVED
        self.resolved_at = at
        self.resolution = resolution
