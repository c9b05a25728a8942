"""Reports on a separate read-only database URL: a PostgreSQL role that may only SELECT runs
every built-in report, the primary's figures come back, and nothing can be written through it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crmcms.dsl import load_catalog
from crmcms.engine import BUILTIN_REPORTS, Engine
from crmcms.entrypoints.cli import cli
from crmcms.storage.sql import SqlStore
from report_world import START, generate

END = datetime(2026, 4, 1, tzinfo=UTC)
CATALOG = load_catalog(["examples/telecom"])

pytestmark = pytest.mark.postgres


@pytest.fixture
def read_only(postgres_url: str, postgres_admin: sa.Engine) -> Iterator[tuple[str, str]]:
    """(the primary's URL, the URL of a role granted only SELECT on its tables)."""
    schema = postgres_url.rsplit("search_path%3D", 1)[1]
    role = f"{schema}_reports"
    SqlStore(postgres_url).dispose()  # the schema, made by the primary's own role
    quote = postgres_admin.dialect.identifier_preparer.quote
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {quote(role)} LOGIN"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}"))
        conn.execute(
            sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {quote(schema)} TO {quote(role)}")
        )
    url = sa.make_url(postgres_url).set(username=role, password=None)
    try:
        yield postgres_url, url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {quote(role)} CASCADE"))
            conn.execute(sa.text(f"DROP ROLE {quote(role)}"))


def test_every_built_in_report_runs_on_a_select_only_role(read_only: tuple[str, str]) -> None:
    primary, replica = read_only
    store = SqlStore(primary)
    try:
        generate(store.unit_of_work, 150)
        on_primary = Engine(CATALOG, store.unit_of_work, reports=store.reports(), trust_logins=True)
        on_replica = Engine(
            CATALOG, store.unit_of_work, reports=store.reports(replica), trust_logins=True
        )
        for definition in BUILTIN_REPORTS:
            options = {"start": START, "end": END, "archived": True}
            mine = list(on_replica.report(definition.code, **options).rows)  # type: ignore[arg-type]
            theirs = list(on_primary.report(definition.code, **options).rows)  # type: ignore[arg-type]
            assert mine == theirs, definition.code
            assert mine, definition.code
        reader = store.reports(replica).engine
        with reader.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as refused:
            conn.execute(sa.text("DELETE FROM crm_appeal"))
        assert getattr(refused.value.orig, "sqlstate", None) == "42501"
    finally:
        store.dispose()


def test_crmcms_report_takes_a_read_only_url(read_only: tuple[str, str]) -> None:
    primary, replica = read_only
    store = SqlStore(primary)
    made = generate(store.unit_of_work, 80)
    store.dispose()
    args = ["report", "by_topic", "--db", primary, "--read-db", replica]
    args += ["--definitions", "examples/telecom", "--from", "2026-03-01", "--to", "2026-03-31"]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    body = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))[1:]
    assert sum(int(r[1]) for r in body) == sum(g.appeal.registered_at >= START for g in made)
