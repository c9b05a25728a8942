"""The login gateway's storage port: credentials, failures, sessions and the audit, by transaction.

Each gateway call runs one or two short transactions and never derives a key inside one, so
a slow argon2id derivation holds no database lock. Audit events leave through the engine's
outbox, so a transaction also writes outbox messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from crmcms.engine.credentials import AuditEvent, Credential, LoginFailures, SessionRecord
from crmcms.model import OutboxMessage

__all__ = ["LoginRecords", "LoginStore"]


class LoginRecords(Protocol):
    """What one transaction of a :class:`LoginStore` reads and writes; all of it is committed
    together when the ``with`` block ends, or nothing if it raises."""

    # --- Credentials ----------------------------------------------------------------------

    def credential(self, login: str) -> Credential | None:
        """The stored password of ``login``, if it has one."""

    def put_credential(self, credential: Credential) -> None:
        """Store ``credential``, replacing the login's previous one."""

    # --- Failures -------------------------------------------------------------------------

    def failures(self, login: str) -> LoginFailures | None:
        """The consecutive failures of the login text, if any were counted."""

    def record_failure(
        self, login: str, at: datetime, *, restart_locked_before: datetime | None = None
    ) -> LoginFailures:
        """Count one more failure, atomically (two processes failing at once count two), and
        return the row as it now is.

        A lock set before ``restart_locked_before`` has expired: the count starts again at 1
        and the lock is lifted, as part of the same atomic step.
        """

    def set_refusal(
        self, login: str, *, refused_until: datetime | None, locked_at: datetime | None
    ) -> None:
        """Set when the login may be tried again and whether it is locked; the count stays."""

    def clear_failures(self, login: str) -> None:
        """Forget the failures of ``login`` (a success, an unlock or a password reset)."""

    def secret(self) -> bytes:
        """The installation's secret that dummy salts of unknown logins are derived from."""

    # --- Sessions -------------------------------------------------------------------------

    def add_session(
        self,
        login: str,
        token_hash: bytes,
        *,
        created_at: datetime,
        expires_at: datetime,
        idle_timeout: timedelta,
        source: str | None = None,
    ) -> SessionRecord:
        """Store a new session (its id is the store's to choose) and return it."""

    def session_by_token_hash(self, token_hash: bytes) -> SessionRecord | None:
        """The session whose token hashes to ``token_hash``, valid or not."""

    def touch_session(self, session_id: int, at: datetime) -> None:
        """Record that the session was used at ``at`` (never moving its last use back)."""

    def revoke_session(self, session_id: int, at: datetime) -> bool:
        """Revoke one session; False if it was revoked already or does not exist."""

    def revoke_sessions(self, login: str, at: datetime, *, keep: int | None = None) -> int:
        """Revoke every session of ``login`` but ``keep``; returns how many were revoked."""

    def sessions(self, login: str) -> list[SessionRecord]:
        """Every session of ``login`` ever stored, oldest first."""

    # --- Audit ----------------------------------------------------------------------------

    def add_audit(
        self,
        kind: str,
        at: datetime,
        login: str | None,
        *,
        actor: str | None = None,
        source: str | None = None,
        outcome: str = "ok",
        detail: str = "",
    ) -> AuditEvent:
        """Store an audit event (its id is the store's to choose) and return it."""

    def audit(
        self,
        *,
        login: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """The latest ``limit`` events matching every filter given, newest first (by time,
        then id); ``since`` includes its moment, ``until`` does not."""

    # --- Outbox ---------------------------------------------------------------------------

    def add_message(self, kind: str, payload: Mapping[str, Any], at: datetime) -> OutboxMessage:
        """Stage a new outbox message, due at ``at`` (its id is the store's to choose, from
        the ids the engine's outbox hands out); it is committed with this transaction and
        delivered by the engine's relay."""


class LoginStore(Protocol):
    """Where the login gateway keeps its records: its only storage port."""

    def transaction(self, *, write: bool = True) -> AbstractContextManager[LoginRecords]:
        """A short transaction. ``write=False`` promises to only read, so a backend may skip
        taking its write lock (a session check is the commonest call)."""
