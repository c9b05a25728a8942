"""Strategies for webhook subscriptions."""

from __future__ import annotations

from hypothesis import strategies as st

from crmcms.model.history import HistoryKind
from crmcms.model.webhooks import Webhook
from crmcms.testing._basics import codes, names

__all__ = ["webhooks"]


def webhooks(*, code: str | None = None) -> st.SearchStrategy[Webhook]:
    return st.builds(
        Webhook,
        code=st.just(code) if code is not None else codes(),
        name=names(),
        url=st.sampled_from(["https://billing.example/crm-events", "http://127.0.0.1:8080/h"]),
        secret_env=st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
        events=st.lists(st.sampled_from(HistoryKind), max_size=3, unique=True).map(tuple),
        description=names(),
        active=st.booleans(),
    )
