"""The facade for external systems: plain parameters in, plain results out, idempotent retries.

It sits on the engine as any outside caller does (``Integration(engine, operator)``), through
the engine's public actions and :meth:`Engine.run`, so the engine never needs to know of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from crmcms.engine import AppealDraft, Engine, IdempotencyRecord, appeals, contacts, routing
from crmcms.engine.text_values import parse_attributes
from crmcms.engine.transaction import Tx
from crmcms.errors import ConcurrencyError, Problem, ValidationError
from crmcms.model import Appeal, Direction, format_value

__all__ = ["Integration", "parse_attributes"]


def _summary(appeal: Appeal) -> dict[str, Any]:
    return {
        "appeal_id": appeal.id,
        "contact_id": appeal.contact_id,
        "topic": appeal.topic,
        "process": appeal.process,
        "queue": appeal.queue,
        "state": appeal.state.value,
        "version": appeal.version,
    }


class Integration:
    """Create and edit appeals from codes and text, and move them on named external events.

    Every call may carry an ``idempotency_key``: the first call's result is stored with
    its changes, in the same transaction, and a retry with the key returns that result
    without doing anything again. A key reused for a different request is refused. The
    attribute policy and permissions are those of the operator the facade acts as.
    """

    def __init__(self, engine: Engine, operator: str) -> None:
        self.engine = engine
        self.operator = operator

    def _once(
        self,
        operation: str,
        params: Mapping[str, Any],
        key: str | None,
        action: Callable[[Tx], dict[str, Any]],
    ) -> dict[str, Any]:
        if key is None:
            return self.engine.run(action)
        fingerprint = json.dumps([operation, params], sort_keys=True, default=str)

        def act(tx: Tx) -> dict[str, Any]:
            found = tx.uow.idempotency.get(key)
            if found is not None:
                if found.fingerprint != fingerprint:
                    raise ValidationError(
                        [Problem("idempotency_key", f"{key!r} was used for another request")]
                    )
                return dict(found.result)
            result = action(tx)
            tx.uow.idempotency.add(IdempotencyRecord(key, operation, fingerprint, result, tx.now))
            return result

        try:
            return self.engine.run(act)
        except ConcurrencyError:
            # A concurrent retry committed first: its result is ours.
            return self.engine.run(act)

    def create_appeal(
        self, params: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Register an appeal from plain parameters.

        ``topic`` (code), ``attributes`` (code -> canonical text, lists for multiple choice),
        ``priority``, ``description``; and either ``contact_id`` of an existing contact or
        the new contact's ``place``, ``channel``, ``direction`` (``incoming``/``outgoing``)
        and ``client_id``. Returns ``appeal_id``, ``contact_id``, ``process``, ``queue``,
        ``state`` and ``version``.
        """

        def act(tx: Tx) -> dict[str, Any]:
            topic = params.get("topic")
            if not isinstance(topic, str):
                raise ValidationError([Problem("topic", "is required")])
            values = parse_attributes(tx.catalog, topic, params.get("attributes") or {})
            contact_id = params.get("contact_id")
            if contact_id is None:
                direction = params.get("direction")
                contact_id = contacts.register_contact(
                    tx,
                    self.operator,
                    place=params.get("place"),
                    channel=params.get("channel"),
                    direction=None if direction is None else Direction(direction),
                    client_id=params.get("client_id"),
                ).id
            draft = AppealDraft(
                topic, values, params.get("priority"), params.get("description", "")
            )
            made = appeals.register_appeals(tx, int(contact_id), self.operator, [draft])
            return _summary(made[0])

        return self._once("create_appeal", params, idempotency_key, act)

    def edit_appeal(
        self,
        appeal_id: int,
        attributes: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Set attributes from canonical text (``None`` clears one), under the same policy."""

        def act(tx: Tx) -> dict[str, Any]:
            topic = tx.appeal(appeal_id).topic
            values = parse_attributes(tx.catalog, topic, attributes)
            return _summary(appeals.update_values(tx, appeal_id, self.operator, values))

        params = {"appeal_id": appeal_id, "attributes": dict(attributes)}
        return self._once("edit_appeal", params, idempotency_key, act)

    def external_event(
        self,
        appeal_id: int,
        event: str,
        *,
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Move the appeal along the transition out of its process whose code (or else
        name) is ``event``; no such transition is a :class:`WorkflowError`."""

        def act(tx: Tx) -> dict[str, Any]:
            appeal = tx.appeal(appeal_id)
            code = routing.event_transition(tx, appeal, event)
            moved = routing.perform(tx, appeal, code, tx.operator(self.operator), comment=comment)
            return _summary(moved)

        params = {"appeal_id": appeal_id, "event": event, "comment": comment}
        return self._once("external_event", params, idempotency_key, act)

    def appeal(self, appeal_id: int) -> dict[str, Any]:
        """The appeal's summary and attribute values as canonical text."""
        appeal = self.engine.appeal(appeal_id)
        out = _summary(appeal)
        out["attributes"] = {
            code: [format_value(v) for v in value]
            if isinstance(value, tuple)
            else format_value(value)
            for code, value in appeal.values.items()
        }
        return out
