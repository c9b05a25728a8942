"""The ASGI application: the engine's operations as HTTP resources, and nothing more.

``create_app(engine, gateway, store)`` builds it around an engine the host made;
``app_from_environment()`` is what ``crmcms serve`` hands each uvicorn worker.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import metadata
from typing import Any

import attrs
from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.attrs import AttrsSchemaPlugin

from crmcms.engine import Engine, LoginGateway
from crmcms.errors import CrmcmsError
from crmcms.http.appeal_actions import AppealActionsController
from crmcms.http.appeals import AppealsController
from crmcms.http.auth import principal_of
from crmcms.http.contacts import ContactsController
from crmcms.http.definitions import DefinitionsController
from crmcms.http.health import HealthController
from crmcms.http.problems import PROBLEM_JSON, HttpProblem, problem_for
from crmcms.http.queues import FiltersController, QueuesController
from crmcms.http.reports import ReportsController
from crmcms.http.schemas import ProblemItem
from crmcms.http.services import Services
from crmcms.http.sessions import SessionsController
from crmcms.http.webhooks import WebhooksController
from crmcms.storage.sql import SqlStore, SqlWebhookStore

__all__ = ["body_limit", "create_app"]

log = logging.getLogger("crmcms.http")


def _version() -> str:
    # Not crmcms.__version__: the package's lazy table names the entry points above us.
    try:
        return metadata.version("crmcms")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def body_limit(engine: Engine) -> int:
    """Bytes one request body may hold: the engine's characters of text, at four bytes each
    in UTF-8 at most, and room for the JSON around them."""
    return 4 * engine.limits.request_size + 65536


def _problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        errors = tuple(
            ProblemItem(str(e.get("key") or e.get("source") or "body"), str(e.get("message")))
            for e in extra
            if isinstance(e, dict)
        )
        exc = HttpProblem(400, str(exc.detail), errors=errors)
    elif isinstance(exc, HTTPException):
        exc = HttpProblem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))
    elif not isinstance(exc, CrmcmsError):
        log.exception("%s %s failed", request.method, request.url.path)
    document, headers = problem_for(exc)
    document = attrs.evolve(document, instance=request.url.path)
    return Response(
        attrs.asdict(document),
        status_code=document.status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def create_app(
    engine: Engine,
    gateway: LoginGateway,
    store: SqlStore,
    *,
    cursor_secret: bytes | None = None,
    idempotency_lease: timedelta = timedelta(seconds=60),
    debug: bool = False,
) -> Litestar:
    """The HTTP API of ``engine``: sessions from ``gateway``, lists from ``store``.

    ``cursor_secret`` signs page cursors (give every worker the same one);
    ``idempotency_lease`` is how long a request with an ``Idempotency-Key`` that never
    finished keeps blocking the key. Webhook subscriptions made through ``/webhooks`` are
    kept in ``store``'s database unless the engine keeps them elsewhere already. Reports run
    through the engine's report port, or on ``store``'s database if the engine was made
    without one.
    """
    if engine.runtime.webhook_store is None:
        engine.runtime.webhook_store = SqlWebhookStore(store.engine)
    if engine.reporting.queries is None:
        engine.reporting.queries = store.reports()
    services = Services(
        engine,
        gateway,
        store,
        cursor_secret=cursor_secret,
        idempotency_lease=idempotency_lease,
    )
    openapi = OpenAPIConfig(
        title="crmcms",
        version=_version(),
        description="Contacts and appeals of a telecom back office. Errors are RFC 9457 "
        "problem documents; changes take Idempotency-Key and If-Match.",
        components=Components(
            security_schemes={
                "session": SecurityScheme(
                    type="http", scheme="bearer", description="The token of POST /sessions"
                )
            }
        ),
        path="/schema",
    )
    return Litestar(
        route_handlers=[
            SessionsController,
            ContactsController,
            AppealsController,
            AppealActionsController,
            QueuesController,
            FiltersController,
            DefinitionsController,
            WebhooksController,
            ReportsController,
            HealthController,
        ],
        dependencies={
            "services": Provide(lambda: services, use_cache=True, sync_to_thread=False),
            "principal": Provide(principal_of, sync_to_thread=True),
        },
        exception_handlers={Exception: _problem_response},
        plugins=[AttrsSchemaPlugin()],
        openapi_config=openapi,
        request_max_body_size=body_limit(engine),
        debug=debug,
    )
