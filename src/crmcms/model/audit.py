"""Audit events: who did what security-relevant thing, when, from where, and how it ended."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["AuditEvent", "AuditKind"]


class AuditKind(enum.StrEnum):
    """What an audit event records."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    LOGOUT = "logout"
    SESSIONS_REVOKED = "sessions_revoked"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    REFUSED = "refused"
    """An action refused for want of a permission."""
    DEFINITIONS_PUBLISHED = "definitions_published"
    ROLES_SET_UP = "roles_set_up"
    SYSTEM_PROBLEM = "system_problem"
    """A system problem registered, confirmed, resolved or closed (the outcome says which)."""


@attrs.frozen
class AuditEvent:
    """Who did what, when, from where, and how it ended; stored with the change it records."""

    id: int
    at: datetime
    kind: str
    login: str | None
    """Whom it concerns: the login that logged in, whose password was reset."""
    actor: str | None = None
    """Who acted, when not ``login`` itself (a security administrator's reset)."""
    source: str | None = None
    outcome: str = "ok"
    """``ok``, or why it was refused (``wrong_password``, ``delayed``, ``locked``, ...)."""
    detail: str = ""
