"""Incoming AMQP messages to calls of the integration facade.

A message body is a JSON object whose ``operation`` names the call:

- ``{"operation": "create_appeal", "params": {...}}``: :meth:`Integration.create_appeal
  <crmcms.entrypoints.integration.Integration.create_appeal>` with ``params``;
- ``{"operation": "event", "appeal_id": 7, "event": "start", "comment": "..."}``:
  :meth:`Integration.external_event
  <crmcms.entrypoints.integration.Integration.external_event>`.

The message id (the AMQP ``message_id`` property) is the idempotency key, so a message
delivered twice changes things once.
"""

from __future__ import annotations

import json
from typing import Any

from crmcms.entrypoints.integration import Integration
from crmcms.errors import Problem, ValidationError

__all__ = ["IDEMPOTENCY_PREFIX", "OPERATIONS", "apply_message"]

OPERATIONS = ("create_appeal", "event")

IDEMPOTENCY_PREFIX = "amqp:"
"""Idempotency keys of messages are their ids after this prefix, apart from the keys of
other callers of the facade."""


def _problem(field: str, message: str) -> ValidationError:
    return ValidationError([Problem(field, message)], subject="AMQP message")


def apply_message(api: Integration, message_id: str, body: bytes) -> dict[str, Any]:
    """Do what the message ``body`` asks, once for ``message_id``; the facade's result."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _problem("body", f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _problem("body", "a JSON object is expected")
    operation = document.get("operation")
    key = IDEMPOTENCY_PREFIX + message_id
    if operation == "create_appeal":
        params = document.get("params")
        if not isinstance(params, dict):
            raise _problem("params", "an object of the appeal's parameters is required")
        return api.create_appeal(params, idempotency_key=key)
    if operation == "event":
        appeal_id = document.get("appeal_id")
        event = document.get("event")
        comment = document.get("comment", "")
        if not isinstance(appeal_id, int) or isinstance(appeal_id, bool):
            raise _problem("appeal_id", "an appeal id (a number) is required")
        if not isinstance(event, str) or not event:
            raise _problem("event", "the name of the event is required")
        if not isinstance(comment, str):
            raise _problem("comment", "must be text")
        return api.external_event(appeal_id, event, comment=comment, idempotency_key=key)
    raise _problem("operation", f"{operation!r} is not one of {', '.join(OPERATIONS)}")
