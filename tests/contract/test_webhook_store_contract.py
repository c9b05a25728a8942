"""Webhook subscription stores: what memory and SQL must do alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmcms.engine.webhook_store import WebhookStore
from crmcms.errors import NotFoundError, WorkflowError
from crmcms.model import HistoryKind, Webhook
from crmcms.storage.memory_webhooks import MemoryWebhookStore
from crmcms.storage.sql import SqlStore, SqlWebhookStore


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[WebhookStore]:
    if request.param == "memory":
        yield MemoryWebhookStore()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    sql = SqlStore(url)
    yield SqlWebhookStore(sql.engine)
    sql.dispose()


def test_subscriptions_are_kept_by_code_and_removed(store: WebhookStore) -> None:
    moves = Webhook(
        "MOVES",
        "Moves",
        "https://billing.example/moves",
        "MOVES_SECRET",
        events=(HistoryKind.MOVED, HistoryKind.CLOSED),
        description="Биллинг",
    )
    every = Webhook("ALL", "All", "http://127.0.0.1:9/all", "ALL_SECRET")
    store.add(moves, by="root")
    store.add(every, by=None)
    assert store.subscriptions() == [every, moves]
    with pytest.raises(WorkflowError, match="already exists"):
        store.add(moves, by="root")
    assert store.remove("MOVES") == moves
    assert store.subscriptions() == [every]
    with pytest.raises(NotFoundError, match="webhook"):
        store.remove("MOVES")
