"""Notifications: what the engine asks plugins to deliver, and to whom."""

from __future__ import annotations

import enum

import attrs

__all__ = ["Notification", "NotificationKind"]


class NotificationKind(enum.Enum):
    RESULT = "result"
    """The client is told the outcome of an appeal (on close)."""
    HAND_OVER = "hand_over"
    REJECTION = "rejection"
    MESSAGE = "message"
    """Sent by a ``notify`` handler."""
    DEADLINE_WARNING = "deadline_warning"
    ESCALATION = "escalation"
    PROBLEM_RESOLVED = "problem_resolved"
    """The client is told that the system problem behind its appeal is resolved."""


@attrs.frozen
class Notification:
    """One message for ``crmcms_notify``: who gets it and what it says.

    ``to`` holds what the definition named (mailing list codes, logins, ``client:<id>``);
    ``recipients`` the logins and addresses they expand to.
    """

    kind: NotificationKind
    appeal_id: int | None
    to: tuple[str, ...]
    recipients: tuple[str, ...]
    subject: str
    text: str = ""
    delivery_id: str | None = None
    """Set by the outbox when it hands the notification over: the same on every retry of
    one message, so a receiver can drop duplicates (an e-mail's ``Message-ID``)."""
    html: str = ""
    """The same message as HTML, when a message template gives one (mail sends both)."""
