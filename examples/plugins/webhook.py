"""Webhooks: each notification POSTed as JSON, signed with HMAC-SHA256.

The signing is the library's (:mod:`crmcms.engine.webhooks`, which also delivers the
webhook subscriptions of definition files). The receiver checks the signature with
:func:`verify_request` (or :func:`verify_signature`) and drops repeats by
``X-Crmcms-Delivery``, which is the same on every retry of a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from crmcms import CrmcmsError, Notification, hookimpl, serialization
from crmcms.engine.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    sign,
    signed_headers,
    verify_request,
    verify_signature,
)
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
        headers = signed_headers(self.secret, delivery_id, int(self.clock()), body)
        post("webhook", self.url, body, headers, timeout=self.timeout)
