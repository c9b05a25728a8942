"""Reading appeals, contacts, queue pages, children and history, as far as the reader may."""

from __future__ import annotations

from datetime import datetime

from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.history import QueueExplanation, explain_queue, replay
from crmcms.engine.obstacles import may_read
from crmcms.engine.transaction import Tx
from crmcms.errors import NotFoundError
from crmcms.model import Appeal, Contact, HistoryEvent, Permission

__all__ = ["RecordReads"]


class RecordReads(ActionRunner):
    """The engine's reads of appeals and contacts.

    Reads take the reader as ``operator``: what it may not see is as missing as what does
    not exist, so an id tells nothing about other queues.
    """

    def appeal(self, appeal_id: int, *, operator: Acting | None = None) -> Appeal:
        return self.run(lambda tx: tx.visible(appeal_id), principal=self.principal(operator))

    def contact(self, contact_id: int, *, operator: Acting | None = None) -> Contact:
        """The contact, for a reader who may see one of its appeals (or registered it)."""
        who = self.principal(operator)

        def act(tx: Tx) -> Contact:
            contact = tx.contact(contact_id)
            if who is None or who.may(Permission.READ_ALL) or contact.operator == who.login:
                return contact
            queues = tx.rt.queues
            if any(may_read(who, a, queues) for a in tx.uow.appeals.of_contact(contact_id)):
                return contact
            raise NotFoundError("contact", contact_id)

        return self.run(act, principal=who)

    def queue_appeals(self, queue: str, *, operator: Acting | None = None) -> list[Appeal]:
        """Open appeals waiting in ``queue`` that the reader may see, earliest deadline
        first."""
        self.catalog.queue(queue)
        who = self.principal(operator)
        if who is not None:
            self._require(who, Permission.READ, f"read queue {queue}")

        def act(tx: Tx) -> list[Appeal]:
            found = tx.uow.appeals.in_queue(queue)
            if who is None or who.may(Permission.READ_ALL):
                return found
            queues = tx.rt.queues
            return [a for a in found if may_read(who, a, queues)]

        return self.run(act, principal=who)

    def children(self, appeal_id: int, *, operator: Acting | None = None) -> list[Appeal]:
        """The appeal's children that the reader may see."""
        who = self.principal(operator)

        def act(tx: Tx) -> list[Appeal]:
            tx.visible(appeal_id)
            queues = tx.rt.queues
            return [a for a in tx.uow.appeals.children(appeal_id) if may_read(who, a, queues)]

        return self.run(act, principal=who)

    def history(self, appeal_id: int, *, operator: Acting | None = None) -> list[HistoryEvent]:
        """The appeal's history; readers need the ``read_history`` permission."""
        who = self.principal(operator)
        self._require(who, Permission.READ_HISTORY, f"read the history of appeal {appeal_id}")

        def act(tx: Tx) -> list[HistoryEvent]:
            tx.visible(appeal_id)
            return tx.uow.history.for_appeal(appeal_id)

        return self.run(act, principal=who)

    def state_at(
        self, appeal_id: int, moment: datetime, *, operator: Acting | None = None
    ) -> Appeal:
        """The appeal as it was at ``moment``, rebuilt from its history (``read_history``)."""
        who = self.principal(operator)
        self._require(who, Permission.READ_HISTORY, f"read the history of appeal {appeal_id}")
        return self.run(
            lambda tx: replay(tx.visible(appeal_id), tx.uow.history.for_appeal(appeal_id), moment),
            principal=who,
        )

    def why_in_queue(self, appeal_id: int, *, operator: Acting | None = None) -> QueueExplanation:
        """The event that put the appeal in its queue, and the reason recorded with it."""
        return self.run(
            lambda tx: explain_queue(tx.visible(appeal_id), tx.uow.history.for_appeal(appeal_id)),
            principal=self.principal(operator),
        )
