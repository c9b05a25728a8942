"""Registering contacts, their appeals and child appeals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from crmcms.engine import appeals, contacts
from crmcms.engine import notes as notebook
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.appeals import AppealDraft
from crmcms.engine.transaction import Tx
from crmcms.model import Appeal, Contact, Direction, Note, SystemProblem

__all__ = ["ContactRegistration", "RegistrationDesk"]


@attrs.frozen
class ContactRegistration:
    """A registered contact, its appeals, the pinned notes on what it is about (its
    client, subscriber and contact person) that the operator may read, and the system
    problems its appeals were linked to as they were registered (an outage the operator
    should tell the client about)."""

    contact: Contact
    appeals: tuple[Appeal, ...]
    pinned_notes: tuple[Note, ...] = ()
    problems: tuple[SystemProblem, ...] = ()


class RegistrationDesk(ActionRunner):
    """The engine's registration actions: a contact with its appeals, appeals within a
    contact, a child appeal."""

    def register_contact(
        self,
        operator: Acting,
        *,
        place: str | None = None,
        direction: Direction | None = None,
        channel: str | None = None,
        client_id: int | None = None,
        subscriber_id: int | None = None,
        contact_person_id: int | None = None,
        prospect_id: int | None = None,
        comment: str = "",
        drafts: Sequence[AppealDraft] = (),
    ) -> ContactRegistration:
        """A contact through the operator's template, with its appeals (all or nothing)."""
        who, login = self._acting(operator)
        self._check_drafts("contact", drafts, comment)

        def act(tx: Tx) -> ContactRegistration:
            contact = contacts.register_contact(
                tx,
                login,
                place=place,
                direction=direction,
                channel=channel,
                client_id=client_id,
                subscriber_id=subscriber_id,
                contact_person_id=contact_person_id,
                prospect_id=prospect_id,
                comment=comment,
            )
            made = appeals.register_appeals(tx, contact.id, login, drafts)
            linked = dict.fromkeys(a.system_problem_id for a in made if a.system_problem_id)
            return ContactRegistration(
                contact,
                tuple(made),
                notebook.pinned_notes(tx, contact),
                tuple(tx.uow.problems.get(p) for p in linked if p is not None),
            )

        return self.run(act, principal=who)

    def register_appeals(
        self, contact_id: int, operator: Acting, drafts: Sequence[AppealDraft]
    ) -> list[Appeal]:
        """Appeals within an existing contact, all or none."""
        who, login = self._acting(operator)
        self._check_drafts("appeals", drafts)
        return self.run(
            lambda tx: appeals.register_appeals(tx, contact_id, login, drafts), principal=who
        )

    def register_appeal(
        self,
        contact_id: int,
        operator: Acting,
        topic: str | None = None,
        values: Mapping[str, object] | None = None,
        *,
        priority: str | None = None,
        description: str = "",
    ) -> Appeal:
        draft = AppealDraft(topic, dict(values or {}), priority, description)
        return self.register_appeals(contact_id, operator, [draft])[0]

    def create_child(
        self,
        parent_id: int,
        operator: Acting,
        topic: str,
        values: Mapping[str, object] | None = None,
        *,
        description: str = "",
    ) -> Appeal:
        """A child appeal for parallel work; the parent cannot close while it is open."""
        draft = AppealDraft(topic, dict(values or {}), description=description)
        who, login = self._acting(operator)
        self._check_drafts("child appeal", [draft])
        return self.run(lambda tx: appeals.create_child(tx, parent_id, login, draft), principal=who)

    def _check_drafts(self, subject: str, drafts: Sequence[AppealDraft], comment: str = "") -> None:
        texts = {"comment": comment}
        for i, draft in enumerate(drafts):
            texts[f"appeals[{i}].description"] = draft.description
        self.limits.check(
            subject, texts=texts, values=[d.values for d in drafts], drafts=len(drafts)
        )
