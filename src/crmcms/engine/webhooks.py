"""Webhook signatures and deliveries: a history event POSTed as JSON, signed with HMAC-SHA256.

The receiver checks the signature with :func:`verify_request` (or :func:`verify_signature`)
and drops repeats by ``X-Crmcms-Delivery``, which is the same on every retry of a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping

from crmcms import serialization
from crmcms.engine.event_outbox import EventMessage
from crmcms.engine.http_post import post
from crmcms.errors import CrmcmsError, DeliveryError
from crmcms.model import Webhook

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookDeliverer",
    "WebhookSignatureError",
    "sign",
    "signed_headers",
    "verify_request",
    "verify_signature",
    "webhook_body",
]

DELIVERY_HEADER = "X-Crmcms-Delivery"
TIMESTAMP_HEADER = "X-Crmcms-Timestamp"
SIGNATURE_HEADER = "X-Crmcms-Signature"
_SCHEME = "sha256="


class WebhookSignatureError(CrmcmsError):
    """A webhook request whose signature is missing, wrong, or too old."""


def sign(secret: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``delivery_id.timestamp.body``.

    The delivery id and the time are signed with the body, so neither can be changed, and
    an old request replayed is refused by its time.
    """
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return _SCHEME + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a signed JSON request."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, delivery_id, timestamp, body),
    }


def verify_signature(
    secret: bytes,
    delivery_id: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> None:
    """Raise :class:`WebhookSignatureError` unless ``signature`` is ours for these values
    and ``timestamp`` is within ``tolerance`` seconds of ``now``."""
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookSignatureError(f"the timestamp {timestamp!r} is not a number") from None
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        raise WebhookSignatureError(
            f"the request was signed {abs(current - sent):.0f} s away from now"
        )
    expected = sign(secret, delivery_id, sent, body)
    if not hmac.compare_digest(expected, signature.strip()):  # constant time
        raise WebhookSignatureError("the signature does not match")


def verify_request(secret: bytes, headers: Mapping[str, str], body: bytes, **options: float) -> str:
    """Verify a received request by its headers (any letter case); return its delivery id."""
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [
        h for h in (DELIVERY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if h.lower() not in lower
    ]
    if missing:
        raise WebhookSignatureError(f"missing header(s) {', '.join(missing)}")
    delivery_id = lower[DELIVERY_HEADER.lower()]
    verify_signature(
        secret,
        delivery_id,
        lower[TIMESTAMP_HEADER.lower()],
        lower[SIGNATURE_HEADER.lower()],
        body,
        **options,
    )
    return delivery_id


def webhook_body(message: EventMessage) -> bytes:
    """What a webhook receives: ``{"delivery_id", "webhook", "event"}`` as UTF-8 JSON, the
    event as :func:`crmcms.serialization.dump` writes it."""
    document = {
        "delivery_id": message.delivery_id,
        "webhook": message.target.removeprefix("webhook:"),
        "event": serialization.dump(message.event),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


class WebhookDeliverer:
    """POSTs each event message of one webhook to its URL. The secret is read at each
    delivery, from ``secrets`` (by webhook code) or the webhook's environment variable, so
    a secret set after the message was written is used; none at all is a failure retried
    like any other."""

    def __init__(
        self,
        webhook: Webhook,
        *,
        secrets: Mapping[str, bytes] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhook = webhook
        self.secrets = secrets if secrets is not None else {}
        self.timeout = timeout
        self.clock = clock

    def secret(self) -> bytes:
        found = self.secrets.get(self.webhook.code)
        if found is None:
            found = os.environ.get(self.webhook.secret_env, "").encode("utf-8")
        if not found:
            raise DeliveryError(
                f"webhook {self.webhook.code}",
                f"no secret: set the environment variable {self.webhook.secret_env}",
                hook="webhook",
            )
        return found

    def __call__(self, message: EventMessage) -> None:
        body = webhook_body(message)
        headers = signed_headers(self.secret(), message.delivery_id, int(self.clock()), body)
        post(
            f"webhook {self.webhook.code}",
            self.webhook.url,
            body,
            headers,
            timeout=self.timeout,
            hook="webhook",
        )
