"""Contacts: registration through the operator's contact template, defaults filled in."""

from __future__ import annotations

from datetime import datetime

from crmcms.engine.context import client_data
from crmcms.engine.obstacles import require
from crmcms.engine.prospects import for_new_contact
from crmcms.engine.transaction import Tx
from crmcms.errors import NotFoundError, Problem, ValidationError
from crmcms.model import Contact, Direction, Permission

__all__ = ["register_contact"]


def register_contact(
    tx: Tx,
    login: str,
    *,
    place: str | None = None,
    direction: Direction | None = None,
    channel: str | None = None,
    client_id: int | None = None,
    subscriber_id: int | None = None,
    contact_person_id: int | None = None,
    prospect_id: int | None = None,
    comment: str = "",
    at: datetime | None = None,
) -> Contact:
    """Store a contact; the operator's template fills what is not given and bounds the rest.

    Every problem is reported at once, by field name; nothing is stored if there is one.
    """
    operator = tx.operator(login)
    assert operator is not None
    require(tx.actor(operator), Permission.REGISTER, "register a contact")
    catalog = tx.catalog
    template = catalog.template_for(login)
    problems: list[Problem] = []
    if template is not None:
        place = place if place is not None else template.default_place
        direction = direction if direction is not None else template.direction
        channel = channel if channel is not None else template.channel
    direction = direction if direction is not None else Direction.INCOMING
    if place is None:
        problems.append(Problem("place", "is required (the template gives no default)"))
    else:
        try:
            found = catalog.place(place)
        except NotFoundError as err:
            problems.append(Problem("place", str(err)))
        else:
            if not found.active:
                problems.append(Problem("place", f"{place} is inactive"))
            if template is not None and not template.allows_place(place):
                allowed = ", ".join(template.places)
                problems.append(
                    Problem(
                        "place",
                        f"{place} is not allowed by template {template.code}: allowed {allowed}",
                    )
                )
            if (
                template is not None
                and template.place_kind is not None
                and found.kind != template.place_kind
            ):
                problems.append(
                    Problem(
                        "place",
                        f"{place} is a {found.kind} place, template {template.code} "
                        f"takes {template.place_kind}",
                    )
                )
    if template is not None and not template.allows_direction(direction):
        problems.append(
            Problem("direction", f"{direction.value} is not allowed by template {template.code}")
        )
    if channel is None:
        problems.append(Problem("channel", "is required (the template gives no default)"))
    else:
        try:
            if not catalog.channel(channel).active:
                problems.append(Problem("channel", f"{channel} is inactive"))
        except NotFoundError as err:
            problems.append(Problem("channel", str(err)))
    if client_id is not None:
        try:
            category = client_data(tx.client(client_id)).get("Category")
        except NotFoundError as err:
            problems.append(Problem("client_id", str(err)))
        else:
            if template is not None and category and not template.allows_client_category(category):
                problems.append(
                    Problem(
                        "client_id",
                        f"client category {category} is not allowed by template {template.code}",
                    )
                )
    if prospect_id is not None:
        problems.extend(for_new_contact(tx, prospect_id, client_id))
    if problems:
        raise ValidationError(problems, subject="contact")
    assert place is not None
    assert channel is not None
    contact = Contact(
        id=tx.uow.contacts.next_id(),
        place=place,
        direction=direction,
        channel=channel,
        operator=login,
        registered_at=at or tx.now,
        template=None if template is None else template.code,
        client_id=client_id,
        subscriber_id=subscriber_id,
        contact_person_id=contact_person_id,
        prospect_id=prospect_id,
        comment=comment,
    )
    tx.uow.contacts.add(contact)
    return contact
