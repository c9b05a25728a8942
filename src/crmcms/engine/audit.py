"""The audit: each event stored with the change it records and exported through the outbox.

An event and its outbox message are written in one transaction of the login store, so the
``crmcms_audit`` plugins hear of exactly the events that were committed: after the commit,
through the relay, retried like any message until a plugin takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from crmcms import serialization
from crmcms.engine.login_store import LoginRecords, LoginStore
from crmcms.model import AUDIT, AuditEvent, AuditKind, OutboxMessage

__all__ = ["AuditLog", "audit_event_of", "record_audit"]


def record_audit(
    tx: LoginRecords,
    kind: AuditKind | str,
    at: datetime,
    login: str | None,
    *,
    actor: str | None = None,
    source: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> AuditEvent:
    """Store an audit event in ``tx`` and, in the same transaction, the outbox message that
    exports it; returns the event. Every audit event goes through here, so none is stored
    without its message nor sent without being stored."""
    event = tx.add_audit(
        kind, at, login, actor=actor, source=source, outcome=outcome, detail=detail
    )
    tx.add_message(AUDIT, serialization.dump(event), at)
    return event


def audit_event_of(message: OutboxMessage) -> AuditEvent:
    """The audit event an outbox message of kind ``audit`` holds."""
    return serialization.load(dict(message.payload), AuditEvent)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Records and reads audit events of ``store`` outside the login gateway: refused engine
    actions, definitions published, roles set up.

    It checks no permission: whoever holds it is trusted as whoever holds the database is
    (the ``crmcms audit`` command, the engine). Operators read the audit through
    :meth:`LoginGateway.audit <crmcms.engine.authentication.LoginGateway.audit>`, which asks
    for ``administer_security``.
    """

    def __init__(self, store: LoginStore, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self.clock = clock

    def record(
        self,
        kind: AuditKind | str,
        login: str | None,
        *,
        actor: str | None = None,
        source: str | None = None,
        outcome: str = "ok",
        detail: str = "",
        at: datetime | None = None,
    ) -> AuditEvent:
        """Store one event (at ``at``, or now) with its outbox message, in one short
        transaction of its own; returns the event as stored."""
        when = at if at is not None else self.clock()
        with self.store.transaction() as tx:
            return record_audit(
                tx,
                kind,
                when,
                login,
                actor=actor,
                source=source,
                outcome=outcome,
                detail=detail,
            )

    def list(
        self,
        *,
        login: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """The latest ``limit`` events matching every filter given, newest first: ``since``
        includes its moment, ``until`` does not, so consecutive ranges never overlap."""
        with self.store.transaction(write=False) as tx:
            return tx.audit(login=login, kind=kind, since=since, until=until, limit=limit)
