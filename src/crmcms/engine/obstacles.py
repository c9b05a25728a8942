"""What stands in the way of an action on an appeal: every workflow check, written once."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from crmcms.dsl import CompiledRule, Explanation, format_rule_literal
from crmcms.errors import CrmcmsError, PermissionDeniedError, Problem, WorkflowError
from crmcms.model import Appeal, AppealState, Permission, Principal, Queue, Route

__all__ = [
    "Definitions",
    "Obstacle",
    "ObstacleKind",
    "QueueMembers",
    "ReadScope",
    "RelatedAppeals",
    "RequiredAttributes",
    "Requirements",
    "ensure_allowed",
    "find_obstacles",
    "may_read",
    "read_scope",
    "refusal",
    "require",
]


class ObstacleKind(enum.Enum):
    """Why an action cannot be taken; each kind raises one error class (see :func:`refusal`)."""

    CLOSED = "closed"
    """The appeal is closed and the action needs it open."""
    MISSING_PERMISSION = "missing_permission"
    """None of the operator's roles grants the permission the action needs."""
    OPEN = "open"
    """The appeal is open and the action (reopening) needs it closed."""
    NOT_MEMBER = "not_member"
    """The operator may not work in the appeal's queue."""
    NOT_ADMINISTRATOR = "not_administrator"
    """The operator does not administer the appeal's queue."""
    AUTOMATIC = "automatic"
    """The transition is automatic: only the system takes it."""
    RULE_FALSE = "rule_false"
    """The transition's rule is false."""
    REQUIRED_EMPTY = "required_empty"
    """Required attributes of the process being left are empty."""
    CHILDREN_OPEN = "children_open"
    """Child appeals are open and the route does not let the appeal close with them."""
    PARENT_CLOSED = "parent_closed"
    """The parent is closed and its route does not let it have open children."""

    @property
    def denies_permission(self) -> bool:
        """The operator lacks a right (raises :class:`PermissionDeniedError`); the other kinds
        are about the appeal and its route (:class:`WorkflowError`)."""
        return self in _PERMISSIONS


_PERMISSIONS = frozenset(
    {ObstacleKind.MISSING_PERMISSION, ObstacleKind.NOT_MEMBER, ObstacleKind.NOT_ADMINISTRATOR}
)


@attrs.frozen
class Obstacle:
    """One thing in the way of an action, said so that an operator can act on it."""

    kind: ObstacleKind
    message: str
    subjects: tuple[str, ...] = ()
    """What it names: the empty attributes' codes, the open children's ids."""

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class Requirements:
    """What an action needs of the appeal and of the operator; each field asks for one check.

    Made once per kind of action (route plans keep one per transition), so that checking an
    action reads a few fields and writes nothing until something is in the way.
    """

    state: AppealState | None = AppealState.OPEN
    """The state the appeal must be in; ``None`` asks nothing of it."""
    permission: Permission | None = None
    """The permission the operator's roles must grant."""
    work: bool = False
    """The operator may work in the appeal's queue: it has no members, or they are a member
    (directly or by role), an administrator of it or the appeal's responsible."""
    administer: bool = False
    """The operator administers the appeal's queue."""
    automatic: bool = False
    """An automatic transition: the system takes it, an operator may not."""
    rule: CompiledRule | None = None
    """A rule that must hold on the appeal's rule data."""
    rule_code: str = ""
    rule_name: str = ""
    leaves_process: bool = False
    """The appeal leaves its process: the process's required attributes must be filled."""
    closes: bool = False
    """The appeal closes: no child of it may be open, unless ``open_children_allowed``."""
    open_children_allowed: bool = False
    """The appeal's route lets it close with open children."""
    under_parent: bool = False
    """The appeal opens again: a closed parent must allow open children (its route says)."""


class QueueMembers(Protocol):
    """The catalog's queues and who may work in each (:class:`~crmcms.engine.queues.QueueIndex`)."""

    @property
    def workers(self) -> Mapping[str, frozenset[str] | None]:
        """By queue code: the logins that may work in it, ``None`` for a queue open to all;
        a code the catalog lacks raises its "not found" error."""

    def queue(self, code: str) -> Queue: ...


class RequiredAttributes(Protocol):
    """The attribute policy's required check (:class:`~crmcms.engine.policy.AttributePolicy`)."""

    def missing_required(self, appeal: Appeal, data: Mapping[str, Any]) -> list[Problem]: ...


class Definitions(Protocol):
    """What the checks read of the definitions (the engine's
    :class:`~crmcms.engine.runtime.Runtime` is one)."""

    @property
    def queues(self) -> QueueMembers: ...

    @property
    def policy(self) -> RequiredAttributes: ...

    def route(self, code: str, version: int) -> Route: ...


class RelatedAppeals(Protocol):
    """Where an appeal's parent and children are looked up (the appeal repository)."""

    def get(self, appeal_id: int) -> Appeal: ...

    def children(self, parent_id: int) -> list[Appeal]: ...


def find_obstacles(
    needs: Requirements,
    appeal: Appeal,
    operator: Principal | None,
    data: Mapping[str, Any],
    definitions: Definitions,
    appeals: RelatedAppeals,
    first: bool = False,
) -> list[Obstacle]:
    """What stands in the way of ``operator`` (``None``: the system) doing an action that
    needs ``needs`` on ``appeal``; empty when nothing does.

    ``data`` is the appeal's rule data, read by the rule and the required check only.
    Obstacles come in a fixed order: the appeal's state, the operator's rights, the
    automatic transition, the rule, required attributes, children, parent. ``first`` stops
    at the first one: what asking "may they?" needs, without the cost of every reason.
    """
    found: list[Obstacle] = []
    state = needs.state
    if state is not None and appeal.state is not state:
        if state is AppealState.OPEN:
            found.append(Obstacle(ObstacleKind.CLOSED, f"appeal {appeal.id} is closed"))
        else:
            message = f"appeal {appeal.id} is open, nothing to reopen"
            found.append(Obstacle(ObstacleKind.OPEN, message))
        if first:
            return found
    if operator is not None and not operator.system:
        permission = needs.permission
        if permission is not None and permission not in operator.permissions:
            message = f"{operator.login} lacks permission {permission.value}"
            found.append(Obstacle(ObstacleKind.MISSING_PERMISSION, message, (permission.value,)))
            if first:
                return found
        code = appeal.queue
        if needs.work and code is not None:
            logins = definitions.queues.workers[code]
            login = operator.login
            if logins is not None and login not in logins and appeal.responsible != login:
                queue = definitions.queues.queue(code)
                message = f"{login} is not a member of queue {code} ({queue.name})"
                found.append(Obstacle(ObstacleKind.NOT_MEMBER, message))
                if first:
                    return found
        if needs.administer and (
            code is None or operator.login not in definitions.queues.queue(code).administrators
        ):
            message = f"{operator.login} is not an administrator of queue {code}"
            found.append(Obstacle(ObstacleKind.NOT_ADMINISTRATOR, message))
            if first:
                return found
        if needs.automatic:
            message = "automatic: the system takes it as soon as its rule holds"
            found.append(Obstacle(ObstacleKind.AUTOMATIC, message))
            if first:
                return found
    rule = needs.rule
    if rule is not None and not rule.evaluate(data):
        # Only a refusal needs the explanation.
        detail = "; ".join(_false_parts(rule.explain(data))) or rule.text
        message = f"rule {needs.rule_code} ({needs.rule_name}) is false: {detail}"
        found.append(Obstacle(ObstacleKind.RULE_FALSE, message))
        if first:
            return found
    if needs.leaves_process:
        missing = definitions.policy.missing_required(appeal, data)
        if missing:
            codes = tuple(p.code for p in missing)
            message = f"required attributes are not filled: {', '.join(codes)}"
            found.append(Obstacle(ObstacleKind.REQUIRED_EMPTY, message, codes))
            if first:
                return found
    if needs.closes and not needs.open_children_allowed:
        ids = tuple(str(c.id) for c in appeals.children(appeal.id) if c.is_open)
        if ids:
            message = f"child appeals are open: {', '.join(ids)}"
            found.append(Obstacle(ObstacleKind.CHILDREN_OPEN, message, ids))
            if first:
                return found
    parent_id = appeal.parent_id
    if needs.under_parent and parent_id is not None:
        # A parent may only be closed with open children when its route says so: the same
        # holds for a child opened again under it.
        parent = appeals.get(parent_id)
        if (
            not parent.is_open
            and not definitions.route(parent.route, parent.route_version).close_with_open_children
        ):
            message = (
                f"appeal {appeal.id} is a child of appeal {parent_id}, which is closed and may "
                "not have open children: reopen the parent first"
            )
            found.append(Obstacle(ObstacleKind.PARENT_CLOSED, message, (str(parent_id),)))
    return found


def _false_parts(node: Explanation) -> list[str]:
    """The innermost false conditions with the values they read: what an operator can act on."""
    if node.value is not False or not node.evaluated:
        return []
    inner = [part for child in node.children for part in _false_parts(child)]
    if inner:
        return inner
    reads = [
        f"{c.text} is {format_rule_literal(c.value)}"
        for c in node.children
        if c.evaluated and c.text != format_rule_literal(c.value)
    ]
    return [node.text + (f" ({', '.join(reads)})" if reads else "")]


def refusal(obstacles: Sequence[Obstacle], operator: Principal | None, action: str) -> CrmcmsError:
    """The error refusing ``action`` (a verb phrase: "close appeal 7") for ``obstacles``.

    One class per fault, whatever the action: :class:`PermissionDeniedError` when any of
    them is a right the operator lacks, :class:`WorkflowError` otherwise. The message gives
    every obstacle.
    """
    reasons = "; ".join(o.message for o in obstacles)
    if operator is not None and any(o.kind.denies_permission for o in obstacles):
        missing = next(
            (o.subjects[0] for o in obstacles if o.kind is ObstacleKind.MISSING_PERMISSION), None
        )
        return PermissionDeniedError(operator.login, action, reasons, missing)
    who = operator.login if operator is not None else "the system"
    return WorkflowError(f"{who} may not {action}: {reasons}")


def ensure_allowed(
    needs: Requirements,
    appeal: Appeal,
    operator: Principal | None,
    data: Mapping[str, Any],
    definitions: Definitions,
    appeals: RelatedAppeals,
    action: str,
    *subjects: object,
) -> None:
    """Refuse the action (raise its :func:`refusal`) when anything stands in its way.

    The arguments are those of :func:`find_obstacles`; ``action`` is the verb phrase, with
    ``{}`` for each of ``subjects`` ("take transition {} of appeal {}", code, 7). It is
    filled in only on refusal: most actions are allowed, and a transition is the most
    frequent of them.
    """
    # Whether anything stands in the way first (it stops at the first obstacle and builds
    # no reasons), and every reason only for a refusal: most actions are allowed.
    if find_obstacles(needs, appeal, operator, data, definitions, appeals, True):
        found = find_obstacles(needs, appeal, operator, data, definitions, appeals)
        raise refusal(found, operator, action.format(*subjects))


def require(operator: Principal | None, permission: Permission, action: str) -> None:
    """Refuse ``action`` unless ``operator`` (``None``: the system) holds ``permission``: the
    check of actions that concern no one appeal (registering, bulk work, reports)."""
    if operator is None or operator.system or permission in operator.permissions:
        return
    reason = f"{operator.login} lacks permission {permission.value}"
    raise PermissionDeniedError(operator.login, action, reason, permission.value)


def may_read(operator: Principal | None, appeal: Appeal, queues: QueueMembers) -> bool:
    """Whether ``operator`` (``None``: the system) may see ``appeal``: with ``read_all``
    every appeal; with ``read`` those of the queues it works in (members, administrators,
    queues open to all), those it is responsible for, and unqueued ones it registered."""
    if operator is None or operator.system:
        return True
    permissions = operator.permissions
    if Permission.READ_ALL in permissions:
        return True
    if Permission.READ not in permissions:
        return False
    login = operator.login
    if appeal.responsible == login:
        return True
    code = appeal.queue
    if code is None:
        return appeal.operator == login
    logins = queues.workers.get(code, frozenset())
    return logins is None or login in logins


@attrs.frozen
class ReadScope:
    """What a reader may see, as a storage query bounds it (:func:`may_read` for a list):
    appeals of ``queues``, those ``login`` is responsible for, and unqueued ones it
    registered; nothing at all when ``nothing``."""

    login: str
    queues: frozenset[str] = frozenset()
    nothing: bool = False


def read_scope(operator: Principal | None, queues: QueueMembers) -> ReadScope | None:
    """The :class:`ReadScope` of ``operator``; ``None`` when it may read every appeal (the
    system, ``read_all``)."""
    if operator is None or operator.system or Permission.READ_ALL in operator.permissions:
        return None
    login = operator.login
    if Permission.READ not in operator.permissions:
        return ReadScope(login, nothing=True)
    codes = frozenset(
        code for code, logins in queues.workers.items() if logins is None or login in logins
    )
    return ReadScope(login, codes)
