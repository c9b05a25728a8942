"""Saved filters: rule text to SQL, keyset pages, counts per tab, attribute indexes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crmcms.dsl import DATE, DECIMAL, STRING
from crmcms.errors import DefinitionError, NotFoundError
from crmcms.model import Appeal, AppealState
from crmcms.storage.schema import client
from crmcms.storage.sql import (
    AppealFilters,
    FilterTab,
    Order,
    SavedFilter,
    SqlStore,
    index_attributes,
)
from crmcms.testing.stored import add_contact

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTRIBUTES = {"reason": STRING, "due": DATE, "amount": DECIMAL}


@pytest.fixture
def store(database_url: str) -> SqlStore:
    store = SqlStore(database_url, id_block=50)
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(client),
            [
                {"id": 1, "name": "Acme", "category": "BIS", "status": "active"},
                {"id": 2, "name": "Pskov Ltd", "category": "VIP", "status": "active"},
            ],
        )
    with store.unit_of_work() as uow:
        for client_id in (1, 2):
            c = add_contact(uow, registered_at=T0, client_id=client_id)
            for k in range(15):
                uow.appeals.add(
                    Appeal(
                        id=uow.appeals.next_id(),
                        contact_id=c.id,
                        topic="CLAIM" if k % 3 else "REQUEST",
                        route="R",
                        route_version=1,
                        process="work",
                        queue="67",
                        operator="olga",
                        registered_at=T0 + timedelta(minutes=k),
                        deadline=None if k % 5 == 0 else T0 + timedelta(hours=k % 4),
                        state=AppealState.CLOSED if k == 14 else AppealState.OPEN,
                        values={
                            "reason": f"r{k % 4}",
                            "due": date(2026, 4, 1 + k),
                            "amount": Decimal(k) / 4,
                        },
                    )
                )
        uow.commit()
    yield store
    store.dispose()


def filters(store: SqlStore) -> AppealFilters:
    return AppealFilters(store.engine, attributes=ATTRIBUTES)


def test_filter_on_attributes_columns_and_client(store: SqlStore) -> None:
    f = filters(store)
    assert f.count('Appeal.Attribute[reason] = "r1"') == 8
    assert f.count("Appeal.Attribute[due] >= 2026-04-10") == 2 * 6
    assert f.count("Appeal.Attribute[amount] > 3.0") == 2 * 2
    assert f.count('Client.Category = "VIP" and Appeal.State = "open"') == 14
    assert f.count('Клиент.Категория = "BIS" and Обращение.Тема.Код = "REQUEST"') == 5


def test_indexes_do_not_change_results(store: SqlStore) -> None:
    f = filters(store)
    rule = 'Appeal.Attribute[reason] = "r2" and Appeal.Attribute[due] < 2026-04-12'
    before = f.count(rule)
    created = index_attributes(store.engine, ATTRIBUTES)
    assert len(created) == 3
    assert index_attributes(store.engine, ATTRIBUTES) == []
    assert f.count(rule) == before == 6


def test_keyset_pages_cover_everything_once(store: SqlStore) -> None:
    f = filters(store)
    for order in Order:
        seen: list[int] = []
        page = f.page("true", limit=7, order=order)
        while True:
            seen += [a.id for a in page.items]
            if page.next is None:
                break
            page = f.page("true", limit=7, order=order, after=page.next)
        assert sorted(seen) == sorted(set(seen))
        assert len(seen) == 30
    newest = f.page("true", limit=3).items
    assert [a.id for a in newest] == sorted((a.id for a in newest), reverse=True)
    by_deadline = f.page("true", limit=30, order=Order.DEADLINE).items
    deadlines = [a.deadline for a in by_deadline]
    present = [d for d in deadlines if d is not None]
    assert present == sorted(present)
    assert deadlines[len(present) :] == [None] * (30 - len(present))


def test_saved_filter_tabs_and_counts(store: SqlStore) -> None:
    f = filters(store)
    saved = SavedFilter(
        "claims",
        "Claims",
        'Appeal.Topic.Code = "CLAIM"',
        tabs=(
            FilterTab("vip", "VIP", 'Client.Category = "VIP"'),
            FilterTab("late", "Late", "Appeal.Deadline <= 2026-03-02T11:00:00Z"),
        ),
        owner="olga",
    )
    f.save(saved)
    assert f.load("claims") == saved
    assert f.saved("olga") == [saved]
    assert f.saved("bis") == []
    counts = f.counts(saved)
    assert counts == {"": 20, "vip": 10, "late": f.count(saved, tab="late")}
    assert 0 < counts["late"] < 20
    assert {a.topic for a in f.page(saved, tab="vip").items} == {"CLAIM"}
    with pytest.raises(NotFoundError):
        f.count(saved, tab="nope")
    f.delete("claims")
    with pytest.raises(NotFoundError):
        f.load("claims")


def test_user_text_stays_out_of_sql(store: SqlStore) -> None:
    f = filters(store)
    evil = "x'; DROP TABLE crm_appeal; --"
    assert f.count(f'Appeal.Attribute[reason] = "{evil}"') == 0
    untyped = AppealFilters(store.engine)  # any attribute code is accepted
    assert untyped.count(f'Appeal.Attribute["{evil}"] = "1"') == 0
    statement = str(f.sql('Appeal.Attribute[reason] = "r1"').compile(store.engine))
    assert "r1" not in statement
    assert f.count("true") == 30


def test_bad_rules_are_refused_on_save(store: SqlStore) -> None:
    with pytest.raises(DefinitionError):
        filters(store).save(SavedFilter("bad", "Bad", "Appeal.Nope = 1"))
