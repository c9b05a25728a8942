"""The data a rule sees: plain nested mappings built from model records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcms.model import Appeal, Catalog, Contact, Operator

__all__ = ["appeal_data", "client_data", "contact_data", "operator_data", "rule_data"]


def client_data(client: Any) -> dict[str, Any]:
    """A client directory answer (mapping or :class:`~crmcms.model.Client`) as rules see it."""
    if client is None:
        return {}
    if isinstance(client, Mapping):
        return dict(client)
    return {
        "Id": str(client.id),
        "Name": client.name,
        "Category": client.category,
        "Region": client.region,
        "Status": client.status,
    }


def contact_data(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "Place": contact.place,
        "Direction": contact.direction.value,
        "Channel": contact.channel,
        "RegisteredAt": contact.registered_at,
        "Operator": contact.operator,
    }


def operator_data(operator: Operator | None) -> dict[str, Any]:
    if operator is None:
        return {}
    return {"Login": operator.login, "Name": operator.name, "Roles": operator.roles}


def appeal_data(catalog: Catalog, appeal: Appeal) -> dict[str, Any]:
    topic = catalog.topic(appeal.topic)
    priority = None if appeal.priority is None else catalog.priority(appeal.priority).rank
    return {
        "Id": str(appeal.id),
        "Topic": {"Code": topic.code, "Name": topic.name},
        "Process": appeal.process,
        "Queue": appeal.queue,
        "State": appeal.state.value,
        "Priority": priority,
        "RegisteredAt": appeal.registered_at,
        "Deadline": appeal.deadline,
        "ClosedAt": appeal.closed_at,
        "Responsible": appeal.responsible,
        "Operator": appeal.operator,
        "Route": appeal.route,
        "Parent": None if appeal.parent_id is None else str(appeal.parent_id),
        # The appeal's own dict: rules only read it, and copying it would cost every call.
        "Attribute": appeal.values,
    }


def rule_data(
    catalog: Catalog,
    appeal: Appeal | None,
    *,
    contact: Contact | None = None,
    client: Any = None,
    operator: Operator | None = None,
) -> dict[str, Any]:
    """Everything one rule evaluation may read, keyed by canonical English names."""
    return {
        "Client": client_data(client),
        "Subscriber": {},
        "ContactPerson": {},
        "Contact": contact_data(contact),
        "Appeal": {} if appeal is None else appeal_data(catalog, appeal),
        "Operator": operator_data(operator),
    }
