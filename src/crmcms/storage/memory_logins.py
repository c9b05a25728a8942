"""The login gateway's store in memory: for tests, demos and a single process.

Audit events go out through the outbox of a :class:`~crmcms.storage.memory.MemoryStore`: the
engine's, when it is given, so that the engine's relay delivers them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import attrs

from crmcms.engine.credentials import AuditEvent, Credential, LoginFailures, SessionRecord
from crmcms.model import OutboxMessage
from crmcms.storage.memory import MemoryStore
from crmcms.storage.memory_outbox import MemoryOutbox

__all__ = ["MemoryLoginStore"]


@attrs.define
class _State:
    credentials: dict[str, Credential] = attrs.Factory(dict)
    failures: dict[str, LoginFailures] = attrs.Factory(dict)
    sessions: dict[int, SessionRecord] = attrs.Factory(dict)
    audit: list[AuditEvent] = attrs.Factory(list)
    next_session: int = 1
    next_event: int = 1

    def copy(self) -> _State:
        # Records are frozen, so copying the containers is enough to stage a transaction. The
        # audit only grows: it is shared, and a transaction's events are added at commit.
        return _State(
            dict(self.credentials),
            dict(self.failures),
            dict(self.sessions),
            self.audit,
            self.next_session,
            self.next_event,
        )


class _Records:
    """One transaction's view: a private copy of the state, swapped in at commit."""

    def __init__(self, state: _State, secret: bytes, outbox: MemoryOutbox) -> None:
        self._state = state
        self._secret = secret
        self.new_events: list[AuditEvent] = []
        self.outbox = outbox
        """The messages staged, written to the outbox's store at commit."""

    def credential(self, login: str) -> Credential | None:
        return self._state.credentials.get(login)

    def put_credential(self, credential: Credential) -> None:
        self._state.credentials[credential.login] = credential

    def failures(self, login: str) -> LoginFailures | None:
        return self._state.failures.get(login)

    def record_failure(
        self, login: str, at: datetime, *, restart_locked_before: datetime | None = None
    ) -> LoginFailures:
        row = self._state.failures.get(login)
        if row is None or _expired(row, restart_locked_before):
            row = LoginFailures(login, 1, at)
        else:
            row = attrs.evolve(row, count=row.count + 1, last_at=at)
        self._state.failures[login] = row
        return row

    def set_refusal(
        self, login: str, *, refused_until: datetime | None, locked_at: datetime | None
    ) -> None:
        row = self._state.failures.get(login)
        if row is not None:
            self._state.failures[login] = attrs.evolve(
                row, refused_until=refused_until, locked_at=locked_at
            )

    def clear_failures(self, login: str) -> None:
        self._state.failures.pop(login, None)

    def secret(self) -> bytes:
        return self._secret

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
        state = self._state
        record = SessionRecord(
            state.next_session,
            login,
            token_hash,
            created_at,
            created_at,
            expires_at,
            idle_timeout,
            source,
        )
        state.sessions[record.id] = record
        state.next_session += 1
        return record

    def session_by_token_hash(self, token_hash: bytes) -> SessionRecord | None:
        return next((s for s in self._state.sessions.values() if s.token_hash == token_hash), None)

    def touch_session(self, session_id: int, at: datetime) -> None:
        record = self._state.sessions.get(session_id)
        if record is not None and at > record.last_seen_at:
            self._state.sessions[session_id] = attrs.evolve(record, last_seen_at=at)

    def revoke_session(self, session_id: int, at: datetime) -> bool:
        record = self._state.sessions.get(session_id)
        if record is None or record.revoked_at is not None:
            return False
        self._state.sessions[session_id] = attrs.evolve(record, revoked_at=at)
        return True

    def revoke_sessions(self, login: str, at: datetime, *, keep: int | None = None) -> int:
        ids = [
            s.id
            for s in self._state.sessions.values()
            if s.login == login and s.revoked_at is None and s.id != keep
        ]
        for session_id in ids:
            self.revoke_session(session_id, at)
        return len(ids)

    def sessions(self, login: str) -> list[SessionRecord]:
        return sorted(
            (s for s in self._state.sessions.values() if s.login == login), key=lambda s: s.id
        )

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
        state = self._state
        event = AuditEvent(state.next_event, at, str(kind), login, actor, source, outcome, detail)
        self.new_events.append(event)
        state.next_event += 1
        return event

    def audit(
        self,
        *,
        login: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        found = [
            e
            for e in [*self._state.audit, *self.new_events]
            if (login is None or e.login == login)
            and (kind is None or e.kind == kind)
            and (since is None or e.at >= since)
            and (until is None or e.at < until)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return found[: max(limit, 0)]

    def add_message(self, kind: str, payload: Mapping[str, Any], at: datetime) -> OutboxMessage:
        outbox = self.outbox
        message = OutboxMessage(outbox.next_id(), kind, payload, at, at)
        outbox.add(message)
        return message


def _expired(row: LoginFailures, locked_before: datetime | None) -> bool:
    return locked_before is not None and row.locked_at is not None and row.locked_at < locked_before


class MemoryLoginStore:
    """Logins kept in dictionaries; transactions run one at a time under a lock.

    Audit events are exported through the outbox of ``store``: pass the engine's
    :class:`~crmcms.storage.memory.MemoryStore` so that its relay delivers them. Without
    one the store keeps an outbox of its own, :attr:`store`, that no engine reads.
    """

    def __init__(self, *, secret: bytes | None = None, store: MemoryStore | None = None) -> None:
        self._state = _State()
        # Each store its own secret, as each database has: dummy salts differ between them.
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._lock = threading.Lock()
        self.store = store if store is not None else MemoryStore()
        """Whose outbox audit events go to."""

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[_Records]:
        store = self.store
        with self._lock:
            staged = self._state.copy()
            outbox = MemoryOutbox(store.outbox, store.lock, store.message_ids.__next__)
            records = _Records(staged, self._secret, outbox)
            yield records
            if write:
                # The store's lock is taken inside this one and nobody holding it waits for
                # ours, so the two never deadlock; events and messages appear together.
                with store.lock:
                    outbox.write()
                    staged.audit.extend(records.new_events)
                self._state = staged
