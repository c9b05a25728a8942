"""Records to table rows and back: appeals, contacts, history events, attribute values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from crmcms.model import (
    Appeal,
    AppealState,
    AttributeValue,
    Change,
    Contact,
    Direction,
    HistoryEvent,
    HistoryKind,
    Scalar,
)

__all__ = [
    "appeal_from_row",
    "appeal_row",
    "contact_from_row",
    "contact_row",
    "decode_values",
    "encode_values",
    "event_from_row",
    "event_row",
    "to_utc",
]

# The stored form of attribute values is the one of crmcms.serialization: strings and
# booleans as they are, {"decimal": "12.50"}, {"date": "2024-01-31"}, lists for multiple
# choice. It is written here without cattrs because every appeal row passes through it.


def _encode(value: Scalar) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        # History records changes of fields too (a deadline, an id), not only attributes.
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, int):
        return {"integer": value}
    raise TypeError(f"{value!r} is not an attribute value")


# Every registration encodes each value twice (the appeal's row and its first history event):
# look the exact type up first, and take the isinstance path only for subclasses.
_BY_TYPE: dict[type, Any] = {
    str: None,
    bool: None,
    Decimal: lambda v: {"decimal": str(v)},
    date: lambda v: {"date": v.isoformat()},
    datetime: lambda v: {"datetime": v.isoformat()},
    int: lambda v: {"integer": v},
}


def _decode(data: Any) -> Scalar:
    if isinstance(data, dict):
        if "decimal" in data:
            return Decimal(data["decimal"])
        if "date" in data:
            return date.fromisoformat(data["date"])
        if "datetime" in data:
            return datetime.fromisoformat(data["datetime"])
        return data["integer"]  # type: ignore[no-any-return]
    return data  # type: ignore[no-any-return]


def encode_value(value: AttributeValue | None) -> Any:
    kind = type(value)
    if kind in _BY_TYPE:
        make = _BY_TYPE[kind]
        return value if make is None else make(value)
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return _encode(value)


def decode_value(data: Any) -> AttributeValue | None:
    if data is None:
        return None
    if isinstance(data, list):
        return tuple(_decode(v) for v in data)
    return _decode(data)


def encode_values(values: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {code: encode_value(value) for code, value in values.items()}


def decode_values(data: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    if not data:
        return {}
    return {code: decode_value(value) for code, value in data.items()}  # type: ignore[misc]


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything crmcms stores is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def to_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC: SQLite keeps the wall time and drops the offset, so store UTC only."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- Appeals -------------------------------------------------------------------------------

_APPEAL_PLAIN = (
    "id",
    "contact_id",
    "topic",
    "route",
    "route_version",
    "process",
    "operator",
    "queue",
    "priority",
    "responsible",
    "parent_id",
    "system_problem_id",
    "description",
    "version",
)
_APPEAL_TIMES = (
    "registered_at",
    "process_entered_at",
    "deadline",
    "process_deadline",
    "closed_at",
)


def appeal_row(appeal: Appeal, client_id: int | None) -> dict[str, Any]:
    """The ``crm_appeal`` row; ``client_id`` is the contact's, copied for client history."""
    row = {name: getattr(appeal, name) for name in _APPEAL_PLAIN}
    for name in _APPEAL_TIMES:
        row[name] = to_utc(getattr(appeal, name))
    row["state"] = appeal.state.value
    row["client_id"] = client_id
    row["attribute_values"] = encode_values(appeal.values)
    return row


def appeal_from_row(row: Any) -> Appeal:
    """An appeal from a ``crm_appeal`` (or archive) row mapping."""
    m = row._mapping if hasattr(row, "_mapping") else row
    fields = {name: m[name] for name in _APPEAL_PLAIN}
    for name in _APPEAL_TIMES:
        fields[name] = _utc(m[name])
    return Appeal(
        state=AppealState(m["state"]),
        values=decode_values(m["attribute_values"]),
        **fields,
    )


# --- Contacts ------------------------------------------------------------------------------

_CONTACT_PLAIN = (
    "id",
    "place",
    "channel",
    "operator",
    "template",
    "client_id",
    "subscriber_id",
    "contact_person_id",
    "prospect_id",
    "comment",
)


def contact_row(contact: Contact) -> dict[str, Any]:
    row = {name: getattr(contact, name) for name in _CONTACT_PLAIN}
    row["direction"] = contact.direction.value
    row["registered_at"] = to_utc(contact.registered_at)
    return row


def contact_from_row(row: Any) -> Contact:
    m = row._mapping
    registered_at = _utc(m["registered_at"])
    assert registered_at is not None
    return Contact(
        direction=Direction(m["direction"]),
        registered_at=registered_at,
        **{name: m[name] for name in _CONTACT_PLAIN},
    )


# --- History -------------------------------------------------------------------------------

_EVENT_PLAIN = (
    "id",
    "appeal_id",
    "operator",
    "process",
    "queue",
    "transition",
    "comment",
    "reason",
)


def event_row(event: HistoryEvent) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _EVENT_PLAIN}
    row["kind"] = event.kind.value
    row["at"] = to_utc(event.at)
    row["changes"] = [
        {"field": c.field, "old": encode_value(c.old), "new": encode_value(c.new)}
        for c in event.changes
    ]
    return row


def event_from_row(row: Any) -> HistoryEvent:
    m = row._mapping
    at = _utc(m["at"])
    assert at is not None
    return HistoryEvent(
        kind=HistoryKind(m["kind"]),
        at=at,
        changes=tuple(
            Change(c["field"], decode_value(c.get("old")), decode_value(c.get("new")))
            for c in m["changes"] or ()
        ),
        **{name: m[name] for name in _EVENT_PLAIN},
    )
