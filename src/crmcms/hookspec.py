# mypy: disable-error-code="empty-body"
"""Every hook crmcms calls; plugins implement them with :data:`crmcms.plugins.hookimpl`.

Hooks are always called with keyword arguments. Built-in behaviour is itself a plugin
(``crmcms.builtin``), so a third-party plugin can add to it or, for ``firstresult`` hooks,
answer before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # the hooks' types only; plugins load before any of these is needed
    from crmcms.dsl.rules.functions import RuleFunction
    from crmcms.dsl.rules.schema import SchemaBuilder
    from crmcms.model import (
        AuditEvent,
        HistoryEvent,
        Notification,
        Principal,
        Prospect,
        ReportDefinition,
    )
    from crmcms.model.handler_calls import HandlerCall

PROJECT = "crmcms"

hookspec = pluggy.HookspecMarker(PROJECT)


# --- Who acts ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def crmcms_authenticate(
    credentials: Mapping[str, object], source: str | None
) -> Principal | str | None:
    """Say who ``credentials`` authenticate, for a host that authenticates users itself
    (single sign-on, a directory, a trusted proxy's header): an operator's login (it acts
    with its catalog roles), a ``crmcms.Principal`` (with the roles the directory grants),
    or ``None`` when they are not yours. Raise nothing for wrong credentials: answer
    ``None``, and the engine refuses them like any it cannot place. ``source`` says where
    the request came from (an address)."""


# --- Rule language -------------------------------------------------------------------------


@hookspec
def crmcms_rule_functions() -> Sequence[RuleFunction]:
    """Return functions that rules may call (``crmcms.RuleFunction`` objects).

    Built-ins (``now()``, ``today()``, ``len()``, ...) come from the built-in plugin; user
    business functions come from yours. A name defined twice is an error at start-up.
    """


@hookspec
def crmcms_rule_schema(schema: SchemaBuilder) -> None:
    """Extend the schema of what rules may see: add objects, fields or Russian aliases.

    ``schema`` is the mutable ``crmcms.SchemaBuilder`` being assembled.
    """


# --- Dictionaries and external systems ------------------------------------------------------


@hookspec(firstresult=True)
def crmcms_external_dictionary_items(
    dictionary: str, params: Mapping[str, object]
) -> Sequence[tuple[str, str]] | None:
    """Return ``(code, name)`` items of an external dictionary, or ``None`` if not yours."""


@hookspec(firstresult=True)
def crmcms_find_client(client_id: str) -> Mapping[str, object] | None:
    """Look a client up in the client directory (billing); return its fields or ``None``."""


@hookspec(firstresult=True)
def crmcms_find_subscriber(subscriber_id: str) -> Mapping[str, object] | None:
    """Look a subscriber (one of a client's numbers) up; return its fields or ``None``.

    Fields as rules read them: ``Id``, ``Msisdn``, ``Region``, ``Tariff``, ``Status``. Asked
    only when a rule reads ``Subscriber``; an unknown subscriber reads as empty.
    """


@hookspec(firstresult=True)
def crmcms_find_contact_person(contact_person_id: str) -> Mapping[str, object] | None:
    """Look up the person who spoke for the client; return ``Name``, ``Phone``, ``Email``...

    Asked only when a rule reads ``ContactPerson``; an unknown person reads as empty.
    """


@hookspec(firstresult=True)
def crmcms_export_prospect(prospect: Prospect, idempotency_key: str) -> int | None:
    """Make a client of ``prospect`` in billing and return the client's id (``None``: not
    yours).

    Called by the outbox relay after the conversion's request has committed, never inside
    it. ``idempotency_key`` is the request's delivery id, the same on every retry: billing
    must give the same client back for a key it has seen, so a retry after billing answered
    (the process died before crmcms recorded the answer) makes no second client. Raise
    ``crmcms.errors.DeliveryError`` with ``permanent=True`` when billing refuses for good
    (the prospect stays a prospect, with the reason), any other exception to be retried.
    """


@hookspec
def crmcms_business_functions() -> Mapping[str, Callable[[HandlerCall], object]]:
    """Return ``{name: callable}`` business functions that route handlers may ``call``.

    Each is called with one ``crmcms.HandlerCall`` (the event, a copy of the appeal,
    the evaluated handler arguments, ``notify``). Raising aborts and rolls back the action.
    """


@hookspec
def crmcms_handler_actions() -> Mapping[str, Callable[[HandlerCall], object]]:
    """Return ``{name: callable}`` handler actions beyond the built-in ``notify``,
    ``escalate`` and ``call``; a handler names one as its ``action``.

    Each is called like a business function, with one ``crmcms.HandlerCall``;
    raising aborts and rolls back the workflow action that ran the handler.
    """


# --- Reports ---------------------------------------------------------------------------------


@hookspec
def crmcms_reports() -> Sequence[ReportDefinition]:
    """Return report definitions to offer beside the built-in reports and those of the
    definition files (``crmcms report list`` shows them all).

    Each is a ``crmcms.model.ReportDefinition``; a code already taken by a built-in report or
    a definition file's is refused when the reports are listed or run.
    """


# --- Files ------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def crmcms_file_store() -> Any:
    """The file store attachments' bytes go to, for an engine made without one: an object
    with the methods of ``crmcms.engine.file_store.FileStore`` (typed loosely here, below
    the engine), or ``None``. The first plugin answering wins."""


# --- Notifications and events ---------------------------------------------------------------


@hookspec
def crmcms_notify(notification: Notification) -> None:
    """Deliver a notification (to a client, operators or a mailing list): mail, SMS, ...

    Called by the outbox relay after the action that made it has committed, never inside
    it; ``notification.recipients`` holds one recipient (one outbox message each) and
    ``notification.delivery_id`` the message's id, the same on every retry: receivers drop
    repeats by it. Every implementation is called; raise ``crmcms.errors.DeliveryError``
    with ``permanent=True`` when retrying cannot help, any other exception to be retried.
    """


@hookspec
def crmcms_event(event: HistoryEvent) -> None:
    """Observe one history event (every change of a contact or appeal), after it is stored."""


@hookspec
def crmcms_audit(event: AuditEvent) -> None:
    """Export one audit event (a login, a failed login, a lockout, a password reset, a
    refusal...) to a SIEM, a log store or an archive.

    Called by the outbox relay after the transaction that stored the event has committed,
    never for one rolled back; an event is delivered at least once, the same ``event.id``
    on every retry, so receivers drop repeats by it. Every implementation is called; raise
    ``crmcms.errors.DeliveryError`` with ``permanent=True`` when retrying cannot help, any
    other exception to be retried. With no implementation the messages are marked delivered.
    """
