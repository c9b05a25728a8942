"""Shared fixtures: hypothesis profiles and the storage backends every contract test runs on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# A fixed budget keeps `make test` well inside its time limit; `dev` explores more locally.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
# Bug hunting: ten times `dev`, with the slow-input checks off (minutes, not seconds).
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get(
    "CRMCMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[object]:
    """An AUTOCOMMIT engine on the test server; fails under CI, skips elsewhere, if unreachable."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        _postgres_unavailable(f"{type(exc).__name__}: {exc}".splitlines()[0])
    yield admin
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin: object) -> Iterator[str]:
    """A PostgreSQL URL whose connections see a private schema, dropped afterwards.

    A schema per test keeps tests, and concurrent runs on one server, from seeing each
    other's tables.
    """
    import sqlalchemy as sa

    assert isinstance(postgres_admin, sa.Engine)
    schema = f"crmcms_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """Each storage test runs once on an SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{os.path.join(tmp_path, 'crmcms.sqlite')}"
    return str(request.getfixturevalue("postgres_url"))


AMQP_URL = os.environ.get("CRMCMS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The test broker's URL; fails under CI, skips elsewhere, if RabbitMQ is unreachable."""
    try:
        import pika

        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if IN_CI:
            pytest.fail(f"RabbitMQ is required when CI=true: {reason}", pytrace=False)
        pytest.skip(f"RabbitMQ not available: {reason}")
    return AMQP_URL
