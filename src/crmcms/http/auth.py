"""``Authorization: Bearer <token>``: the session token of ``POST /sessions`` as a principal."""

from __future__ import annotations

from typing import Any

from litestar import Request

from crmcms.errors import AuthenticationError
from crmcms.http.services import Needs
from crmcms.model import Principal

__all__ = ["bearer_token", "principal_of", "source_of"]


def source_of(request: Request[Any, Any, Any]) -> str | None:
    """Where the request came from, as the audit records it."""
    return None if request.client is None else request.client.host


def bearer_token(request: Request[Any, Any, Any]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "send the session token of POST /sessions as Authorization: Bearer <token>"
        )
    return token.strip()


def principal_of(request: Request[Any, Any, Any], services: Needs) -> Principal:
    """The principal of the request's session; any other token is 401."""
    return services.gateway.resolve(bearer_token(request), source=source_of(request))
