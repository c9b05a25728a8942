"""Work on one appeal: its values, transitions, taking, assigning, closing, deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcms.dsl.rules.functions import reset_rule_clock, set_rule_clock
from crmcms.engine import admin, appeals, assignment, routing
from crmcms.engine.action_runner import Acting, ActionRunner
from crmcms.engine.policy import AttributeState
from crmcms.engine.routing import TransitionOption
from crmcms.engine.runtime import Runtime
from crmcms.engine.transaction import Tx
from crmcms.errors import PermissionDeniedError
from crmcms.model import Appeal, Principal

__all__ = ["AppealDesk"]


class AppealDesk(ActionRunner):
    """The engine's actions on one appeal, each its own transaction."""

    def update_values(
        self,
        appeal_id: int,
        operator: Acting | None,
        values: Mapping[str, object],
        *,
        expected_version: int | None = None,
        comment: str = "",
    ) -> Appeal:
        who = self.principal(operator)
        login = None if who is None else who.login
        self.limits.check(f"appeal {appeal_id}", texts={"comment": comment}, values=[values])
        return self.run(
            lambda tx: appeals.update_values(
                tx, appeal_id, login, values, expected_version=expected_version, comment=comment
            ),
            principal=who,
        )

    def attributes(self, appeal_id: int, operator: Acting) -> list[AttributeState]:
        """The operator's view of the appeal's attributes: hidden ones left out."""
        who, login = self._acting(operator)

        def act(tx: Tx) -> list[AttributeState]:
            appeal = tx.visible(appeal_id)
            return tx.rt.policy.view(appeal, tx.data(appeal, tx.operator(login)))

        return self.run(act, principal=who)

    def available_transitions(self, appeal_id: int, operator: Acting) -> list[TransitionOption]:
        """Every transition out of the appeal's process, with why each unavailable one is."""
        who, login = self._acting(operator)
        return self.run(
            lambda tx: routing.options(tx, tx.visible(appeal_id), tx.operator(login)),
            principal=who,
        )

    def transition(
        self,
        appeal_id: int,
        operator: Acting | None,
        transition: str,
        *,
        comment: str = "",
        expected_version: int | None = None,
    ) -> Appeal:
        """Move the appeal along ``transition``; ``operator=None`` acts as the system where
        logins are trusted (:data:`~crmcms.model.SYSTEM` does everywhere)."""
        who = self.principal(operator)
        if len(comment) > self.limits.text_length:
            self.limits.check(f"appeal {appeal_id}", texts={"comment": comment})
        # :meth:`run` written out: the most frequent action saves a closure and a call.
        runtime = self.runtime
        try:
            return self._transition(runtime, who, appeal_id, transition, comment, expected_version)
        except PermissionDeniedError as refused:
            self._refused(who, refused)
            raise

    def _transition(
        self,
        runtime: Runtime,
        who: Principal | None,
        appeal_id: int,
        transition: str,
        comment: str,
        expected_version: int | None,
    ) -> Appeal:
        with runtime.uow_factory() as uow:
            tx = Tx(runtime, uow, None, who)
            # The rule clock only matters to rules that call now() or today().
            token = set_rule_clock(tx.clock) if runtime.rules.reads_clock else None
            try:
                result = routing.perform(
                    tx,
                    tx.visible(appeal_id, expected_version),
                    transition,
                    tx.operator(None if who is None else who.login),
                    comment,
                )
            finally:
                if token is not None:
                    reset_rule_clock(token)
            tx.commit()
        return tx.settled(result)

    def reject(self, appeal_id: int, operator: Acting, reason: str) -> Appeal:
        """Send a handed-over appeal back along the transition that brought it."""
        who, login = self._acting(operator)
        self.limits.check(f"appeal {appeal_id}", texts={"reason": reason})

        def act(tx: Tx) -> Appeal:
            acting = tx.operator(login)
            assert acting is not None
            return routing.reject(tx, tx.visible(appeal_id), acting, reason)

        return self.run(act, principal=who)

    def take(self, appeal_id: int, operator: Acting) -> Appeal:
        who, login = self._acting(operator)
        return self.run(lambda tx: assignment.take(tx, appeal_id, login), principal=who)

    def assign(
        self, appeal_id: int, operator: Acting, assignee: str, *, comment: str = ""
    ) -> Appeal:
        who, login = self._acting(operator)
        return self.run(
            lambda tx: assignment.assign(tx, appeal_id, login, assignee, comment), principal=who
        )

    def close(self, appeal_id: int, operator: Acting, *, comment: str = "") -> Appeal:
        who, login = self._acting(operator)
        self.limits.check(f"appeal {appeal_id}", texts={"comment": comment})
        return self.run(lambda tx: admin.close(tx, appeal_id, login, comment), principal=who)

    def reopen(self, appeal_id: int, operator: Acting, reason: str) -> Appeal:
        who, login = self._acting(operator)
        self.limits.check(f"appeal {appeal_id}", texts={"reason": reason})
        return self.run(lambda tx: admin.reopen(tx, appeal_id, login, reason), principal=who)

    def change_deadlines(
        self,
        appeal_id: int,
        operator: Acting,
        *,
        deadline: Any = admin.UNCHANGED,
        process_deadline: Any = admin.UNCHANGED,
        reason: str,
    ) -> Appeal:
        """Set ``deadline`` and/or ``process_deadline`` (``None`` removes one)."""
        who, login = self._acting(operator)
        self.limits.check(f"appeal {appeal_id}", texts={"reason": reason})
        return self.run(
            lambda tx: admin.change_deadlines(
                tx,
                appeal_id,
                login,
                deadline=deadline,
                process_deadline=process_deadline,
                reason=reason,
            ),
            principal=who,
        )
