"""The data a rule sees: plain nested mappings built from model records."""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from crmcms.model import Appeal, AppealState, Catalog, Contact, Operator

__all__ = [
    "AppealData",
    "Parties",
    "RuleData",
    "appeal_data",
    "assemble",
    "client_data",
    "contact_data",
    "operator_data",
    "rule_data",
]

# Enum members' ``.value`` goes through a descriptor; a dict lookup is several times cheaper.
_STATES = {state: state.value for state in AppealState}


def client_data(client: Any) -> dict[str, Any]:
    """A client directory answer (mapping or :class:`~crmcms.model.Client`) as rules see it."""
    if client is None:
        return {}
    # A plain dict (the usual answer) skips the ABC check, which costs more than the copy.
    if type(client) is dict or isinstance(client, Mapping):
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


class AppealData:
    """Builds an appeal's part of the rule data, with the catalog lookups it needs (topic
    names, priority ranks) remembered: the catalog never changes, and every rule evaluated
    in an action needs this part."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._topics: dict[str, tuple[str, str]] = {}
        self._ranks: dict[str, Any] = {}

    def _topic(self, code: str) -> tuple[str, str]:
        found = self._topics.get(code)
        if found is None:
            topic = self.catalog.topic(code)
            found = self._topics[code] = (topic.code, topic.name)
        return found

    def _rank(self, code: str | None) -> Any:
        if code is None:
            return None
        if code not in self._ranks:
            self._ranks[code] = self.catalog.priority(code).rank
        return self._ranks[code]

    def __call__(self, appeal: Appeal) -> dict[str, Any]:
        return self.from_fields(_appeal_fields(appeal))

    def from_fields(self, fields: tuple[Any, ...]) -> dict[str, Any]:
        """The appeal's part from what :data:`_appeal_fields` read."""
        (
            ident,
            topic,
            process,
            queue,
            state,
            priority,
            registered_at,
            deadline,
            closed_at,
            responsible,
            operator,
            route,
            parent_id,
            values,
        ) = fields
        code, name = self._topic(topic)
        return {
            "Id": str(ident),
            "Topic": {"Code": code, "Name": name},
            "Process": process,
            "Queue": queue,
            "State": _STATES[state],
            "Priority": self._rank(priority),
            "RegisteredAt": registered_at,
            "Deadline": deadline,
            "ClosedAt": closed_at,
            "Responsible": responsible,
            "Operator": operator,
            "Route": route,
            "Parent": None if parent_id is None else str(parent_id),
            # The appeal's own dict: rules only read it, and copying it would cost every call.
            "Attribute": values,
        }


_appeal_fields: Callable[[Appeal], tuple[Any, ...]] = _op.attrgetter(
    "id",
    "topic",
    "process",
    "queue",
    "state",
    "priority",
    "registered_at",
    "deadline",
    "closed_at",
    "responsible",
    "operator",
    "route",
    "parent_id",
    "values",
)
"""What the appeal's part of the rule data is made of, read in one call."""


class Parties(Protocol):
    """Where rule data finds a subscriber or a contact person (an action's transaction)."""

    def party(self, part: str, ident: int | None) -> dict[str, Any]:
        """``part`` (``"Subscriber"`` or ``"ContactPerson"``) of the rule data for ``ident``."""


class RuleData(dict[str, Any]):
    """Rule data whose parts are made when something first reads them.

    A transition's rules typically read one or two parts (the client's category, say) of
    the six; making the others costs more than evaluating the rules. The client's part is
    given, made once per action; the contact and operator do not change during an action.
    Rules, conditions and expressions read data by subscript, which makes a missing part.

    The appeal's part shows the appeal as it was when the data was made: its fields are
    read then (one call). *Live* data reads them when the part is first needed instead —
    for an action that reads the data before it changes the appeal, or calls
    :meth:`capture` before it does.
    """

    __slots__ = ("_appeal", "_appeal_data", "_contact", "_operator", "_parties")

    def __init__(
        self,
        appeal_data: AppealData,
        appeal: Appeal,
        client: dict[str, Any],
        contact: Contact | None,
        operator: Operator | None,
        live: bool = False,
        parties: Parties | None = None,
    ) -> None:
        # dict's own __init__ is not called: it would only do what this line does.
        self["Client"] = client
        self._appeal_data = appeal_data
        self._appeal: Appeal | tuple[Any, ...] = appeal if live else _appeal_fields(appeal)
        self._contact = contact
        self._operator = operator
        self._parties = parties
        """Looks a subscriber or contact person up by part name and id (see :class:`Tx`);
        the transaction itself, so that making rule data makes no bound method."""

    def capture(self) -> None:
        """Keep the appeal's part as the appeal is now, whatever happens to it next."""
        if not isinstance(self._appeal, tuple) and "Appeal" not in self:
            self._appeal = _appeal_fields(self._appeal)

    def refresh(self, appeal: Appeal) -> None:
        """Show ``appeal`` as it is from now on, live (the other parts stay): for an action
        that changed it and goes on evaluating rules, once nothing reads the data as it
        was."""
        self._appeal = appeal
        self.pop("Appeal", None)

    def __missing__(self, key: str) -> Any:
        if key == "Appeal":
            source = self._appeal
            fields = source if isinstance(source, tuple) else _appeal_fields(source)
            part = self._appeal_data.from_fields(fields)
        elif key == "Contact":
            part = contact_data(self._contact)
        elif key == "Operator":
            part = operator_data(self._operator)
        elif key in ("Subscriber", "ContactPerson"):
            contact = self._contact
            parties = self._parties
            if contact is None or parties is None:
                part = {}
            elif key == "Subscriber":
                part = parties.party(key, contact.subscriber_id)
            else:
                part = parties.party(key, contact.contact_person_id)
        else:
            raise KeyError(key)
        self[key] = part
        return part

    def complete(self) -> dict[str, Any]:
        """Every part, as a plain dict."""
        return {key: self[key] for key in _PARTS}


_PARTS = ("Client", "Subscriber", "ContactPerson", "Contact", "Appeal", "Operator")


def appeal_data(catalog: Catalog, appeal: Appeal) -> dict[str, Any]:
    return AppealData(catalog)(appeal)


def assemble(
    client: dict[str, Any],
    contact: dict[str, Any],
    appeal: dict[str, Any],
    operator: Operator | None,
) -> dict[str, Any]:
    """The rule data from its parts; keys are canonical English names."""
    return {
        "Client": client,
        "Subscriber": {},
        "ContactPerson": {},
        "Contact": contact,
        "Appeal": appeal,
        "Operator": operator_data(operator),
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
    return assemble(
        client_data(client),
        contact_data(contact),
        {} if appeal is None else appeal_data(catalog, appeal),
        operator,
    )
