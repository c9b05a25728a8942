"""``/sessions``: log in with a password for a bearer token, and log out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, post
from litestar.params import JSONBody

from crmcms.http.auth import bearer_token, source_of
from crmcms.http.replies import PROBLEMS, SESSION
from crmcms.http.schemas import LoginBody, SessionView
from crmcms.http.services import Needs

__all__ = ["SessionsController"]


class SessionsController(Controller):
    path = "/sessions"
    tags = ["sessions"]  # noqa: RUF012 - Litestar reads it from the class

    @post(
        "/",
        status_code=201,
        responses=PROBLEMS,
        sync_to_thread=True,
        summary="Log in: the token to send as Authorization: Bearer",
    )
    def login(
        self, data: JSONBody[LoginBody], request: Request[Any, Any, Any], services: Needs
    ) -> SessionView:
        session = services.gateway.authenticate(
            data.login, data.password, source=source_of(request)
        )
        return SessionView(session.token, session.principal.login, session.expires_at)

    @delete(
        "/current",
        status_code=204,
        responses=PROBLEMS,
        sync_to_thread=True,
        security=SESSION,
        summary="Log out: the token is no longer valid",
    )
    def logout(self, request: Request[Any, Any, Any], services: Needs) -> None:
        services.gateway.logout(bearer_token(request), source=source_of(request))
