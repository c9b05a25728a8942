"""One HTTP POST with urllib, its failures classified as crmcms delivery errors."""

from __future__ import annotations

import email.utils
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

from crmcms.errors import DeliveryError

__all__ = ["RETRYABLE", "post"]

RETRYABLE = frozenset({408, 429})
"""4xx answers that mean "later", not "never": request timeout, too many requests."""


def post(
    plugin: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    hook: str = "crmcms_notify",
) -> int:
    """POST ``body`` to ``url``; return the status. An answer of 4xx (but 408 and 429) is
    a permanent :class:`DeliveryError`; 5xx, 408, 429, timeouts and network failures are
    transient ones, with the receiver's ``Retry-After`` when it sent one."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        code = exc.code
        permanent = 400 <= code < 500 and code not in RETRYABLE
        raise DeliveryError(
            plugin,
            f"{url} answered {code} {exc.reason}",
            permanent=permanent,
            retry_after=_retry_after(exc.headers.get("Retry-After")),
            hook=hook,
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(plugin, f"{url}: {reason}", hook=hook) from exc


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
