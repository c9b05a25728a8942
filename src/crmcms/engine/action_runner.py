"""Who an action runs for, and the transaction each action runs in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import attrs

from crmcms.dsl.rules.functions import reset_rule_clock, set_rule_clock
from crmcms.engine.obstacles import ReadScope, read_scope, require
from crmcms.engine.transaction import Tx
from crmcms.errors import AuthenticationError, PermissionDeniedError
from crmcms.model import AuditKind, Catalog, Permission, Principal

if TYPE_CHECKING:
    from crmcms.engine.audit import AuditLog
    from crmcms.engine.file_store import FileStore
    from crmcms.engine.limits import Limits
    from crmcms.engine.reports import ReportRunner
    from crmcms.engine.runtime import Runtime
    from crmcms.engine.sla import SlaRetry

__all__ = ["Acting", "ActionRunner"]

T = TypeVar("T")

Acting = str | Principal
"""Whom an action runs for: a :class:`~crmcms.model.Principal` (a session's, a host's
authenticator's, or :meth:`Engine.trusted`), or a bare login where the engine trusts logins."""

# The engine's refusals have always been logged here; log filters rely on the name.
log = logging.getLogger("crmcms.sla")


def utc_now() -> datetime:
    return datetime.now(UTC)


class ActionRunner:
    """The part of :class:`~crmcms.engine.Engine` every group of actions stands on: the
    principal an action runs for, its permission checks and its unit of work."""

    runtime: Runtime
    limits: Limits
    audit: AuditLog | None
    sla_retry: SlaRetry
    trust_logins: bool
    file_store: FileStore | None
    reporting: ReportRunner

    @property
    def catalog(self) -> Catalog:
        return self.runtime.catalog

    def trusted(self, login: str) -> Principal:
        """The principal of operator ``login`` with its catalog roles, for a host that has
        authenticated the user itself (single sign-on, a directory) or for tests."""
        return self.runtime.principal(login)

    def authenticate_with(
        self, credentials: Mapping[str, object], *, source: str | None = None
    ) -> Principal:
        """The principal a ``crmcms_authenticate`` plugin finds for ``credentials`` (a host's
        single sign-on); refused with :class:`~crmcms.errors.AuthenticationError` when no
        plugin places them, or names an operator the catalog lacks or holds inactive."""
        found = self.runtime.hook("crmcms_authenticate", credentials=credentials, source=source)
        if found is None:
            raise AuthenticationError("the credentials were not accepted")
        login = found.login if isinstance(found, Principal) else str(found)
        operator = self.runtime.operators.get(login)
        if operator is None or not operator.active:
            raise AuthenticationError("the credentials were not accepted")
        if isinstance(found, Principal):
            return attrs.evolve(found, source=source or found.source, system=False)
        return attrs.evolve(self.runtime.principal(login), source=source)

    def principal(self, operator: Acting | None) -> Principal | None:
        """The principal an action runs for (``None``: the system), checked: a bare login
        only where logins are trusted, a session's principal only before it expires."""
        if isinstance(operator, Principal):
            if operator.system:
                return None
            expires = operator.expires_at
            if expires is not None and expires <= self.runtime.clock():
                raise AuthenticationError("the session has expired: log in again")
            return operator
        if not self.trust_logins:
            if operator is None:
                raise AuthenticationError(
                    "acting as the system needs crmcms.model.SYSTEM; operators need a principal"
                )
            raise AuthenticationError(
                f"{operator!r} is a bare login: pass a principal (a session's, or "
                "engine.trusted(login) where the host vouches for the user)"
            )
        return None if operator is None else self.runtime.principal(operator)

    def run(
        self,
        action: Callable[[Tx], T],
        *,
        now: datetime | None = None,
        principal: Principal | None = None,
    ) -> T:
        """Run ``action`` in a fresh transaction for ``principal`` (``None``: the system)
        and commit it if it returns."""
        try:
            with self.runtime.uow_factory() as uow:
                tx = Tx(self.runtime, uow, now, principal)
                # Every rule of one action sees the action's time as now(), not the wall clock.
                token = set_rule_clock(tx.clock)
                try:
                    result = action(tx)
                finally:
                    reset_rule_clock(token)
                tx.commit()
        except PermissionDeniedError as refused:
            self._refused(principal, refused)
            raise
        return tx.settled(result)

    def _refused(self, principal: Principal | None, refused: PermissionDeniedError) -> None:
        """Record a refusal in the audit, after the action rolled back: the refusal stands
        whatever the audit does, and a failing audit is logged, not raised."""
        if self.audit is None:
            return
        try:
            self.audit.record(
                AuditKind.REFUSED,
                refused.operator,
                source=None if principal is None else principal.source,
                outcome=refused.permission or "refused",
                detail=f"{refused.action}: {refused.reason}",
            )
        except Exception:
            log.exception("recording the refusal of %r failed", refused.action)

    def _require(self, who: Principal | None, permission: Permission, action: str) -> None:
        try:
            require(who, permission, action)
        except PermissionDeniedError as refused:
            self._refused(who, refused)
            raise

    def _acting(self, operator: Acting) -> tuple[Principal, str]:
        """An operator's principal and login, for actions the system does not take."""
        who = self.principal(operator)
        if who is None:
            raise AuthenticationError("this action is an operator's: pass its principal")
        return who, who.login

    def read_scope(self, operator: Acting | None = None) -> ReadScope | None:
        """The bounds of what ``operator`` may read, for storage queries (saved filters,
        queue pages, reports): ``None`` when it may read everything."""
        return read_scope(self.principal(operator), self.runtime.queues)
