"""Attribute indexes from the catalog: made for list columns, idempotent, used, pruned."""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.dsl.rules.schema import STRING
from crmcms.entrypoints.cli import cli
from crmcms.errors import ConfigurationError
from crmcms.model import Catalog
from crmcms.storage.sql import (
    AppealFilters,
    SqlStore,
    attribute_index,
    attribute_types,
    index_attributes,
    indexed_attributes,
)

DEFINITIONS = """\
group CLAIMS "Claims" {
    attribute region "Region": string column
    topic CLAIM "Claim" {
        attribute reason "Reason": string column
        attribute amount "Amount": decimal column
        attribute due "Due": date
        attribute note "Note": string
        attribute tags "Tags": string multiple column
    }
}
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog_text({"claims.crm": DEFINITIONS})


def _index_names(engine: sa.Engine) -> set[str]:
    if engine.dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    with engine.connect() as conn:
        return {name for (name,) in conn.exec_driver_sql(query)}


def _plan(engine: sa.Engine, query: sa.Select[tuple[int]]) -> str:
    # Values written in: EXPLAIN takes no parameters in the driver's own style on SQLite.
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # A handful of rows is read fastest by a scan; the test asks whether the index
            # *can* serve the filter, i.e. whether the expressions match.
            conn.exec_driver_sql("SET enable_seqscan = off")
            prefix = "EXPLAIN "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        rows = conn.exec_driver_sql(prefix + sql)
        return "\n".join(" ".join(str(v) for v in row) for row in rows)


def test_list_columns_and_named_attributes_are_chosen(catalog: Catalog) -> None:
    # Inherited from the group, shown as columns; a list cannot be indexed as one value.
    assert list(indexed_attributes(catalog)) == ["amount", "reason", "region"]
    assert list(indexed_attributes(catalog, ["due"])) == ["amount", "due", "reason", "region"]
    with pytest.raises(ConfigurationError, match="nope"):
        indexed_attributes(catalog, ["nope"])


def test_ensure_indexes_is_idempotent_and_filters_use_them(
    database_url: str, catalog: Catalog
) -> None:
    store = SqlStore(database_url)
    try:
        dialect = store.engine.dialect.name
        created = store.ensure_indexes(catalog, extra=["due"])
        types = attribute_types(catalog)
        expected = {
            str(attribute_index(code, types[code], dialect).name)
            for code in ("amount", "due", "reason", "region")
        }
        assert set(created) == expected
        assert expected <= _index_names(store.engine)
        assert store.ensure_indexes(catalog, extra=["due"]) == []

        filters = AppealFilters(store.engine, attributes=types)
        for rule, code in (
            ('Appeal.Attribute[reason] = "PRICE"', "reason"),
            ("Appeal.Attribute[amount] > 100", "amount"),
            ("Appeal.Attribute[due] >= 2026-03-01", "due"),
        ):
            plan = _plan(store.engine, filters.sql(rule))
            name = str(attribute_index(code, types[code], dialect).name)
            assert name in plan, f"{rule}: {plan}"
        # Not a column and not named: filtered correctly, by a scan.
        plan = _plan(store.engine, filters.sql('Appeal.Attribute[note] = "x"'))
        assert "_attr_" not in plan
    finally:
        store.dispose()


def test_prune_drops_only_attribute_indexes_no_longer_asked_for(
    database_url: str, catalog: Catalog
) -> None:
    store = SqlStore(database_url)
    try:
        engine, dialect = store.engine, store.engine.dialect.name
        types = attribute_types(catalog)
        store.ensure_indexes(catalog, extra=["due"])
        # No longer asked for: "due" (once named), "gone" (an attribute since removed) and
        # "amount" indexed as a string (its type has changed). Not ours: an index of its own.
        index_attributes(engine, {"gone": STRING, "amount": STRING})
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX own_index ON crm_appeal (id, version)")
        stale = {
            str(attribute_index(code, type_, dialect).name)
            for code, type_ in (("due", types["due"]), ("gone", STRING), ("amount", STRING))
        }
        kept = {
            str(attribute_index(code, types[code], dialect).name)
            for code in ("amount", "reason", "region")
        }
        before = _index_names(engine)
        assert stale | kept | {"own_index"} <= before

        assert set(store.prune_indexes(catalog)) == stale
        assert _index_names(engine) == before - stale
        assert store.prune_indexes(catalog) == []
        # Asked for again, one comes back.
        assert store.ensure_indexes(catalog, extra=["due"]) == [
            str(attribute_index("due", types["due"], dialect).name)
        ]
    finally:
        store.dispose()


def test_db_index_command(tmp_path: pathlib.Path, catalog: Catalog) -> None:
    (tmp_path / "claims.crm").write_text(DEFINITIONS, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    runner = CliRunner()
    args = ["db", "index", "--definitions", str(tmp_path), "--url", url]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "amount, reason, region; 3 index(es) created" in first.output
    again = runner.invoke(cli, [*args, "--attribute", "due"])
    assert again.exit_code == 0, again.output
    assert "amount, due, reason, region; 1 index(es) created" in again.output
    store = SqlStore(url, upgrade=False)
    types = attribute_types(catalog)
    names = {str(attribute_index(c, types[c], "sqlite").name) for c in ("amount", "due")}
    assert names <= _index_names(store.engine)
    store.dispose()
    pruned = runner.invoke(cli, [*args, "--prune"])
    assert pruned.exit_code == 0, pruned.output
    assert "amount, reason, region; 0 index(es) created, 1 dropped" in pruned.output
    wrong = runner.invoke(cli, [*args, "--attribute", "nope"])
    assert wrong.exit_code != 0
    assert "nope" in wrong.output
