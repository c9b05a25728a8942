"""The generated dataset is deterministic and its CLI shows a progress bar and the counts."""

from __future__ import annotations

import hashlib
import os

import sqlalchemy as sa
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli
from crmcms.storage.database import create_engine
from crmcms.storage.sql import AppealFilters, SqlStore
from crmcms.storage.sql.dataset import DATASET_ATTRIBUTES, generate


def _digest(url: str) -> str:
    engine = create_engine(url)
    out = hashlib.sha256()
    with engine.connect() as conn:
        for table in ("crm_client", "crm_contact", "crm_appeal", "crm_history"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")):
                out.update(repr(tuple(row)).encode())
    engine.dispose()
    return out.hexdigest()


def test_same_seed_same_rows(tmp_path: os.PathLike[str]) -> None:
    urls = [f"sqlite:///{os.path.join(tmp_path, f'{k}.sqlite')}" for k in range(2)]
    for url in urls:
        store = SqlStore(url)
        made = generate(store.engine, 300, seed=7)
        assert made.appeals == 300
        store.dispose()
    assert _digest(urls[0]) == _digest(urls[1])


def test_dev_seed_command(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["dev", "seed", "--appeals", "500", "--url", database_url])
    assert result.exit_code == 0, result.output
    assert "500 appeals" in result.output
    store = SqlStore(database_url)
    filters = AppealFilters(store.engine, attributes=DATASET_ATTRIBUTES)
    assert filters.count("true") == 500
    assert 0 < filters.count('Appeal.Attribute[reason] = "R000"') < 500
    # Ids handed out after seeding do not collide with the seeded rows.
    with store.unit_of_work() as uow:
        assert uow.appeals.next_id() > 500
    store.dispose()
