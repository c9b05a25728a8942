"""schemathesis over the OpenAPI document, against the app on SQLite and on PostgreSQL: no
request gets a 5xx, and every response matches the schema the document gives for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.http_world import PASSWORD, World, http_world

from crmcms.engine import AppealDraft

CASES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Valid data is refused often, and rightly: a random id is a 404, a random topic a 422.
EXCLUDED = [positive_data_acceptance]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with http_world(database_url) as w:
        yield w


@pytest.fixture
def token(world: World) -> Any:
    """A function giving a fresh session token of olga (a case may log the last one out),
    with one appeal registered, so that ids such as 1 exist."""
    olga = world.gateway.authenticate("olga", PASSWORD).principal
    world.engine.register_contact(
        olga,
        place="CC",
        channel="PHONE",
        client_id=1,
        drafts=[AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})],
    )
    return lambda: world.gateway.authenticate("olga", PASSWORD).token


@pytest.fixture
def api_schema(world: World) -> Any:
    return schemathesis.openapi.from_asgi("/schema/openapi.json", world.app)


def test_every_response_matches_its_schema(api_schema: Any, token: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @CASES
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token()}"}, excluded_checks=EXCLUDED
            )

        check()


def test_stateful_runs_follow_the_links_between_operations(api_schema: Any, token: Any) -> None:
    machine = api_schema.as_state_machine()
    bearer = {"Authorization": f"Bearer {token()}"}

    class Machine(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": bearer}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED)

    Machine.run(settings=settings(max_examples=10, deadline=None, stateful_step_count=5))
