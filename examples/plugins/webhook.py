"""Webhooks: each notification POSTed as JSON, signed with HMAC-SHA256.

The receiver checks the signature with :func:`verify_request` (or :func:`verify_signature`)
and drops repeats by ``X-Crmcms-Delivery``, which is the same on every retry of a message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping

from crmcms import CrmcmsError, Notification, hookimpl, serialization
from examples.plugins.http_post import post

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookSender",
    "WebhookSignatureError",
    "sign",
    "verify_request",
    "verify_signature",
]

DELIVERY_HEADER = "X-Crmcms-Delivery"
TIMESTAMP_HEADER = "X-Crmcms-Timestamp"
SIGNATURE_HEADER = "X-Crmcms-Signature"
SCHEME = "sha256="


class WebhookSignatureError(CrmcmsError):
    """A webhook request whose signature is missing, wrong, or too old."""


def sign(secret: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``delivery_id.timestamp.body``.

    The delivery id and the time are signed with the body, so neither can be changed, and
    an old request replayed is refused by its time.
    """
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return SCHEME + hmac.new(secret, signed, hashlib.sha256).hexdigest()


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


class WebhookSender:
    """POSTs every notification to ``url`` as JSON (the notification's serialised form),
    signed with ``secret``."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise CrmcmsError("a webhook needs a secret to sign with")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.clock = clock

    @hookimpl
    def crmcms_notify(self, notification: Notification) -> None:
        body = json.dumps(serialization.dump(notification), ensure_ascii=False).encode("utf-8")
        delivery_id = notification.delivery_id or ""
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, delivery_id, timestamp, body),
        }
        post("webhook", self.url, body, headers, timeout=self.timeout)
