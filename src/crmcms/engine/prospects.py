"""Prospects: would-be clients, their contacts, and their conversion into clients by billing.

A conversion is asked in one transaction (the prospect marked converting, an outbox message
of kind ``prospect_conversion`` written with it) and carried out by the relay: billing's
``crmcms_export_prospect`` makes the client, with the message's delivery id as its
idempotency key, and one more transaction gives the prospect's contacts (and their appeals)
to that client. A delivery repeated after billing answered gets the same client back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from crmcms.engine.obstacles import require
from crmcms.engine.records import make_change
from crmcms.errors import (
    ConcurrencyError,
    ConversionError,
    CrmcmsError,
    DeliveryError,
    NotFoundError,
    Problem,
    ValidationError,
    WorkflowError,
)
from crmcms.model import (
    PROSPECT_CONVERSION,
    Contact,
    HistoryKind,
    OutboxMessage,
    Permission,
    Prospect,
    delivery_id,
)
from crmcms.model._checks import control_characters

if TYPE_CHECKING:
    from crmcms.engine.runtime import Runtime
    from crmcms.engine.transaction import Tx

__all__ = [
    "EXPORT_HOOK",
    "ConversionDeliverer",
    "attach_contact",
    "for_new_contact",
    "register_prospect",
    "request_conversion",
]

EXPORT_HOOK = "crmcms_export_prospect"

_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{3,38}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LENGTHS = {"name": 400, "phone": 40, "email": 200, "region": 100, "category": 100}


def _login(tx: Tx) -> str | None:
    return None if tx.principal is None else tx.principal.login


def _field(problems: list[Problem], code: str, value: str | None) -> str | None:
    """``value`` without outer blanks (``None`` if blank), its length and characters checked."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > _LENGTHS[code]:
        problems.append(Problem(code, f"is longer than {_LENGTHS[code]} characters"))
    elif control_characters(value):
        problems.append(Problem(code, "holds a control character"))
    return value


def register_prospect(
    tx: Tx,
    *,
    name: str,
    phone: str | None,
    email: str | None,
    region: str | None,
    category: str | None,
) -> Prospect:
    """Store a prospect; every problem is reported at once by field code, storing nothing."""
    require(tx.principal, Permission.REGISTER, "register a prospect")
    problems: list[Problem] = []
    given = _field(problems, "name", name)
    if given is None:
        problems.append(Problem("name", "is required"))
    phone = _field(problems, "phone", phone)
    if phone is not None and not _PHONE.fullmatch(phone):
        problems.append(Problem("phone", f"{phone!r} is not a phone number (+7 912 345-67-89)"))
    email = _field(problems, "email", email)
    if email is not None and not _EMAIL.fullmatch(email):
        problems.append(Problem("email", f"{email!r} is not an e-mail address"))
    region = _field(problems, "region", region)
    category = _field(problems, "category", category)
    login = _login(tx)
    template = None if login is None else tx.catalog.template_for(login)
    if (
        category is not None
        and template is not None
        and not template.allows_client_category(category)
    ):
        allowed = ", ".join(template.client_categories)
        problems.append(
            Problem(
                "category",
                f"{category} is not allowed by template {template.code}: allowed {allowed}",
            )
        )
    if problems:
        raise ValidationError(problems, subject="prospect")
    assert given is not None
    prospect = Prospect(
        id=tx.uow.prospects.next_id(),
        name=given,
        phone=phone,
        email=email,
        region=region,
        category=category,
        registered_at=tx.now,
        registered_by=login,
    )
    tx.uow.prospects.add(prospect)
    return prospect


def _open(tx: Tx, prospect_id: int, action: str) -> Prospect:
    """The prospect, not converted, with its version counted up: a contact given to it and
    its conversion, done at once, cannot both commit."""
    prospect = tx.uow.prospects.get(prospect_id)
    if prospect.client_id is not None:
        raise WorkflowError(
            f"prospect {prospect_id} is client {prospect.client_id} now: {action} the client"
        )
    prospect.version += 1
    tx.uow.prospects.update(prospect)
    return prospect


def for_new_contact(tx: Tx, prospect_id: int, client_id: int | None) -> list[Problem]:
    """The problems of registering a contact for ``prospect_id`` (none: it may be)."""
    if client_id is not None:
        return [Problem("prospect_id", "a contact is for a client or for a prospect, not both")]
    try:
        _open(tx, prospect_id, "register the contact for")
    except (NotFoundError, WorkflowError) as refused:
        return [Problem("prospect_id", str(refused))]
    return []


def attach_contact(tx: Tx, prospect_id: int, contact_id: int) -> Contact:
    """Give an existing contact (of no client, no other prospect) to the prospect."""
    require(tx.principal, Permission.REGISTER, f"attach a contact to prospect {prospect_id}")
    contact = tx.uow.contacts.get(contact_id)
    prospect = tx.uow.prospects.get(prospect_id)
    if contact.prospect_id == prospect_id:
        return contact
    if contact.client_id is not None:
        raise WorkflowError(f"contact {contact_id} is client {contact.client_id}'s")
    if contact.prospect_id is not None:
        raise WorkflowError(f"contact {contact_id} is prospect {contact.prospect_id}'s")
    _open(tx, prospect.id, "attach the contact to")
    attached = attrs.evolve(contact, prospect_id=prospect_id)
    tx.uow.contacts.update(attached)
    return attached


def request_conversion(tx: Tx, prospect_id: int) -> Prospect:
    """Mark the prospect converting and write the outbox message that asks billing.

    Converting twice is refused: a converted prospect names its client, one converting its
    request's delivery id."""
    require(tx.principal, Permission.REGISTER, f"convert prospect {prospect_id}")
    prospect = tx.uow.prospects.get(prospect_id)
    if prospect.client_id is not None:
        raise ConversionError(
            prospect_id, f"it already is client {prospect.client_id}", prospect.client_id
        )
    if prospect.conversion_id is not None:
        raise ConversionError(prospect_id, f"its conversion {prospect.conversion_id} is under way")
    outbox = tx.uow.outbox
    message_id = outbox.next_id()
    key = delivery_id(message_id, tx.rt.delivery_domain)
    payload = {"prospect_id": prospect_id, "delivery_id": key}
    outbox.add(OutboxMessage(message_id, PROSPECT_CONVERSION, payload, tx.now, tx.now))
    prospect.conversion_id, prospect.conversion_error = key, ""
    prospect.version += 1
    tx.uow.prospects.update(prospect)
    tx.deliver_after_commit([message_id])
    return prospect


def _converted(tx: Tx, prospect_id: int, client_id: int) -> Prospect:
    """Give the prospect's contacts to ``client_id``, record it on each of their appeals and
    mark the prospect converted: one transaction. A prospect converted already stays."""
    prospect = tx.uow.prospects.get(prospect_id)
    if prospect.client_id is not None:
        return prospect
    comment = f"prospect {prospect_id} became client {client_id}"
    change = (make_change("client_id", None, client_id),)
    for contact in tx.uow.contacts.of_prospect(prospect_id):
        if contact.client_id is not None:
            continue
        tx.uow.contacts.update(attrs.evolve(contact, client_id=client_id))
        for appeal in tx.uow.appeals.of_contact(contact.id):
            tx.event(appeal, HistoryKind.CLIENT_ASSIGNED, change, None, comment=comment)
    prospect.mark_exported(client_id, tx.now)
    prospect.version += 1
    tx.uow.prospects.update(prospect)
    return prospect


def _failed(tx: Tx, prospect_id: int, key: str, error: str, refused: bool) -> None:
    """Record why the conversion failed. Billing ``refused`` it: the prospect is a prospect
    again, to be converted afresh. Otherwise (tries used up) it stays converting, since
    billing may have made the client: reviving the message asks again with the same key."""
    prospect = tx.uow.prospects.get(prospect_id)
    if prospect.client_id is not None or prospect.conversion_id != key:
        return
    prospect.conversion_error = error
    if refused:
        prospect.conversion_id = None
    prospect.version += 1
    tx.uow.prospects.update(prospect)


class ConversionDeliverer:
    """Delivers ``prospect_conversion`` messages: billing makes the client, then the
    prospect's contacts become the client's. ``run`` runs an engine action (the engine's
    own :meth:`~crmcms.Engine.run`), so history events go where every action's go."""

    def __init__(self, runtime: Runtime, run: Callable[[Callable[[Tx], object]], object]) -> None:
        self.runtime = runtime
        self.run = run

    def __call__(self, message: OutboxMessage) -> None:
        prospect_id = int(message.payload["prospect_id"])
        key = str(message.payload["delivery_id"])
        with self.runtime.uow_factory() as uow:
            try:
                prospect = uow.prospects.get(prospect_id)
            except NotFoundError:
                gone = f"prospect {prospect_id} is gone"
                raise DeliveryError("billing", gone, permanent=True, hook=EXPORT_HOOK) from None
        if prospect.client_id is not None:
            return  # converted by an earlier try of this message: nothing more to do
        if prospect.conversion_id not in (None, key):
            raise DeliveryError(
                "billing",
                f"superseded by conversion {prospect.conversion_id}",
                permanent=True,
                hook=EXPORT_HOOK,
            )
        try:
            client_id = self.runtime.hook(EXPORT_HOOK, prospect=prospect, idempotency_key=key)
            if client_id is None:
                raise DeliveryError(
                    "billing", f"no plugin implements {EXPORT_HOOK}", hook=EXPORT_HOOK
                )
        except CrmcmsError as exc:
            refused = isinstance(exc, DeliveryError) and exc.permanent
            if refused or message.attempts >= self.runtime.relay.settings.max_attempts:
                self._record_failure(prospect_id, key, str(exc), refused)
            raise
        self.run(lambda tx: _converted(tx, prospect_id, int(client_id)))

    def _record_failure(self, prospect_id: int, key: str, error: str, refused: bool) -> None:
        # Changed meanwhile: the message's own dead mark still reports the failure.
        with contextlib.suppress(ConcurrencyError):
            self.run(lambda tx: _failed(tx, prospect_id, key, error, refused))
