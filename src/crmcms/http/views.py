"""Records of the engine and storage as the bodies the HTTP API answers with."""

from __future__ import annotations

from crmcms.engine.history import QueueExplanation
from crmcms.engine.policy import AttributeState
from crmcms.engine.routing import TransitionOption
from crmcms.http.schemas import (
    AppealSummaryView,
    AppealView,
    AttributeView,
    ChangeView,
    ContactView,
    HistoryEventView,
    QueueExplanationView,
    TextValue,
    TransitionView,
)
from crmcms.model import Appeal, Contact, HistoryEvent, format_value
from crmcms.storage.sql import AppealSummary

__all__ = [
    "appeal_view",
    "attribute_view",
    "contact_view",
    "event_view",
    "explanation_view",
    "summary_view",
    "text",
    "transition_view",
]


def text(value: object) -> TextValue:
    """A value as canonical text: what the API takes back in an edit."""
    if value is None:
        return None
    if isinstance(value, tuple | list | frozenset):
        return [format_value(v) for v in value]
    return format_value(value)  # type: ignore[arg-type]


def appeal_view(appeal: Appeal) -> AppealView:
    return AppealView(
        id=appeal.id,
        contact_id=appeal.contact_id,
        topic=appeal.topic,
        route=appeal.route,
        route_version=appeal.route_version,
        process=appeal.process,
        queue=appeal.queue,
        state=appeal.state.value,
        priority=appeal.priority,
        operator=appeal.operator,
        responsible=appeal.responsible,
        parent_id=appeal.parent_id,
        registered_at=appeal.registered_at,
        deadline=appeal.deadline,
        process_deadline=appeal.process_deadline,
        closed_at=appeal.closed_at,
        description=appeal.description,
        attributes={code: text(v) for code, v in appeal.values.items()},
        version=appeal.version,
    )


def contact_view(contact: Contact) -> ContactView:
    return ContactView(
        id=contact.id,
        place=contact.place,
        direction=contact.direction.value,
        channel=contact.channel,
        operator=contact.operator,
        registered_at=contact.registered_at,
        template=contact.template,
        client_id=contact.client_id,
        subscriber_id=contact.subscriber_id,
        contact_person_id=contact.contact_person_id,
        prospect_id=contact.prospect_id,
        comment=contact.comment,
    )


def attribute_view(state: AttributeState) -> AttributeView:
    d = state.definition
    return AttributeView(
        code=d.code,
        name=d.name,
        value_type=d.value_type.value,
        multiple=d.multiple,
        owner=state.owner,
        inherited=state.inherited,
        group=None if state.group is None else state.group.code,
        read_only=state.read_only,
        required=state.required,
        common=state.common,
        value=text(state.value),
    )


def transition_view(option: TransitionOption) -> TransitionView:
    t = option.transition
    return TransitionView(
        code=t.code,
        name=t.name,
        target=t.target,
        available=option.available,
        reasons=list(option.reasons),
    )


def event_view(event: HistoryEvent) -> HistoryEventView:
    return HistoryEventView(
        id=event.id,
        kind=event.kind.value,
        at=event.at,
        operator=event.operator,
        process=event.process,
        queue=event.queue,
        transition=event.transition,
        changes=[ChangeView(c.field, text(c.old), text(c.new)) for c in event.changes],
        comment=event.comment,
        reason=event.reason,
    )


def explanation_view(why: QueueExplanation) -> QueueExplanationView:
    return QueueExplanationView(
        appeal_id=why.appeal_id,
        queue=why.queue,
        process=why.process,
        since=why.since,
        by=why.by,
        transition=why.transition,
        reason=why.reason,
    )


def summary_view(row: AppealSummary | Appeal) -> AppealSummaryView:
    if isinstance(row, Appeal):
        state, client_id = row.state.value, None
    else:
        state, client_id = row.state, row.client_id
    return AppealSummaryView(
        id=row.id,
        topic=row.topic,
        process=row.process,
        queue=row.queue,
        state=state,
        priority=row.priority,
        responsible=row.responsible,
        client_id=client_id,
        registered_at=row.registered_at,
        deadline=row.deadline,
    )
