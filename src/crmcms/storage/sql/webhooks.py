"""Webhook subscriptions in SQL (``crm_webhook``), each change in a short transaction of its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from crmcms.errors import NotFoundError, StorageError, WorkflowError
from crmcms.model import HistoryKind, Webhook
from crmcms.storage.schema import webhook

__all__ = ["SqlWebhookStore"]


def _webhook(row: Any) -> Webhook:
    m = row._mapping
    kinds = tuple(HistoryKind(k) for k in str(m["events"]).split(",") if k)
    return Webhook(
        code=m["code"],
        name=m["name"],
        url=m["url"],
        secret_env=m["secret_env"],
        events=kinds,
        description=m["description"],
    )


class SqlWebhookStore:
    """The subscriptions stored in the database of ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def subscriptions(self) -> list[Webhook]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(webhook).order_by(webhook.c.code))
            return [_webhook(r) for r in rows]

    def add(self, item: Webhook, *, by: str | None) -> None:
        row = {
            "code": item.code,
            "name": item.name,
            "url": item.url,
            "secret_env": item.secret_env,
            "events": ",".join(k.value for k in item.events),
            "description": item.description,
            "created_at": datetime.now(UTC),
            "created_by": by,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(webhook).values(**row))
        except sa.exc.IntegrityError as exc:
            raise WorkflowError(f"webhook {item.code} already exists") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"storing webhook {item.code} failed: {exc}") from exc

    def remove(self, code: str) -> Webhook:
        with self.engine.begin() as conn:
            rows = list(conn.execute(sa.select(webhook).where(webhook.c.code == code)))
            if not rows:
                raise NotFoundError("webhook", code)
            conn.execute(sa.delete(webhook).where(webhook.c.code == code))
        return _webhook(rows[0])
