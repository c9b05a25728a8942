"""Single sign-on behind a reverse proxy: the proxy authenticates the user (Kerberos, a
corporate identity provider) and passes the login on, signed with a secret it shares with the
back office, so that a request which did not come through the proxy cannot claim a login.

Register it like any plugin and hand the engine what the proxy sent::

    pm.register(TrustedProxy(secret=os.environb[b"CRM_PROXY_SECRET"]))
    principal = engine.authenticate_with(
        {"remote_user": request.headers["X-Remote-User"],
         "signature": request.headers["X-Remote-User-Signature"]},
        source=request.client.host,
    )

The proxy signs with ``hmac.new(secret, login.encode(), "sha256").hexdigest()``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from crmcms import hookimpl

__all__ = ["TrustedProxy", "sign"]


def sign(secret: bytes, login: str) -> str:
    """The signature the proxy sends with ``login``."""
    return hmac.new(secret, login.encode(), "sha256").hexdigest()


class TrustedProxy:
    """Accepts a login the proxy signed; anything else is not its business (``None``)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the shared secret needs at least 32 bytes")
        self._secret = secret

    @hookimpl
    def crmcms_authenticate(
        self, credentials: Mapping[str, object], source: str | None
    ) -> str | None:
        login, signature = credentials.get("remote_user"), credentials.get("signature")
        if not isinstance(login, str) or not isinstance(signature, str):
            return None
        if not hmac.compare_digest(sign(self._secret, login), signature):
            return None
        return login
