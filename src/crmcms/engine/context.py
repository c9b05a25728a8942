"""The data a rule sees: plain nested mappings built from model records."""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from crmcms.dsl.rules.data import RULE_DATA, DataField, DataObject, Via, leaves
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
    :data:`~crmcms.dsl.rules.data.RULE_DATA` describes it: its sources in one call
    (:attr:`fields`), then the part from them (:meth:`builder`)."""

    def __init__(self, name: str) -> None:
        self.object = _OBJECTS[name]
        self.sources = [leaf.field.source for leaf in leaves(self.object) if leaf.field.source]
        getter = _op.attrgetter(*self.sources)
        self.fields: Callable[[Any], tuple[Any, ...]] = (
            getter if len(self.sources) > 1 else lambda record: (getter(record),)
        )
        vias = {f.via for f in _fields_of(self.object)}
        # An appeal's topic names and priority ranks need a catalog: AppealData's own builder.
        self.data = self.builder(_PLAIN) if vias <= {Via.AS_IS, *_PLAIN} else None

    def builder(
        self, convert: Mapping[Via, Callable[[Any], Any]]
    ) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
        """The function from :attr:`fields`' tuple to the part, with ``convert``'s functions
        for the values not read as they are. It is generated: one dict display, as one
        would write it by hand, since every action that evaluates a rule makes a part."""
        names: dict[str, Any] = {}
        index = iter(range(len(self.sources)))

        def display(obj: DataObject) -> str:
            items = []
            for f in obj.fields:
                if isinstance(f, DataObject):
                    value = display(f)
                elif not f.source:
                    value = "None"
                else:
                    value = f"f[{next(index)}]"
                    via = f.via if isinstance(f, DataField) else Via.AS_IS
                    if via is not Via.AS_IS:
                        names[f"c_{via.name}"] = convert[via]
                        value = f"c_{via.name}({value})"
                items.append(f"{f.name!r}: {value}")
            return "{" + ", ".join(items) + "}"

        source = f"def part(f):\n    return {display(self.object)}\n"
        exec(compile(source, f"<rule data: {self.object.name}>", "exec"), names)
        built: Callable[[tuple[Any, ...]], dict[str, Any]] = names["part"]
        return built

    def __call__(self, record: Any) -> dict[str, Any]:
        assert self.data is not None
        return self.data(self.fields(record))


def _fields_of(obj: DataObject) -> Iterator[DataField]:
    for f in obj.fields:
        if isinstance(f, DataObject):
            yield from _fields_of(f)
        elif isinstance(f, DataField):
            yield f


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
        self._build = _read_appeal.builder(
            {**_PLAIN, Via.TOPIC_NAME: self._topic_name, Via.RANK: self._rank}
        )

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
        return self._build(fields)


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
