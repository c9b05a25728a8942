"""Password logins in two phases: a password gives a session token, a token gives a principal.

Passwords are stretched with argon2id into a key of which only SHA-256 is stored; session
tokens are random and only their SHA-256 is stored. Failed logins are counted by login text,
known or not, and delay then lock further attempts. Everything security-relevant leaves an
audit event, refusals included.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

import attrs

from crmcms.engine.audit import AuditLog, record_audit
from crmcms.engine.credentials import (
    AuditEvent,
    AuditKind,
    Credential,
    KeyParameters,
    LoginFailures,
    LoginPolicy,
    SessionRecord,
)
from crmcms.engine.login_store import DatabaseLogins, LoginRecords, LoginStore
from crmcms.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    ValidationError,
)
from crmcms.model import Catalog, Operator, Permission, Principal

if TYPE_CHECKING:
    import argon2

__all__ = ["KeyProfile", "LoginGateway", "LoginSession"]

WRONG_CREDENTIALS = "wrong login or password"
"""The one answer to a wrong password, an unknown login and an operator who may not log in."""
INVALID_SESSION = "the session is not valid"
"""The one answer to a token that is expired, idle, revoked, forged, truncated or empty."""

_LOGIN_WIDTH = 200
_SOURCE_WIDTH = 400
"""The widths of the login and source columns: longer texts are cut, not refused by SQL."""
_TOKEN_WIDTH = 256
"""No token the gateway hands out is this long: longer ones are refused unread."""
_NO_VERIFIER = bytes(32)
"""What a dummy key is compared with; the comparison's answer is ignored anyway."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class KeyProfile:
    """The argon2id parameters new keys are derived with (memory cost in KiB).

    :attr:`RFC_9106_LOW_MEMORY` is the production default (RFC 9106's second recommendation:
    64 MiB, 3 passes, 4 lanes); :attr:`CHEAPEST` is for tests only.
    """

    time_cost: int
    memory_cost: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16
    version: int = 19

    RFC_9106_LOW_MEMORY: ClassVar[KeyProfile]
    CHEAPEST: ClassVar[KeyProfile]

    def __attrs_post_init__(self) -> None:
        # Shorter keys or salts would weaken what the table keeps; argon2 itself refuses
        # less memory than eight blocks per lane.
        if self.hash_len < 32 or self.salt_len < 16:
            raise ConfigurationError(
                "a key profile needs keys of 32 bytes and salts of 16 at least"
            )
        if self.time_cost < 1 or self.parallelism < 1 or self.memory_cost < 8 * self.parallelism:
            raise ConfigurationError(
                f"argon2id cannot run with time_cost={self.time_cost}, "
                f"memory_cost={self.memory_cost}, parallelism={self.parallelism}"
            )

    @property
    def parameters(self) -> KeyParameters:
        """The parameters as a credential stores them."""
        return KeyParameters(
            self.time_cost, self.memory_cost, self.parallelism, self.hash_len, self.version
        )

    @classmethod
    def from_argon2(cls, parameters: argon2.Parameters) -> KeyProfile:
        """The profile of one of ``argon2.profiles``, its key and salt raised to our minimums."""
        return cls(
            parameters.time_cost,
            parameters.memory_cost,
            parameters.parallelism,
            max(parameters.hash_len, 32),
            max(parameters.salt_len, 16),
            parameters.version,
        )


# The values of argon2.profiles, spelled out so that importing crmcms needs no argon2.
KeyProfile.RFC_9106_LOW_MEMORY = KeyProfile(3, 65536, 4)
KeyProfile.CHEAPEST = KeyProfile(1, 8, 1)


@attrs.frozen(repr=False)
class LoginSession:
    """What a successful login gives: the token to present later, and whom it stands for.

    The token is shown once, here; the store keeps only its SHA-256.
    """

    token: str
    principal: Principal
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"LoginSession(login={self.principal.login!r}, session={self.principal.session}, "
            f"expires_at={self.expires_at!r})"
        )


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _clip(text: str | None, width: int) -> str | None:
    return None if text is None else text[:width]


def _load_argon2() -> Callable[..., bytes]:
    try:
        from argon2.low_level import Type, hash_secret_raw
    except ImportError as exc:
        raise ConfigurationError(
            "password logins need argon2-cffi: pip install 'crmcms[passwords]'"
        ) from exc

    def derive(secret: bytes, salt: bytes, parameters: KeyParameters) -> bytes:
        return hash_secret_raw(
            secret,
            salt,
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_cost,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_len,
            type=Type.ID,
            version=parameters.version,
        )

    return derive


class LoginGateway:
    """Logs operators of ``catalog`` in with passwords and checks their session tokens.

    Each call is a few short transactions of ``store``; keys are derived between them, never
    inside one, so a derivation holds no lock.
    ``catalog`` may be replaced (``gateway.catalog = ...``) when definitions are published:
    who may log in and with which roles is read from it on every call.
    """

    def __init__(
        self,
        store: LoginStore,
        catalog: Catalog,
        *,
        policy: LoginPolicy | None = None,
        profile: KeyProfile = KeyProfile.RFC_9106_LOW_MEMORY,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.policy = policy if policy is not None else LoginPolicy()
        self.profile = profile
        self.clock = clock
        self.audit_log = AuditLog(store, clock=clock)
        """The audit of ``store`` for events recorded outside the gateway, and trusted reads."""
        self._derive_raw = _load_argon2()

    # --- Logging in -----------------------------------------------------------------------

    def authenticate(self, login: str, password: str, *, source: str | None = None) -> LoginSession:
        """A new session for ``login`` if ``password`` is its password.

        Refused with :class:`~crmcms.errors.AuthenticationError`: a wrong password, an unknown
        login, an inactive operator or one without a password all get the same message after
        the same work; a login tried again too soon after a failure, or locked after
        ``policy.max_failures`` of them, is refused without looking at the password.
        """
        now = self.clock()
        source = _clip(source, _SOURCE_WIDTH)
        if isinstance(self.store, DatabaseLogins):
            return self._authenticate_in_database(self.store, login, password, now, source)
        stored = self._verify(login, password, now, source=source)
        login_key = stored.login
        rehashed = None
        if (
            stored.parameters != self.profile.parameters
            or len(stored.salt) != self.profile.salt_len
        ):
            rehashed = self._credential(login_key, password, now)
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            refusal = self._changed_meanwhile(tx, stored, now)
            if refusal is None:
                tx.clear_failures(login_key)
                if rehashed is not None:
                    tx.put_credential(rehashed)
                record = tx.add_session(
                    login_key,
                    _digest(token.encode()),
                    created_at=now,
                    expires_at=now + self.policy.session_lifetime,
                    idle_timeout=self.policy.idle_timeout,
                    source=source,
                )
                detail = f"session {record.id}" + (", key rehashed" if rehashed else "")
                record_audit(tx, AuditKind.LOGIN, now, login_key, source=source, detail=detail)
            else:
                record_audit(
                    tx, AuditKind.LOGIN_FAILED, now, login_key, source=source, outcome=refusal
                )
        if refusal is not None:
            raise AuthenticationError(self._refusal_message(refusal))
        principal = self.catalog.principal(
            login_key, session=record.id, expires_at=record.expires_at, source=source
        )
        return LoginSession(token, principal, record.expires_at)

    def resolve(self, token: str, *, source: str | None = None) -> Principal:
        """The principal of a valid session token; anything else is the same
        :class:`~crmcms.errors.AuthenticationError`.

        ``source`` (where this request came from) goes into the principal; without it, the
        source the session was opened from.
        """
        now = self.clock()
        if isinstance(self.store, DatabaseLogins):
            return self._resolve_in_database(self.store, token, source)
        record = self._session(token)
        if record is None or not record.valid_at(now) or self._operator(record.login) is None:
            raise AuthenticationError(INVALID_SESSION)
        # The idle timeout is measured from the last write: a session in use may look up to
        # touch_every older than it is, which saves a write on nearly every request.
        if now - record.last_seen_at >= self.policy.touch_every:
            with self.store.transaction() as tx:
                tx.touch_session(record.id, now)
        return self.catalog.principal(
            record.login,
            session=record.id,
            expires_at=record.expires_at,
            source=_clip(source, _SOURCE_WIDTH) if source is not None else record.source,
        )

    def logout(self, token: str, *, source: str | None = None) -> None:
        """End the session of ``token``; a token that is not valid is refused as by
        :meth:`resolve`."""
        now = self.clock()
        record = self._session(token)
        if record is None or not record.valid_at(now):
            raise AuthenticationError(INVALID_SESSION)
        source = _clip(source, _SOURCE_WIDTH) if source is not None else record.source
        with self.store.transaction() as tx:
            tx.revoke_session(record.id, now)
            record_audit(
                tx,
                AuditKind.LOGOUT,
                now,
                record.login,
                source=source,
                detail=f"session {record.id}",
            )

    # --- Sessions of a login --------------------------------------------------------------

    def sessions(self, actor: Principal, login: str) -> list[SessionRecord]:
        """The sessions of ``login`` valid now, oldest first: one's own, or anyone's for a
        security administrator."""
        self._require(actor, login, f"list the sessions of {login!r}", own=True)
        now = self.clock()
        with self.store.transaction(write=False) as tx:
            return [s for s in tx.sessions(login) if s.valid_at(now)]

    def revoke_sessions(self, actor: Principal, login: str) -> int:
        """End every session of ``login`` (one's own, or anyone's for a security
        administrator); returns how many were open."""
        self._require(actor, login, f"revoke the sessions of {login!r}", own=True)
        now = self.clock()
        with self.store.transaction() as tx:
            count = tx.revoke_sessions(login, now)
            record_audit(
                tx,
                AuditKind.SESSIONS_REVOKED,
                now,
                login,
                actor=actor.login,
                source=actor.source,
                detail=f"{count} session{'s' if count != 1 else ''}",
            )
        return count

    # --- Passwords ------------------------------------------------------------------------

    def set_password(self, actor: Principal, login: str, password: str) -> None:
        """Give operator ``login`` a new password (a reset by a security administrator, or the
        first password of a new operator).

        Its failures are forgotten, so a locked login opens again, and its sessions end.
        """
        self._require(actor, login, f"reset the password of {login!r}")
        self._check_length(password)
        self.catalog.operator(login)
        now = self.clock()
        item = self._credential(login, password, now)
        with self.store.transaction() as tx:
            tx.put_credential(item)
            tx.clear_failures(login)
            count = tx.revoke_sessions(login, now)
            record_audit(
                tx,
                AuditKind.PASSWORD_RESET,
                now,
                login,
                actor=actor.login,
                source=actor.source,
                detail=f"{count} session{'s' if count != 1 else ''} revoked",
            )

    def change_password(
        self,
        who: str | Principal,
        old: str,
        new: str,
        *,
        source: str | None = None,
    ) -> None:
        """Change one's own password: ``who`` is a session token or the principal of one.

        ``old`` is checked as a login checks it, failures counted, so a session left open
        cannot be used to guess the password. The login's other sessions end.
        """
        principal = self.resolve(who, source=source) if isinstance(who, str) else who
        login = principal.login
        source = _clip(source, _SOURCE_WIDTH) if source is not None else principal.source
        self._check_length(new)
        now = self.clock()
        stored = self._verify(login, old, now, source=source)
        item = self._credential(login, new, now)
        with self.store.transaction() as tx:
            refusal = self._changed_meanwhile(tx, stored, now)
            if refusal is None:
                tx.put_credential(item)
                tx.clear_failures(login)
                count = tx.revoke_sessions(login, now, keep=principal.session)
                record_audit(
                    tx,
                    AuditKind.PASSWORD_CHANGED,
                    now,
                    login,
                    source=source,
                    detail=f"{count} other session{'s' if count != 1 else ''} revoked",
                )
            else:
                record_audit(
                    tx, AuditKind.PASSWORD_CHANGED, now, login, source=source, outcome=refusal
                )
        if refusal is not None:
            raise AuthenticationError(self._refusal_message(refusal))

    # --- Security administration ----------------------------------------------------------

    def unlock(self, actor: Principal, login: str) -> None:
        """Lift a lockout (and any delay) of ``login``: a security administrator's action."""
        self._require(actor, login, f"unlock {login!r}")
        now = self.clock()
        with self.store.transaction() as tx:
            before = tx.failures(login)
            tx.clear_failures(login)
            was = "locked" if before is not None and before.locked_at is not None else "unlocked"
            record_audit(
                tx,
                AuditKind.UNLOCK,
                now,
                login,
                actor=actor.login,
                source=actor.source,
                detail=f"was {was}",
            )

    def failures(self, actor: Principal, login: str) -> LoginFailures | None:
        """The consecutive failures of ``login`` (for a security administrator)."""
        self._require(actor, login, f"read the failed logins of {login!r}")
        with self.store.transaction(write=False) as tx:
            return tx.failures(login)

    def audit(
        self,
        actor: Principal,
        *,
        login: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """The latest audit events, newest first, filtered by login, kind and time (from
        ``since`` included to ``until`` excluded), for a security administrator."""
        self._require(actor, login, "read the audit")
        return self.audit_log.list(login=login, kind=kind, since=since, until=until, limit=limit)

    # --- Logging in through the database's functions -------------------------------------

    def _authenticate_in_database(
        self,
        store: DatabaseLogins,
        login: str,
        password: str,
        now: datetime,
        source: str | None,
    ) -> LoginSession:
        """:meth:`authenticate` when the database checks the key: the key is derived here, the
        verifier is compared, failures counted and everything audited there.

        A key of an old profile is not rehashed (the login role cannot write credentials): it
        is, at the next login through a store that can.
        """
        salt, parameters = store.login_parameters(login)
        derived = self._derive(password, salt, parameters)
        # An inactive operator's right password must open nothing, after the same work: an
        # empty key matches no verifier, and the database counts it as a failure.
        operator = self._operator(login) if len(login) <= _LOGIN_WIDTH else None
        key = derived if operator is not None else b""
        token = secrets.token_urlsafe(32)
        lifetime = self.policy.session_lifetime
        session_id = store.login(
            login,
            key,
            _digest(token.encode()),
            source=source,
            lifetime=lifetime,
            idle_timeout=self.policy.idle_timeout,
        )
        if session_id is None:
            raise AuthenticationError(WRONG_CREDENTIALS)
        # The database starts the session at its own clock, a moment after this one: the
        # expiry given here is never later than the one stored.
        expires_at = now + lifetime
        principal = self.catalog.principal(
            login, session=session_id, expires_at=expires_at, source=source
        )
        return LoginSession(token, principal, expires_at)

    def _resolve_in_database(
        self, store: DatabaseLogins, token: str, source: str | None
    ) -> Principal:
        """:meth:`resolve` when the database checks sessions: the principal has the login and
        roles but not the session's id, and the session's last use is not written (a store
        that can write touches it)."""
        if not isinstance(token, str) or not token or len(token) > _TOKEN_WIDTH:
            raise AuthenticationError(INVALID_SESSION)
        try:
            hashed = _digest(token.encode())
        except UnicodeEncodeError:
            raise AuthenticationError(INVALID_SESSION) from None
        login = store.session_login(hashed)
        if login is None or self._operator(login) is None:
            raise AuthenticationError(INVALID_SESSION)
        return self.catalog.principal(login, source=_clip(source, _SOURCE_WIDTH))

    # --- The parts ------------------------------------------------------------------------

    def _verify(
        self, login: str, password: str, now: datetime, *, source: str | None
    ) -> Credential:
        """The credential ``password`` matches, or the failure counted, audited and raised.

        A login too long for the tables is counted under its first characters, but is never
        taken for the operator those characters name.
        """
        key = login[:_LOGIN_WIDTH]
        with self.store.transaction(write=False) as tx:
            refusal = self._refusal(tx.failures(key), now)
            stored = tx.credential(key) if refusal is None else None
            secret = tx.secret() if refusal is None else b""
        if refusal is not None:
            with self.store.transaction() as tx:
                record_audit(tx, AuditKind.LOGIN_FAILED, now, key, source=source, outcome=refusal)
            raise AuthenticationError(self._refusal_message(refusal))
        operator = self._operator(login) if login == key else None
        if stored is not None and operator is not None:
            salt, parameters, verifier = stored.salt, stored.parameters, stored.verifier
        else:
            # The same work and the same answer as a wrong password: the salt is what a stored
            # one would be for this login (fixed per login, unknown without the secret).
            dummy = hmac.new(secret, login.encode("utf-8", "surrogatepass"), hashlib.sha256)
            salt = dummy.digest()[: self.profile.salt_len]
            parameters, verifier = self.profile.parameters, _NO_VERIFIER
        derived = self._derive(password, salt, parameters)
        matches = hmac.compare_digest(_digest(derived), verifier)
        if matches and stored is not None and operator is not None:
            return stored
        if operator is None:
            outcome = "inactive" if login == key and self._known(login) else "unknown_login"
        else:
            outcome = "no_password" if stored is None else "wrong_password"
        self._count_failure(key, now, source=source, outcome=outcome)
        raise AuthenticationError(WRONG_CREDENTIALS)

    def _count_failure(
        self, login: str, now: datetime, *, source: str | None, outcome: str
    ) -> None:
        policy = self.policy
        with self.store.transaction() as tx:
            restart = now - policy.lockout if policy.lockout is not None else None
            row = tx.record_failure(login, now, restart_locked_before=restart)
            locked_at = row.locked_at
            if locked_at is None and row.count >= policy.max_failures:
                locked_at = now
            tx.set_refusal(login, refused_until=now + policy.delay(row.count), locked_at=locked_at)
            record_audit(
                tx,
                AuditKind.LOGIN_FAILED,
                now,
                login,
                source=source,
                outcome=outcome,
                detail=f"failure {row.count}",
            )
            if locked_at is not None and row.locked_at is None:
                record_audit(
                    tx,
                    AuditKind.LOCKOUT,
                    now,
                    login,
                    source=source,
                    detail=f"after {row.count} failures",
                )

    def _changed_meanwhile(self, tx: LoginRecords, stored: Credential, now: datetime) -> str | None:
        """Why a password checked outside the transaction no longer counts inside it: changed
        since, or the login locked or delayed by failures counted in the meantime (attempts
        started together must not outrun the delay)."""
        if tx.credential(stored.login) != stored:
            return "password_changed"
        return self._refusal(tx.failures(stored.login), now)

    def _refusal(self, failures: LoginFailures | None, now: datetime) -> str | None:
        if failures is None:
            return None
        if failures.locked_at is not None:
            lockout = self.policy.lockout
            if lockout is None or now <= failures.locked_at + lockout:
                return "locked"
            return None  # the lockout is over; the next failure starts the count again
        if failures.refused_until is not None and now < failures.refused_until:
            return "delayed"
        return None

    @staticmethod
    def _refusal_message(refusal: str) -> str:
        if refusal == "locked":
            return "too many failed logins: the login is locked, ask a security administrator"
        if refusal == "delayed":
            return "too many failed logins: wait a little before trying again"
        return WRONG_CREDENTIALS

    def _session(self, token: object) -> SessionRecord | None:
        if not isinstance(token, str) or not token or len(token) > _TOKEN_WIDTH:
            return None
        try:
            hashed = _digest(token.encode())
        except UnicodeEncodeError:  # a forged token with lone surrogates
            return None
        with self.store.transaction(write=False) as tx:
            return tx.session_by_token_hash(hashed)

    def _known(self, login: str) -> Operator | None:
        try:
            return self.catalog.operator(login)
        except NotFoundError:
            return None

    def _operator(self, login: str) -> Operator | None:
        """The operator who may log in as ``login``: known and active."""
        operator = self._known(login)
        return operator if operator is not None and operator.active else None

    def _derive(self, password: str, salt: bytes, parameters: KeyParameters) -> bytes:
        # NFC: the same password typed on keyboards that compose accents differently.
        secret = unicodedata.normalize("NFC", password).encode("utf-8", "surrogatepass")
        return self._derive_raw(secret, salt, parameters)

    def _credential(self, login: str, password: str, now: datetime) -> Credential:
        salt = secrets.token_bytes(self.profile.salt_len)
        parameters = self.profile.parameters
        verifier = _digest(self._derive(password, salt, parameters))
        return Credential(login, salt, parameters, verifier, now)

    def _check_length(self, password: str) -> None:
        least = self.policy.min_password_length
        if len(password) < least:
            raise ValidationError(
                [Problem("password", f"must be at least {least} characters long")],
                subject="password",
            )

    def _require(
        self, actor: Principal, login: str | None, what: str, *, own: bool = False
    ) -> None:
        """Let a security administrator through (or the login itself, when ``own``); refuse
        anyone else, in the audit as well as with the error."""
        if actor.may(Permission.ADMINISTER_SECURITY) or (own and actor.login == login):
            return
        permission = Permission.ADMINISTER_SECURITY.value
        now = self.clock()
        with self.store.transaction() as tx:
            record_audit(
                tx,
                AuditKind.REFUSED,
                now,
                login,
                actor=actor.login,
                source=actor.source,
                outcome="denied",
                detail=f"{what}: needs {permission}",
            )
        raise PermissionDeniedError(actor.login, what, f"it needs the {permission!r} permission")
