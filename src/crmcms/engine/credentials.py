"""Passwords, login failures, sessions and audit events as stored, and the rules of logging in.

Audit events are model records (:mod:`crmcms.model.audit`), since plugins receive them;
they are named here too, beside the other records of the gateway.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from crmcms.model.audit import AuditEvent, AuditKind

__all__ = [
    "AuditEvent",
    "AuditKind",
    "Credential",
    "KeyParameters",
    "LoginFailures",
    "LoginPolicy",
    "SessionRecord",
]


@attrs.frozen
class KeyParameters:
    """The argon2id parameters a key was derived with (memory cost in KiB)."""

    time_cost: int
    memory_cost: int
    parallelism: int
    hash_len: int
    version: int = 19


@attrs.frozen(repr=False)
class Credential:
    """An operator's password as stored: never the password, nor the key derived from it.

    ``verifier`` is SHA-256 of the argon2id key: the store can compare a key it is given
    without being able to derive one, so reading the table is not enough to log in.
    """

    login: str
    salt: bytes
    parameters: KeyParameters
    verifier: bytes
    changed_at: datetime

    def __repr__(self) -> str:
        return f"Credential(login={self.login!r}, parameters={self.parameters!r})"


@attrs.frozen
class LoginFailures:
    """Consecutive failed logins of one login text (known or not, so counting reveals nothing)."""

    login: str
    count: int
    last_at: datetime
    refused_until: datetime | None = None
    """No attempt is checked before this time: the escalating delay."""
    locked_at: datetime | None = None
    """Set once ``count`` reached the policy's limit: locked until unlocked or it expires."""


@attrs.frozen(repr=False)
class SessionRecord:
    """A session: only the SHA-256 of its token is kept, so a copy of the table opens nothing."""

    id: int
    login: str
    token_hash: bytes
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    idle_timeout: timedelta
    source: str | None = None
    revoked_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        """Not revoked, before its absolute expiry, and used within its idle timeout."""
        return (
            self.revoked_at is None
            and now < self.expires_at
            and now < self.last_seen_at + self.idle_timeout
        )

    def __repr__(self) -> str:
        return (
            f"SessionRecord(id={self.id}, login={self.login!r}, expires_at={self.expires_at!r}, "
            f"revoked_at={self.revoked_at!r})"
        )


@attrs.frozen
class LoginPolicy:
    """How logins and sessions behave; the defaults suit a back office."""

    max_failures: int = 10
    """Consecutive failures that lock a login."""
    first_delay: timedelta = timedelta(seconds=1)
    """The wait after the first failure; each further one doubles it up to ``max_delay``."""
    max_delay: timedelta = timedelta(minutes=5)
    lockout: timedelta | None = timedelta(minutes=30)
    """How long a lockout lasts unless a security administrator lifts it; ``None``: until then."""
    session_lifetime: timedelta = timedelta(hours=12)
    idle_timeout: timedelta = timedelta(minutes=30)
    touch_every: timedelta = timedelta(minutes=1)
    """A session's last use is written at most this often, so reads do not write each time."""
    min_password_length: int = 12

    def delay(self, failures: int) -> timedelta:
        """The wait after ``failures`` consecutive failures."""
        if failures <= 0:
            return timedelta(0)
        doubled: timedelta = self.first_delay * (2 ** min(failures - 1, 40))
        return min(doubled, self.max_delay)
