"""Who may do what: named permissions, the built-in roles, and the principal an action runs under.

Definitions only: how a principal is obtained (a password login, a host's own single
sign-on, a trusted helper in tests) is the engine's business; what a principal may do is
decided here from the catalog's roles.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import control_characters
from crmcms.model.people import Operator, Role

__all__ = [
    "BUILTIN_ROLES",
    "DEFAULT_ROLE",
    "QUEUE_ADMINISTRATOR",
    "SYSTEM",
    "Permission",
    "Principal",
    "permissions_of",
]


class Permission(enum.StrEnum):
    """A right an action needs; roles grant them by these codes (``permissions: handle``)."""

    REGISTER = "register"
    """Register contacts and appeals, create child appeals."""
    HANDLE = "handle"
    """Edit an appeal's values and move it along its route."""
    TAKE = "take"
    """Take an appeal from a queue one works in."""
    ASSIGN = "assign"
    """Hand an appeal to another operator."""
    CLOSE = "close"
    REOPEN = "reopen"
    CHANGE_DEADLINES = "change_deadlines"
    """Override an appeal's deadlines (in a queue one administers)."""
    BULK = "bulk"
    """Act on many appeals in one call."""
    READ = "read"
    """Read appeals of the queues one works in or is responsible for."""
    READ_ALL = "read_all"
    """Read every appeal, whatever its queue."""
    READ_HISTORY = "read_history"
    """Read an appeal's history and its state at a past moment."""
    REPORT = "report"
    """Run reports and the SLA view."""
    EXPORT = "export"
    """Export reports and lists to files."""
    ADMINISTER_QUEUES = "administer_queues"
    """Administer the queues one is an administrator of."""
    MANAGE_SYSTEM_PROBLEMS = "manage_system_problems"
    MANAGE_ATTACHMENTS = "manage_attachments"
    """Remove any attachment of an appeal one may read, whoever added it."""
    ADMINISTER_SECURITY = "administer_security"
    """Manage passwords, sessions and read the audit."""
    ADMINISTER = "administer"
    """Publish definitions, run the monitor and the outbox, recompute deadlines."""


_OPERATOR = frozenset(
    {
        Permission.REGISTER,
        Permission.HANDLE,
        Permission.TAKE,
        Permission.ASSIGN,
        Permission.CLOSE,
        Permission.REOPEN,
        Permission.READ,
        Permission.READ_HISTORY,
    }
)
_QUEUE_ADMINISTRATOR = _OPERATOR | {
    Permission.CHANGE_DEADLINES,
    Permission.BULK,
    Permission.ADMINISTER_QUEUES,
    Permission.MANAGE_ATTACHMENTS,
}
_MANAGER = frozenset(
    {
        Permission.READ,
        Permission.READ_ALL,
        Permission.READ_HISTORY,
        Permission.REPORT,
        Permission.EXPORT,
    }
)
_SYSTEM_PROBLEM_MANAGER = frozenset(
    {Permission.READ, Permission.READ_ALL, Permission.BULK, Permission.MANAGE_SYSTEM_PROBLEMS}
)
_SECURITY_ADMINISTRATOR = frozenset({Permission.ADMINISTER_SECURITY})

BUILTIN_ROLES: Mapping[str, Role] = {
    r.code: r
    for r in (
        Role("OPERATOR", "Operator", "Registers and handles appeals", tuple(sorted(_OPERATOR))),
        Role(
            "QUEUE_ADMINISTRATOR",
            "Queue administrator",
            "An operator who also administers its own queues",
            tuple(sorted(_QUEUE_ADMINISTRATOR)),
        ),
        Role("MANAGER", "Manager", "Reads and reports; does not handle", tuple(sorted(_MANAGER))),
        Role(
            "SYSTEM_PROBLEM_MANAGER",
            "System problem manager",
            "Registers and resolves mass incidents",
            tuple(sorted(_SYSTEM_PROBLEM_MANAGER)),
        ),
        Role(
            "SECURITY_ADMINISTRATOR",
            "Security administrator",
            "Passwords, sessions and the audit; no appeals",
            tuple(sorted(_SECURITY_ADMINISTRATOR)),
        ),
        Role(
            "ADMINISTRATOR",
            "Administrator",
            "Every permission",
            tuple(sorted(Permission)),
        ),
    )
}
"""Roles every catalog knows by code without listing them; a role of the same code defined in
the catalog wins."""

DEFAULT_ROLE = "OPERATOR"
"""The role of an operator declared without roles (or with roles granting nothing)."""

QUEUE_ADMINISTRATOR = "QUEUE_ADMINISTRATOR"
"""The role an operator named among a queue's administrators holds."""


@attrs.frozen
class Principal:
    """Whom an action runs for: an operator with the permissions its roles grant.

    Obtained from the engine (a password login, a session token, a host's authenticator,
    or :meth:`Engine.trusted` in tests), never built from what a user typed.
    ``session`` is the session's id (not its token); ``source`` says where the request came
    from (an address, a system's name), for the audit.
    """

    login: str
    roles: frozenset[str] = frozenset()
    permissions: frozenset[Permission] = frozenset()
    session: int | None = None
    expires_at: datetime | None = None
    source: str | None = None
    system: bool = False
    """The system itself (the SLA monitor, the outbox relay): every permission, no queue
    bounds, and no operator in the catalog."""

    def __attrs_post_init__(self) -> None:
        if control_characters(self.login):
            # refused here, where it is made, rather than by the database it is bound for
            raise ValidationError(
                [Problem("login", f"{self.login!r} holds a control character")],
                subject="principal",
            )

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @classmethod
    def of(
        cls,
        operator: Operator,
        roles: Mapping[str, Role],
        *,
        administers: bool = False,
        session: int | None = None,
        expires_at: datetime | None = None,
        source: str | None = None,
    ) -> Principal:
        """The principal of ``operator``: its roles and every permission they grant.
        ``roles`` maps codes to the catalog's roles.

        Two roles come without being listed: the operator role when the listed ones grant
        no permission (none listed, or roles that only group queue members), and the queue
        administrator role for an operator who ``administers`` a queue (is named among its
        administrators), which it may then administer, and only that one."""
        codes = set(operator.roles)
        # A role the catalog does not define (``crmcms check`` reports it) grants nothing.
        if not permissions_of(roles[c] for c in codes if c in roles):
            codes.add(DEFAULT_ROLE)
        if administers:
            codes.add(QUEUE_ADMINISTRATOR)
        return cls(
            operator.login,
            frozenset(codes),
            permissions_of(roles[c] for c in codes if c in roles),
            session,
            expires_at,
            source,
        )


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Every permission the roles grant (codes a role lists are checked where it is defined)."""
    return frozenset(Permission(p) for role in roles for p in role.permissions)


SYSTEM = Principal("system", frozenset(), frozenset(Permission), system=True)
"""The system's own principal: what the worker, the monitor and automatic transitions act as."""
