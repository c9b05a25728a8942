"""``/contacts``: register a contact with its appeals, and read one."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, Parameter

from crmcms.engine import AppealDraft, appeals, contacts
from crmcms.engine.text_values import parse_attributes
from crmcms.engine.transaction import Tx
from crmcms.http.appeals import IdempotencyKey, direction_of
from crmcms.http.problems import Reply
from crmcms.http.replies import PROBLEMS, SESSION, plain, respond
from crmcms.http.schemas import ContactCreate as ContactBody
from crmcms.http.schemas import ContactRegistered, ContactView
from crmcms.http.services import Acting, Needs
from crmcms.http.views import appeal_view, contact_view

__all__ = ["ContactsController"]


class ContactsController(Controller):
    path = "/contacts"
    tags = ["contacts"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @post(
        "/",
        status_code=201,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Register a contact through the operator's template, with its appeals",
    )
    def create(
        self,
        data: JSONBody[ContactBody],
        principal: Acting,
        services: Needs,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ContactRegistered]:
        texts = {"comment": data.comment}
        for i, draft in enumerate(data.appeals):
            texts[f"appeals[{i}].description"] = draft.description
        services.engine.limits.check(
            "contact",
            texts=texts,
            values=[d.attributes for d in data.appeals],
            drafts=len(data.appeals),
        )
        login = principal.login

        def act(tx: Tx) -> Reply:
            drafts = [
                AppealDraft(
                    d.topic,
                    parse_attributes(tx.catalog, d.topic, d.attributes),
                    d.priority,
                    d.description,
                )
                for d in data.appeals
            ]
            contact = contacts.register_contact(
                tx,
                login,
                place=data.place,
                direction=direction_of(data.direction),
                channel=data.channel,
                client_id=data.client_id,
                subscriber_id=data.subscriber_id,
                contact_person_id=data.contact_person_id,
                prospect_id=data.prospect_id,
                comment=data.comment,
            )
            made = appeals.register_appeals(tx, contact.id, login, drafts)
            view = ContactRegistered(contact_view(contact), [appeal_view(a) for a in made])
            return Reply(201, plain(view), {"Location": f"/contacts/{contact.id}"})

        reply = services.writes.run(
            principal, act, request="POST /contacts", body=plain(data), key=idempotency_key
        )
        return respond(reply)

    @get("/{contact_id:int}", responses=PROBLEMS, sync_to_thread=True, summary="A contact")
    def read(
        self,
        contact_id: Annotated[int, Parameter(ge=1, le=2**62)],
        principal: Acting,
        services: Needs,
    ) -> ContactView:
        return contact_view(services.engine.contact(contact_id, operator=principal))
