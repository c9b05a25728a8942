"""Liveness (the process answers) and readiness (the database answers too)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from crmcms.http.schemas import Health
from crmcms.http.services import Needs

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]  # noqa: RUF012 - Litestar reads it from the class

    @get("/live", sync_to_thread=False, summary="The process answers")
    def live(self) -> Health:
        return Health("ok")

    @get(
        "/ready",
        responses={503: ResponseSpec(Health, description="The database does not answer")},
        sync_to_thread=True,
        summary="The database answers",
    )
    def ready(self, services: Needs) -> Response[Health]:
        import sqlalchemy as sa

        try:
            with services.store.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return Response(Health("unavailable"), status_code=503)
        return Response(Health("ok"))
