"""The login gateway's storage port: credentials, failures, sessions and the audit, by transaction.

Each gateway call runs one or two short transactions and never derives a key inside one, so
a slow argon2id derivation holds no database lock. Audit events leave through the engine's
outbox, so a transaction also writes outbox messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from crmcms.engine.credentials import (
    AuditEvent,
    Credential,
    KeyParameters,
    LoginFailures,
    SessionRecord,
)
from crmcms.model import OutboxMessage

__all__ = ["DatabaseLogins", "LoginRecords", "LoginStore"]


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


@runtime_checkable
class DatabaseLogins(Protocol):
    """A store whose database checks keys itself: the connection reads no table, it calls
    the two phases of a login (PostgreSQL's ``crmcms db roles`` functions).

    A :class:`~crmcms.engine.LoginGateway` on such a store derives the key as always, but
    the verifier never leaves the database and the failures are counted there.
    """

    def login_parameters(self, login: str) -> tuple[bytes, KeyParameters]:
        """The salt and parameters to derive the key of ``login`` with; for a login without a
        password, a salt made from the login and the installation's secret, and the default
        parameters (the same answer every time, so it tells nothing)."""

    def login(
        self,
        login: str,
        key: bytes,
        token_hash: bytes,
        *,
        source: str | None,
        lifetime: timedelta,
        idle_timeout: timedelta,
    ) -> int | None:
        """Open a session with ``token_hash`` if ``key`` is the login's key: its id, or
        ``None`` for a wrong key, an unknown login, or one delayed or locked by failures
        (the failure counted and everything audited by the database)."""

    def session_login(self, token_hash: bytes) -> str | None:
        """The login of the valid session whose token hashes to ``token_hash``."""
