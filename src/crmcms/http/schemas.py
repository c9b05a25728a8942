"""What the HTTP API reads and writes: the request and response bodies, as attrs classes.

Litestar builds the OpenAPI schemas from these classes, so the document a client reads and
the bodies it gets are the same thing. Attribute values travel as canonical text (a list of
texts for multiple choice), as the integration facade takes them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "AppealCreate",
    "AppealDraftBody",
    "AppealPage",
    "AppealSummaryView",
    "AppealView",
    "AssignBody",
    "AttributeView",
    "ChangeView",
    "ChildCreate",
    "CloseBody",
    "CommentBody",
    "ContactCreate",
    "ContactRegistered",
    "ContactView",
    "DictionaryItemView",
    "DictionaryView",
    "EditBody",
    "EventBody",
    "FilterTabView",
    "FilterView",
    "Health",
    "HistoryEventView",
    "LoginBody",
    "ProblemDocument",
    "ProblemItem",
    "QueueExplanationView",
    "QueueView",
    "ReopenBody",
    "SessionView",
    "TransitionView",
    "WebhookCreate",
    "WebhookView",
]

TextValue = str | list[str] | None
"""An attribute value as canonical text: one text, a list for multiple choice, ``None``."""


# --- Requests ------------------------------------------------------------------------------


@attrs.frozen
class LoginBody:
    login: str
    password: str


@attrs.frozen
class WebhookCreate:
    """A subscription: history events of ``events`` (every kind when empty) POSTed to
    ``url``, signed with the secret in the environment variable ``secret_env`` where the
    worker runs (the secret itself is never sent)."""

    code: str
    name: str
    url: str
    secret_env: str
    events: list[str] = attrs.field(factory=list)
    description: str = ""


@attrs.frozen
class AppealDraftBody:
    """One appeal to register: topic code, attributes as canonical text."""

    topic: str
    attributes: dict[str, TextValue] = attrs.field(factory=dict)
    priority: str | None = None
    description: str = ""


@attrs.frozen
class ContactCreate:
    """A contact through the operator's template, with the appeals registered in it."""

    place: str | None = None
    channel: str | None = None
    direction: str | None = None
    client_id: int | None = None
    subscriber_id: int | None = None
    contact_person_id: int | None = None
    prospect_id: int | None = None
    comment: str = ""
    appeals: list[AppealDraftBody] = attrs.field(factory=list)


@attrs.frozen
class AppealCreate:
    """An appeal from plain parameters: within ``contact_id``, or in a new contact made of
    ``place``, ``channel``, ``direction`` and ``client_id``."""

    topic: str
    attributes: dict[str, TextValue] = attrs.field(factory=dict)
    priority: str | None = None
    description: str = ""
    contact_id: int | None = None
    place: str | None = None
    channel: str | None = None
    direction: str | None = None
    client_id: int | None = None


@attrs.frozen
class ChildCreate:
    topic: str
    attributes: dict[str, TextValue] = attrs.field(factory=dict)
    description: str = ""


@attrs.frozen
class EditBody:
    """Attributes to set (``None`` clears one)."""

    attributes: dict[str, TextValue]
    comment: str = ""


@attrs.frozen
class CommentBody:
    comment: str = ""


@attrs.frozen
class EventBody:
    """An external event: the code (or else name) of a transition out of the process."""

    event: str
    comment: str = ""


@attrs.frozen
class AssignBody:
    assignee: str
    comment: str = ""


@attrs.frozen
class CloseBody:
    comment: str = ""


@attrs.frozen
class ReopenBody:
    reason: str


# --- Responses -----------------------------------------------------------------------------


@attrs.frozen
class ProblemItem:
    """One invalid value: the attribute code or field, and what is wrong with it."""

    code: str
    message: str


@attrs.frozen
class ProblemDocument:
    """An RFC 9457 problem: ``errors`` lists every invalid value, ``reasons`` every reason
    an action was refused."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] = attrs.field(factory=list)
    reasons: list[str] = attrs.field(factory=list)


@attrs.frozen
class SessionView:
    token: str
    login: str
    expires_at: datetime


@attrs.frozen
class ContactView:
    id: int
    place: str
    direction: str
    channel: str
    operator: str
    registered_at: datetime
    template: str | None
    client_id: int | None
    subscriber_id: int | None
    contact_person_id: int | None
    prospect_id: int | None
    comment: str


@attrs.frozen
class AppealView:
    id: int
    contact_id: int
    topic: str
    route: str
    route_version: int
    process: str
    queue: str | None
    state: str
    priority: str | None
    operator: str
    responsible: str | None
    parent_id: int | None
    registered_at: datetime
    deadline: datetime | None
    process_deadline: datetime | None
    closed_at: datetime | None
    description: str
    attributes: dict[str, TextValue]
    version: int


@attrs.frozen
class ContactRegistered:
    contact: ContactView
    appeals: list[AppealView]


@attrs.frozen
class AttributeView:
    """An attribute the operator may see, with the flags in force in the current process."""

    code: str
    name: str
    value_type: str
    multiple: bool
    owner: str
    inherited: bool
    group: str | None
    read_only: bool
    required: bool
    common: bool
    value: TextValue


@attrs.frozen
class TransitionView:
    """A transition out of the appeal's process; ``reasons`` say why it is unavailable."""

    code: str
    name: str
    target: str
    available: bool
    reasons: list[str]


@attrs.frozen
class ChangeView:
    field: str
    old: TextValue
    new: TextValue


@attrs.frozen
class HistoryEventView:
    id: int
    kind: str
    at: datetime
    operator: str | None
    process: str | None
    queue: str | None
    transition: str | None
    changes: list[ChangeView]
    comment: str
    reason: str


@attrs.frozen
class QueueExplanationView:
    appeal_id: int
    queue: str | None
    process: str
    since: datetime
    by: str | None
    transition: str | None
    reason: str


@attrs.frozen
class AppealSummaryView:
    id: int
    topic: str
    process: str
    queue: str | None
    state: str
    priority: str | None
    responsible: str | None
    client_id: int | None
    registered_at: datetime
    deadline: datetime | None


@attrs.frozen
class AppealPage:
    """One page: ``next_cursor`` fetches the next (``None`` on the last page); ``total`` only
    when asked for with ``total=true``."""

    items: list[AppealSummaryView]
    next_cursor: str | None
    total: int | None = None


@attrs.frozen
class QueueView:
    code: str
    name: str


@attrs.frozen
class FilterTabView:
    code: str
    name: str
    rule: str


@attrs.frozen
class FilterView:
    code: str
    name: str
    rule: str
    tabs: list[FilterTabView]
    owner: str | None


@attrs.frozen
class DictionaryItemView:
    code: str
    name: str


@attrs.frozen
class DictionaryView:
    code: str
    name: str
    kind: str
    items: list[DictionaryItemView]


@attrs.frozen
class Health:
    status: str


@attrs.frozen
class WebhookView:
    """A subscription; ``source`` is ``definitions`` (read-only here) or ``api``."""

    code: str
    name: str
    url: str
    events: list[str]
    secret_env: str
    description: str
    source: str
