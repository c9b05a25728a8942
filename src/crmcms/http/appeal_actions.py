"""Moving an appeal: transitions, external events, take, assign, close and reopen.

Every action checks ``If-Match`` against the version it reads, in its own transaction: the
commit writes only if the stored version is still that one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter

from crmcms.engine import admin, assignment, routing
from crmcms.engine.transaction import Tx
from crmcms.http.appeals import AppealId, IdempotencyKey, IfMatch
from crmcms.http.problems import Reply
from crmcms.http.replies import PROBLEMS, SESSION, appeal_reply, expected_version, plain, respond
from crmcms.http.schemas import (
    AppealView,
    AssignBody,
    CloseBody,
    CommentBody,
    EventBody,
    ReopenBody,
    TransitionView,
)
from crmcms.http.services import Acting, Needs
from crmcms.http.views import transition_view
from crmcms.model import Appeal

__all__ = ["AppealActionsController"]

Code = Annotated[str, Parameter(min_length=1, max_length=200)]


def _act(
    services: Needs,
    principal: Acting,
    appeal_id: int,
    action: str,
    body: object,
    key: str | None,
    if_match: str | None,
    change: Callable[[Tx, Appeal], Appeal],
) -> Response[AppealView]:
    expected = expected_version(if_match)

    def act(tx: Tx) -> Reply:
        return appeal_reply(change(tx, tx.visible(appeal_id, expected)))

    reply = services.writes.run(
        principal,
        act,
        request=f"POST /appeals/{appeal_id}/{action}",
        body=plain(body),
        key=key,
        expected=expected,
    )
    return respond(reply)


class AppealActionsController(Controller):
    path = "/appeals/{appeal_id:int}"
    tags = ["appeal actions"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @get(
        "/transitions",
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Every transition out of the process, with why each unavailable one is",
    )
    def transitions(
        self, appeal_id: AppealId, principal: Acting, services: Needs
    ) -> list[TransitionView]:
        options = services.engine.available_transitions(appeal_id, principal)
        return [transition_view(o) for o in options]

    @post(
        "/transitions/{code:str}",
        status_code=200,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Move the appeal along a transition",
    )
    def transition(
        self,
        appeal_id: AppealId,
        code: Code,
        principal: Acting,
        services: Needs,
        data: JSONBody[CommentBody | None] = None,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        body = data or CommentBody()
        services.engine.limits.check(f"appeal {appeal_id}", texts={"comment": body.comment})
        login = principal.login

        def change(tx: Tx, appeal: Appeal) -> Appeal:
            return routing.perform(tx, appeal, code, tx.operator(login), body.comment)

        return _act(
            services,
            principal,
            appeal_id,
            f"transitions/{code}",
            body,
            idempotency_key,
            if_match,
            change,
        )

    @post(
        "/events",
        status_code=200,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="An external event: the transition out of the process of that code or name",
    )
    def event(
        self,
        appeal_id: AppealId,
        data: JSONBody[EventBody],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        services.engine.limits.check(f"appeal {appeal_id}", texts={"comment": data.comment})
        login = principal.login

        def change(tx: Tx, appeal: Appeal) -> Appeal:
            code = routing.event_transition(tx, appeal, data.event)
            return routing.perform(tx, appeal, code, tx.operator(login), data.comment)

        return _act(
            services, principal, appeal_id, "events", data, idempotency_key, if_match, change
        )

    @post("/take", status_code=200, responses=PROBLEMS, sync_to_thread=True, summary="Take it")
    def take(
        self,
        appeal_id: AppealId,
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        login = principal.login
        return _act(
            services,
            principal,
            appeal_id,
            "take",
            None,
            idempotency_key,
            if_match,
            lambda tx, appeal: assignment.take(tx, appeal.id, login),
        )

    @post(
        "/assign",
        status_code=200,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Give it to an operator",
    )
    def assign(
        self,
        appeal_id: AppealId,
        data: JSONBody[AssignBody],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        services.engine.limits.check(f"appeal {appeal_id}", texts={"comment": data.comment})
        login = principal.login
        return _act(
            services,
            principal,
            appeal_id,
            "assign",
            data,
            idempotency_key,
            if_match,
            lambda tx, appeal: assignment.assign(tx, appeal.id, login, data.assignee, data.comment),
        )

    @post("/close", status_code=200, responses=PROBLEMS, sync_to_thread=True, summary="Close it")
    def close(
        self,
        appeal_id: AppealId,
        principal: Acting,
        services: Needs,
        data: JSONBody[CloseBody | None] = None,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        body = data or CloseBody()
        services.engine.limits.check(f"appeal {appeal_id}", texts={"comment": body.comment})
        login = principal.login
        return _act(
            services,
            principal,
            appeal_id,
            "close",
            body,
            idempotency_key,
            if_match,
            lambda tx, appeal: admin.close(tx, appeal.id, login, body.comment),
        )

    @post("/reopen", status_code=200, responses=PROBLEMS, sync_to_thread=True, summary="Reopen it")
    def reopen(
        self,
        appeal_id: AppealId,
        data: JSONBody[ReopenBody],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response[AppealView]:
        services.engine.limits.check(f"appeal {appeal_id}", texts={"reason": data.reason})
        login = principal.login
        return _act(
            services,
            principal,
            appeal_id,
            "reopen",
            data,
            idempotency_key,
            if_match,
            lambda tx, appeal: admin.reopen(tx, appeal.id, login, data.reason),
        )
