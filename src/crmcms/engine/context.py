"""The data a rule sees: plain nested mappings built from model records."""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from crmcms.dsl.rule_data import RULE_DATA, DataField, Via, leaves
from crmcms.model import Appeal, Catalog, Contact, Operator

__all__ = [
    "AppealData",
    "Parties",
    "RuleData",
    "appeal_data",
    "assemble",
    "client_data",
    "contact_data",
    "operator_data",
    "party_data",
    "rule_data",
]

_OBJECTS = {obj.name: obj for obj in RULE_DATA}


def _as_id(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_code(value: Any) -> Any:
    return None if value is None else value.value


_PLAIN: dict[Via, Callable[[Any], Any]] = {Via.ID: _as_id, Via.CODE: _as_code}


class _Reader:
    """Reads one object's part of the rule data from a model record, as
    :data:`~crmcms.dsl.rule_data.RULE_DATA` describes it: its sources in one call
    (:attr:`fields`), then the values in place (:meth:`data`)."""

    def __init__(self, name: str) -> None:
        found = [leaf for leaf in leaves(_OBJECTS[name]) if leaf.field.source]
        sources = [leaf.field.source for leaf in found]
        getter = _op.attrgetter(*sources)
        self.fields: Callable[[Any], tuple[Any, ...]] = (
            getter if len(sources) > 1 else lambda record: (getter(record),)
        )
        # Top-level values read as they are go in one comprehension; the rest (converted,
        # or in a nested object) one by one.
        self._plain: list[tuple[str, int]] = []
        self._other: list[tuple[tuple[str, ...], int, Via]] = []
        for i, leaf in enumerate(found):
            path = leaf.path[1:]
            via = leaf.field.via if isinstance(leaf.field, DataField) else Via.AS_IS
            if len(path) == 1 and via is Via.AS_IS:
                self._plain.append((path[0], i))
            else:
                self._other.append((path, i, via))

    def data(
        self, fields: tuple[Any, ...], convert: Mapping[Via, Callable[[Any], Any]] = _PLAIN
    ) -> dict[str, Any]:
        part = {name: fields[i] for name, i in self._plain}
        for path, i, via in self._other:
            value = fields[i] if via is Via.AS_IS else convert[via](fields[i])
            target = part
            for step in path[:-1]:
                target = target.setdefault(step, {})
            target[path[-1]] = value
        return part

    def __call__(self, record: Any) -> dict[str, Any]:
        return self.data(self.fields(record))


_READERS = {name: _Reader(name) for name in ("Client", "Subscriber", "ContactPerson", "Contact")}
_read_appeal = _Reader("Appeal")
_read_operator = _Reader("Operator")


def party_data(part: str, record: Any) -> dict[str, Any]:
    """``part`` of the rule data (``"Client"``, ``"Subscriber"``, ``"ContactPerson"`` or
    ``"Contact"``) from its model record, as a directory plugin may answer it."""
    return _READERS[part](record)


def client_data(client: Any) -> dict[str, Any]:
    """A client directory answer (mapping or :class:`~crmcms.model.Client`) as rules see it."""
    if client is None:
        return {}
    # A plain dict (the usual answer) skips the ABC check, which costs more than the copy.
    if type(client) is dict or isinstance(client, Mapping):
        return dict(client)
    return _READERS["Client"](client)


def contact_data(contact: Contact | None) -> dict[str, Any]:
    return {} if contact is None else _READERS["Contact"](contact)


def operator_data(operator: Operator | None) -> dict[str, Any]:
    return {} if operator is None else _read_operator(operator)


class AppealData:
    """Builds an appeal's part of the rule data, with the catalog lookups it needs (topic
    names, priority ranks) remembered: the catalog never changes, and every rule evaluated
    in an action needs this part."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._topics: dict[str, str] = {}
        self._ranks: dict[str, Any] = {}
        self._convert: dict[Via, Callable[[Any], Any]] = {
            **_PLAIN,
            Via.TOPIC_NAME: self._topic_name,
            Via.RANK: self._rank,
        }

    def _topic_name(self, code: str) -> str:
        found = self._topics.get(code)
        if found is None:
            found = self._topics[code] = self.catalog.topic(code).name
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
        """The appeal's part from what :data:`_appeal_fields` read. ``Attribute`` is the
        appeal's own dict: rules only read it, and copying it would cost every call."""
        return _read_appeal.data(fields, self._convert)


_appeal_fields: Callable[[Appeal], tuple[Any, ...]] = _read_appeal.fields
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


_PARTS = tuple(_OBJECTS)


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
