"""Records put straight into a unit of work: for tests of storage adapters and of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmcms.engine.ports import UnitOfWork
from crmcms.model import Appeal, Contact, Direction

__all__ = ["T0", "add_appeal", "add_contact"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The default registration time: a Monday morning, UTC."""


def add_contact(uow: UnitOfWork, **fields: Any) -> Contact:
    """A contact with a fresh id added to ``uow``; ``fields`` override the defaults."""
    values: dict[str, Any] = {
        "place": "CC",
        "direction": Direction.INCOMING,
        "channel": "PHONE",
        "operator": "olga",
        "registered_at": T0,
        **fields,
    }
    contact = Contact(id=uow.contacts.next_id(), **values)
    uow.contacts.add(contact)
    return contact


def add_appeal(uow: UnitOfWork, contact_id: int, **fields: Any) -> Appeal:
    """An open appeal with a fresh id added to ``uow``; ``fields`` override the defaults."""
    values: dict[str, Any] = {
        "topic": "CLAIM",
        "route": "R",
        "route_version": 1,
        "process": "work",
        "operator": "olga",
        "registered_at": T0,
        **fields,
    }
    return uow.appeals.add(Appeal(id=uow.appeals.next_id(), contact_id=contact_id, **values))
