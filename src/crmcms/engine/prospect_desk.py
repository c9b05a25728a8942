"""Would-be clients: registering them, giving them contacts, converting them."""

from __future__ import annotations

from crmcms.engine import prospects as prospecting
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.transaction import Tx
from crmcms.model import Contact, Permission, Prospect, ProspectStatus

__all__ = ["ProspectDesk"]


class ProspectDesk(ActionRunner):
    """The engine's prospect actions and reads, each its own transaction."""

    def register_prospect(
        self,
        operator: Acting | None,
        *,
        name: str,
        phone: str | None = None,
        email: str | None = None,
        region: str | None = None,
        category: str | None = None,
    ) -> Prospect:
        """Register a would-be client; problems are reported by field code (``name``,
        ``phone``, ``email``, ``region``, ``category``), all at once, storing nothing.
        ``operator=None`` registers as the system where logins are trusted (an import)."""
        who = self.principal(operator)
        return self.run(
            lambda tx: prospecting.register_prospect(
                tx, name=name, phone=phone, email=email, region=region, category=category
            ),
            principal=who,
        )

    def attach_to_prospect(
        self, prospect_id: int, contact_id: int, operator: Acting | None
    ) -> Contact:
        """Give an existing contact, of no client or other prospect, to the prospect."""
        who = self.principal(operator)
        return self.run(
            lambda tx: prospecting.attach_contact(tx, prospect_id, contact_id), principal=who
        )

    def convert_prospect(self, prospect_id: int, operator: Acting | None) -> Prospect:
        """Ask billing to make a client of the prospect, through the outbox: the prospect
        is returned converting, and becomes converted once the relay has billing's answer.
        A prospect converted or converting is refused (:class:`~crmcms.errors.ConversionError`)."""
        who = self.principal(operator)
        return self.run(lambda tx: prospecting.request_conversion(tx, prospect_id), principal=who)

    def prospect(self, prospect_id: int, *, operator: Acting | None = None) -> Prospect:
        who = self.principal(operator)
        self._require(who, Permission.READ, f"read prospect {prospect_id}")
        return self.run(lambda tx: tx.uow.prospects.get(prospect_id), principal=who)

    def prospects(
        self,
        *,
        status: ProspectStatus | None = None,
        limit: int = 100,
        operator: Acting | None = None,
    ) -> list[Prospect]:
        """Prospects (with ``status``, if given), newest first."""
        who = self.principal(operator)
        self._require(who, Permission.READ, "read prospects")
        return self.run(lambda tx: tx.uow.prospects.find(status=status, limit=limit), principal=who)

    def prospect_contacts(
        self, prospect_id: int, *, operator: Acting | None = None
    ) -> list[Contact]:
        """The prospect's contacts, in id order (after conversion, the client's too)."""
        who = self.principal(operator)
        self._require(who, Permission.READ, f"read prospect {prospect_id}")

        def act(tx: Tx) -> list[Contact]:
            tx.uow.prospects.get(prospect_id)
            return tx.uow.contacts.of_prospect(prospect_id)

        return self.run(act, principal=who)
