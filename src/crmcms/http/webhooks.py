"""``/webhooks``: the subscriptions of other systems to history events.

Those declared in the definition files are listed read-only; those made here are stored in
the database and served alike by the relay.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import JSONBody, Parameter

from crmcms.errors import Problem, ValidationError
from crmcms.http.replies import PROBLEMS, SESSION
from crmcms.http.schemas import WebhookCreate, WebhookView
from crmcms.http.services import Acting, Needs
from crmcms.model import HistoryKind, Webhook
from crmcms.model._checks import require_code

__all__ = ["WebhooksController", "webhook_of"]

_KINDS = {k.value: k for k in HistoryKind}
_FIELDS = {"secret": "secret_env"}
"""The model's problem codes that the body names otherwise."""


def _view(webhook: Webhook, declared: bool) -> WebhookView:
    return WebhookView(
        code=webhook.code,
        name=webhook.name,
        url=webhook.url,
        events=[k.value for k in webhook.events],
        secret_env=webhook.secret_env,
        description=webhook.description,
        source="definitions" if declared else "api",
    )


def webhook_of(body: WebhookCreate) -> Webhook:
    """The subscription a body asks for; every bad field is reported at once, by its name."""
    problems: list[Problem] = []
    try:
        require_code("webhook", body.code)
    except ValidationError as refused:
        problems.extend(refused.problems)
    if not body.name.strip():
        problems.append(Problem("name", "is required"))
    unknown = [e for e in body.events if e not in _KINDS]
    if unknown:
        known = ", ".join(_KINDS)
        problems.append(Problem("events", f"unknown kind(s) {', '.join(unknown)}; known: {known}"))
    try:
        made = Webhook(
            code=body.code,
            name=body.name.strip(),
            url=body.url,
            secret_env=body.secret_env,
            events=tuple(_KINDS[e] for e in body.events if e in _KINDS),
            description=body.description,
        )
    except ValidationError as refused:
        problems.extend(Problem(_FIELDS.get(p.code, p.code), p.message) for p in refused.problems)
    if problems:
        raise ValidationError(problems, subject=f"webhook {body.code}")
    return made


class WebhooksController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @get("/", responses=PROBLEMS, sync_to_thread=True, summary="Every webhook subscription")
    def list_webhooks(self, principal: Acting, services: Needs) -> list[WebhookView]:
        found = services.engine.webhook_subscriptions(operator=principal)
        return [_view(s.webhook, s.declared) for s in found]

    @post(
        "/",
        status_code=201,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Subscribe a system to history events; its secret is an environment variable's",
    )
    def create(
        self, data: JSONBody[WebhookCreate], principal: Acting, services: Needs
    ) -> WebhookView:
        made = services.engine.subscribe_webhook(webhook_of(data), operator=principal)
        return _view(made, False)

    @delete(
        "/{code:str}",
        status_code=204,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Remove a subscription made through the API",
    )
    def remove(
        self,
        code: Annotated[str, Parameter(min_length=1, max_length=200)],
        principal: Acting,
        services: Needs,
    ) -> None:
        services.engine.unsubscribe_webhook(code, operator=principal)
