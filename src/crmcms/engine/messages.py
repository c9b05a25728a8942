"""Notifications written from the catalog's message templates when the engine makes them."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import attrs
import jinja2

from crmcms.dsl.messages import compile_message
from crmcms.errors import CrmcmsError
from crmcms.model import Appeal, Notification

if TYPE_CHECKING:
    from crmcms.engine.transaction import Tx

__all__ = ["message_context", "render_notification"]

log = logging.getLogger("crmcms.messages")


def render_notification(tx: Tx, notification: Notification) -> Notification:
    """``notification`` with the subject, text and html of its message template, if the
    catalog has one for its kind and its appeal's topic (see
    :meth:`~crmcms.model.Catalog.message_template_for`); as it is otherwise.

    A template that fails to render (a sandbox refusal, a division by zero) leaves the
    engine's own text and is logged on ``crmcms.messages``: a notification never stops the
    action that makes it.
    """
    catalog = tx.catalog
    if not catalog.message_templates:
        return notification
    appeal = _appeal(tx, notification.appeal_id)
    template = catalog.message_template_for(
        notification.kind, None if appeal is None else appeal.topic
    )
    if template is None:
        return notification
    try:
        rendered = compile_message(template).render(message_context(tx, notification, appeal))
    except jinja2.TemplateError as exc:
        log.warning("message %s could not be rendered: %s", template.code, exc)
        return notification
    return attrs.evolve(
        notification, subject=rendered.subject, text=rendered.text, html=rendered.html
    )


def _appeal(tx: Tx, appeal_id: int | None) -> Appeal | None:
    if appeal_id is None:
        return None
    try:
        return tx.appeal(appeal_id)
    except CrmcmsError:
        return None


def message_context(tx: Tx, notification: Notification, appeal: Appeal | None) -> dict[str, Any]:
    """What a message template reads (:data:`crmcms.dsl.messages.CONTEXT_NAMES`)."""
    context: dict[str, Any] = {
        "notification": SimpleNamespace(
            kind=notification.kind.value,
            subject=notification.subject,
            text=notification.text,
            to=list(notification.to),
            recipients=list(notification.recipients),
        ),
        "now": tx.now,
        "appeal": None,
        "topic": None,
        "process": None,
        "queue": None,
        "route": None,
        "client": {},
    }
    if appeal is None:
        return context
    catalog = tx.catalog
    # Namespaces, not dicts: in jinja2 ``appeal.values`` would find the dict's method.
    fields = {f.name: _plain(getattr(appeal, f.name)) for f in attrs.fields(type(appeal))}
    fields["values"] = dict(appeal.values)
    context["appeal"] = SimpleNamespace(**fields)
    context["topic"] = _named(catalog.topic, appeal.topic)
    context["queue"] = None if appeal.queue is None else _named(catalog.queue, appeal.queue)
    try:
        route = catalog.route(appeal.route, appeal.route_version)
        step = route.process(appeal.process)
    except CrmcmsError:
        pass
    else:
        context["route"] = SimpleNamespace(code=route.code, name=route.name, version=route.version)
        limit = None if step.deadline is None else step.deadline.limit
        context["process"] = SimpleNamespace(code=step.code, name=step.name, deadline=limit)
    context["client"] = _client(tx, appeal)
    return context


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _named(lookup: Any, code: str) -> SimpleNamespace:
    try:
        found = lookup(code)
    except CrmcmsError:
        return SimpleNamespace(code=code, name=code)
    return SimpleNamespace(code=code, name=found.name)


def _client(tx: Tx, appeal: Appeal) -> Mapping[str, Any]:
    try:
        client = tx.client(tx.contact(appeal.contact_id).client_id)
    except CrmcmsError:
        return {}
    if client is None:
        return {}
    if isinstance(client, Mapping):
        return dict(client)
    return {f.name: getattr(client, f.name) for f in attrs.fields(type(client))}
