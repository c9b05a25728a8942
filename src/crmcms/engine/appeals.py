"""Appeals: registration within a contact, child appeals, and edits of attribute values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import attrs

from crmcms.engine.deadlines import calendar_for, due_at
from crmcms.engine.history import snapshot
from crmcms.engine.obstacles import Requirements, ensure_allowed, require
from crmcms.engine.problems import link_new_appeals
from crmcms.engine.routing import enter_process, run_automatic
from crmcms.engine.transaction import Tx
from crmcms.engine.validation import normalise
from crmcms.errors import (
    NotFoundError,
    Problem,
    ValidationError,
    WorkflowError,
)
from crmcms.model import Appeal, AttributeValue, HistoryKind, Operator, Permission, Route

__all__ = ["AppealDraft", "create_child", "register_appeals", "update_values"]

_HANDLE = Requirements(permission=Permission.HANDLE, work=True)
_BRANCH = Requirements(permission=Permission.REGISTER, work=True)


@attrs.frozen
class AppealDraft:
    """What an operator fills in for a new appeal; ``topic=None`` takes the template's."""

    topic: str | None = None
    values: Mapping[str, object] = attrs.field(factory=dict)
    priority: str | None = None
    description: str = ""
    route: str | None = None
    """Code of the route, when several serve the topic (otherwise the only one)."""


def _route_for(tx: Tx, topic: str, code: str | None) -> Route:
    if code is not None:
        route = tx.catalog.current_route(code)
        if topic not in route.topics:
            raise ValidationError([Problem("route", f"route {code} does not serve {topic}")])
        return route
    routes = tx.catalog.routes_for_topic(topic)
    if not routes:
        raise WorkflowError(f"no route serves topic {topic}")
    return routes[0]


def _draft_problems(tx: Tx, operator: Operator, draft: AppealDraft) -> tuple[str, list[Problem]]:
    template = tx.catalog.template_for(operator.login)
    topic = draft.topic
    if topic is None and template is not None:
        topic = template.default_topic
    if topic is None:
        return "", [Problem("topic", "is required (the template gives no default)")]
    problems = []
    try:
        if not tx.catalog.topic(topic).active:
            problems.append(Problem("topic", f"{topic} is inactive"))
    except NotFoundError as err:
        return topic, [Problem("topic", str(err))]
    if template is not None and not template.allows_topic(topic):
        problems.append(Problem("topic", f"{topic} is not allowed by template {template.code}"))
    if draft.priority is not None:
        try:
            tx.catalog.priority(draft.priority)
        except NotFoundError as err:
            problems.append(Problem("priority", str(err)))
    return topic, problems


def _new_appeal(
    tx: Tx,
    contact_id: int,
    operator: Operator,
    draft: AppealDraft,
    parent_id: int | None,
) -> Appeal:
    topic, problems = _draft_problems(tx, operator, draft)
    if problems:
        raise ValidationError(problems, subject="appeal")
    route = _route_for(tx, topic, draft.route)
    given = {code: normalise(v) for code, v in draft.values.items()}
    appeal = Appeal(
        id=tx.uow.appeals.next_id(),
        contact_id=contact_id,
        topic=topic,
        route=route.code,
        route_version=route.version,
        process=route.initial,
        operator=operator.login,
        registered_at=tx.now,
        priority=draft.priority,
        parent_id=parent_id,
        description=draft.description,
    )
    data = tx.data(appeal, operator)
    # Defaults see the appeal as registered so far; given values are checked after them.
    defaults = tx.rt.values.defaults(topic, given, data)
    problems = tx.rt.values.check(topic, given, defaults)
    problems += tx.rt.policy.edit_problems(
        appeal, {c: v for c, v in given.items() if v is not None}, data
    )
    filled = cast(dict[str, AttributeValue], {c: v for c, v in given.items() if v is not None})
    appeal.values = {**defaults, **filled}
    problems += tx.rt.policy.missing_required(appeal, data)
    if problems:
        raise ValidationError(_unique(problems), subject=f"appeal on topic {topic}")
    if route.deadline is not None:
        appeal.deadline = due_at(tx.now, route.deadline, calendar_for(tx.catalog, route))
    reason = enter_process(tx, appeal, route, operator, save=False)
    tx.add_appeal(appeal)
    tx.record(appeal, HistoryKind.CREATED, None, operator=operator.login, reason=reason)
    return run_automatic(tx, appeal)


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def register_appeals(
    tx: Tx, contact_id: int, login: str, drafts: Sequence[AppealDraft]
) -> list[Appeal]:
    """Register every draft within the contact, or none: problems of all drafts at once."""
    operator = tx.operator(login)
    assert operator is not None
    require(tx.actor(operator), Permission.REGISTER, f"register appeals in contact {contact_id}")
    tx.contact(contact_id)
    appeals, problems = [], []
    for i, draft in enumerate(drafts):
        try:
            appeals.append(_new_appeal(tx, contact_id, operator, draft, None))
        except ValidationError as err:
            prefix = f"appeals[{i}]." if len(drafts) > 1 else ""
            problems += [Problem(prefix + p.code, p.message) for p in err.problems]
    if problems:
        raise ValidationError(problems, subject="appeals")
    return link_new_appeals(tx, appeals)


def create_child(tx: Tx, parent_id: int, login: str, draft: AppealDraft) -> Appeal:
    """A child appeal of an open parent, in the parent's contact, for work in parallel."""
    operator = tx.operator(login)
    assert operator is not None
    parent = tx.visible(parent_id)
    ensure_allowed(
        _BRANCH,
        parent,
        tx.actor(operator),
        {},
        tx.rt,
        tx.uow.appeals,
        "create a child of appeal {}",
        parent_id,
    )
    return _new_appeal(tx, parent.contact_id, operator, draft, parent_id)


def update_values(
    tx: Tx,
    appeal_id: int,
    login: str | None,
    values: Mapping[str, object],
    *,
    expected_version: int | None = None,
    comment: str = "",
) -> Appeal:
    """Change attribute values (``None`` clears one) under the attribute policy of the
    appeal's current process: hidden, read-only and inactive ones are refused, every value
    is validated, and required ones must stay filled. All problems at once."""
    operator = tx.operator(login)
    appeal = tx.visible(appeal_id, expected_version)
    ensure_allowed(
        _HANDLE, appeal, tx.actor(operator), {}, tx.rt, tx.uow.appeals, "edit appeal {}", appeal_id
    )
    given = {code: normalise(v) for code, v in values.items()}
    data = tx.data(appeal, operator)
    problems = tx.rt.values.check(appeal.topic, given, appeal.values)
    problems += tx.rt.policy.edit_problems(appeal, given, data)
    before = snapshot(appeal)
    for code, value in given.items():
        if value is None:
            appeal.values.pop(code, None)
        else:
            appeal.values[code] = value  # type: ignore[assignment]
    if not problems:
        problems += tx.rt.policy.missing_required(appeal, tx.data(appeal, operator))
    if problems:
        raise ValidationError(_unique(problems), subject=f"appeal {appeal_id}")
    tx.save(appeal)
    tx.record(
        appeal, HistoryKind.CHANGED, before, operator=login, comment=comment or "values edited"
    )
    return run_automatic(tx, appeal)
