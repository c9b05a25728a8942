"""``/appeals``: register, read and edit appeals, and what the operator may see of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import FromQuery, HeaderParameter, JSONBody, Parameter

from crmcms.engine import AppealDraft, appeals, contacts
from crmcms.engine.text_values import parse_attributes
from crmcms.engine.transaction import Tx
from crmcms.errors import Problem, ValidationError
from crmcms.http.problems import Reply
from crmcms.http.replies import (
    PROBLEMS,
    SESSION,
    appeal_reply,
    appeal_response,
    expected_version,
    plain,
    respond,
)
from crmcms.http.schemas import (
    AppealCreate,
    AppealSummaryView,
    AppealView,
    AttributeView,
    ChildCreate,
    EditBody,
    HistoryEventView,
    QueueExplanationView,
    TextValue,
)
from crmcms.http.services import Acting, Needs
from crmcms.http.views import (
    appeal_view,
    attribute_view,
    event_view,
    explanation_view,
    summary_view,
)
from crmcms.model import Direction

__all__ = ["AppealsController", "IdempotencyKey", "IfMatch", "check_texts", "direction_of"]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="Retries with this key get the first response and repeat nothing.",
    ),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        description="The appeal's ETag (its version): a stale one is 412, nothing changed.",
    ),
]
AppealId = Annotated[int, Parameter(ge=1, le=2**62)]


def direction_of(text: str | None) -> Direction | None:
    if text is None:
        return None
    try:
        return Direction(text)
    except ValueError:
        known = ", ".join(d.value for d in Direction)
        raise ValidationError([Problem("direction", f"{text!r} is not one of {known}")]) from None


def check_texts(
    services: Needs,
    subject: str,
    texts: dict[str, str],
    values: list[dict[str, TextValue]],
) -> None:
    """The request limits of the engine, before any work."""
    services.engine.limits.check(subject, texts=texts, values=values, drafts=len(values))


class AppealsController(Controller):
    path = "/appeals"
    tags = ["appeals"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @post(
        "/",
        status_code=201,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Register an appeal from codes and canonical text",
    )
    def create(
        self,
        data: JSONBody[AppealCreate],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AppealView]:
        texts = {"description": data.description}
        check_texts(services, "appeal", texts, [data.attributes])
        login = principal.login

        def act(tx: Tx) -> Reply:
            values = parse_attributes(tx.catalog, data.topic, data.attributes)
            contact_id = data.contact_id
            if contact_id is None:
                contact_id = contacts.register_contact(
                    tx,
                    login,
                    place=data.place,
                    channel=data.channel,
                    direction=direction_of(data.direction),
                    client_id=data.client_id,
                ).id
            draft = AppealDraft(data.topic, values, data.priority, data.description)
            [made] = appeals.register_appeals(tx, contact_id, login, [draft])
            return appeal_reply(made, 201, created=True)

        body = plain(data)
        reply = services.writes.run(
            principal, act, request="POST /appeals", body=body, key=idempotency_key
        )
        return respond(reply)

    @get("/{appeal_id:int}", responses=PROBLEMS, sync_to_thread=True, summary="An appeal")
    def read(self, appeal_id: AppealId, principal: Acting, services: Needs) -> Response[AppealView]:
        return appeal_response(services.engine.appeal(appeal_id, operator=principal))

    @patch(
        "/{appeal_id:int}",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Set attributes from canonical text (null clears one)",
    )
    def edit(
        self,
        appeal_id: AppealId,
        data: JSONBody[EditBody],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        expected = expected_version(if_match)
        check_texts(services, f"appeal {appeal_id}", {"comment": data.comment}, [data.attributes])
        login = principal.login

        def act(tx: Tx) -> Reply:
            appeal = tx.visible(appeal_id, expected)
            values = parse_attributes(tx.catalog, appeal.topic, data.attributes)
            changed = appeals.update_values(
                tx, appeal_id, login, values, expected_version=expected, comment=data.comment
            )
            return appeal_reply(changed)

        reply = services.writes.run(
            principal,
            act,
            request=f"PATCH /appeals/{appeal_id}",
            body=plain(data),
            key=idempotency_key,
            expected=expected,
        )
        return respond(reply)

    @get(
        "/{appeal_id:int}/attributes",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The attributes the operator may see, with their flags now",
    )
    def attributes(
        self, appeal_id: AppealId, principal: Acting, services: Needs
    ) -> list[AttributeView]:
        return [attribute_view(s) for s in services.engine.attributes(appeal_id, principal)]

    @get(
        "/{appeal_id:int}/history",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The appeal's history (needs read_history)",
    )
    def history(
        self, appeal_id: AppealId, principal: Acting, services: Needs
    ) -> list[HistoryEventView]:
        return [event_view(e) for e in services.engine.history(appeal_id, operator=principal)]

    @get(
        "/{appeal_id:int}/state",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The appeal as it was at a moment, rebuilt from its history",
    )
    def state_at(
        self,
        appeal_id: AppealId,
        at: FromQuery[datetime],
        principal: Acting,
        services: Needs,
    ) -> AppealView:
        if at.tzinfo is None:
            raise ValidationError([Problem("at", "needs a time zone, such as Z or +03:00")])
        return appeal_view(services.engine.state_at(appeal_id, at, operator=principal))

    @get(
        "/{appeal_id:int}/why-in-queue",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The event that put the appeal in its queue, and the reason recorded",
    )
    def why_in_queue(
        self, appeal_id: AppealId, principal: Acting, services: Needs
    ) -> QueueExplanationView:
        return explanation_view(services.engine.why_in_queue(appeal_id, operator=principal))

    @get(
        "/{appeal_id:int}/children",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="The appeal's child appeals the operator may see",
    )
    def children(
        self, appeal_id: AppealId, principal: Acting, services: Needs
    ) -> list[AppealSummaryView]:
        return [summary_view(a) for a in services.engine.children(appeal_id, operator=principal)]

    @post(
        "/{appeal_id:int}/children",
        status_code=201,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="A child appeal for parallel work",
    )
    def create_child(
        self,
        appeal_id: AppealId,
        data: JSONBody[ChildCreate],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AppealView]:
        check_texts(services, "child appeal", {"description": data.description}, [data.attributes])
        login = principal.login

        def act(tx: Tx) -> Reply:
            tx.visible(appeal_id)
            values = parse_attributes(tx.catalog, data.topic, data.attributes)
            draft = AppealDraft(data.topic, values, description=data.description)
            child = appeals.create_child(tx, appeal_id, login, draft)
            return appeal_reply(child, 201, created=True)

        reply = services.writes.run(
            principal,
            act,
            request=f"POST /appeals/{appeal_id}/children",
            body=plain(data),
            key=idempotency_key,
        )
        return respond(reply)
