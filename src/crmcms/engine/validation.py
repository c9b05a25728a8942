"""Attribute values: normalising, defaults, and every check a value must pass, all at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from crmcms.engine.policy import is_empty
from crmcms.engine.rules import RuleBook
from crmcms.errors import Problem
from crmcms.model import AttributeDef, Catalog, DictionaryKind
from crmcms.model.values import AttributeValue, ValueType

__all__ = ["ExternalItems", "ValueChecker", "normalise"]

ExternalItems = Callable[[str, Mapping[str, Any]], Sequence[tuple[str, str]] | None]
"""Items of an external or query dictionary by code, or ``None`` when nobody provides them."""


def normalise(value: object) -> object:
    """Lists become tuples; empty values become ``None`` (they are never stored)."""
    if isinstance(value, list):
        value = tuple(value)
    return None if is_empty(value) else value


def _coerce(definition: AttributeDef, value: Any) -> Any:
    # A computed default is a rule value: integers, date-times and single values for
    # multiple choice are fitted to the attribute rather than refused.
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if definition.value_type is ValueType.DATE and isinstance(value, datetime):
        value = value.date()
    if definition.multiple and not isinstance(value, tuple | list):
        value = (value,)
    return normalise(value)


class ValueChecker:
    """Validates values of a topic's attributes: type, multiple choice, mask, regular
    expression and dictionary membership, external dictionaries through a plugin."""

    def __init__(self, catalog: Catalog, rules: RuleBook, external: ExternalItems) -> None:
        self.catalog = catalog
        self.rules = rules
        self.external = external
        self._definitions: dict[str, dict[str, AttributeDef]] = {}

    def definitions(self, topic: str) -> dict[str, AttributeDef]:
        """The topic's attributes by code (worked out once per topic: definitions are fixed;
        callers only read the dict)."""
        found = self._definitions.get(topic)
        if found is None:
            found = {e.code: e.definition for e in self.catalog.effective_attributes(topic)}
            self._definitions[topic] = found
        return found

    def defaults(
        self, topic: str, given: Mapping[str, object], data: Mapping[str, Any]
    ) -> dict[str, AttributeValue]:
        """Fixed and computed defaults of active attributes the caller did not mention."""
        out: dict[str, AttributeValue] = {}
        for code, d in self.definitions(topic).items():
            if code in given or not d.active:
                continue
            if d.default is not None:
                value = d.default_value()
            elif d.computed_default is not None:
                value = _coerce(d, self.rules.expression(d.computed_default)(data))
            else:
                continue
            if value is not None:
                out[code] = value
        return out

    def check(
        self,
        topic: str,
        values: Mapping[str, object],
        current: Mapping[str, object] | None = None,
    ) -> list[Problem]:
        """Every problem with the non-empty ``values`` (emptiness is the policy's business).

        A query dictionary's query gets its parameters by name: ``topic`` is the topic's
        code, any other name the value of that attribute, as in ``values`` or else as in
        ``current`` (the appeal's values so far); an attribute without one is NULL.
        """
        definitions = self.definitions(topic)
        problems: list[Problem] = []
        external: dict[str, frozenset[str] | None] = {}
        for code, value in values.items():
            d = definitions.get(code)
            if d is None:
                problems.append(Problem(code, f"topic {topic} has no such attribute"))
                continue
            if value is None:
                continue
            dictionary = None
            if d.dictionary is not None:
                dictionary = self.catalog.dictionary(d.dictionary)
            found = d.validate(value, dictionary=dictionary, required=False)
            problems += found
            if found or dictionary is None:
                continue
            if dictionary.kind in (DictionaryKind.EXTERNAL, DictionaryKind.QUERY):
                if dictionary.code not in external:
                    params: dict[str, object] = {}
                    if dictionary.kind is DictionaryKind.QUERY:
                        merged = {**(current or {}), **values, "topic": topic}
                        params = {name: merged.get(name) for name in dictionary.parameters}
                    items = self.external(dictionary.code, params)
                    external[dictionary.code] = (
                        None if items is None else frozenset(c for c, _ in items)
                    )
                known = external[dictionary.code]
                if known is None:
                    kind = dictionary.kind
                    who = "plugin" if kind is DictionaryKind.EXTERNAL else "plugin or query runner"
                    problems.append(
                        Problem(code, f"no {who} provides the items of dictionary {d.dictionary}")
                    )
                    continue
                scalars = value if isinstance(value, tuple) else (value,)
                problems += [
                    Problem(code, f"{v!r} is not an item of {dictionary.code}")
                    for v in scalars
                    if v not in known
                ]
        return problems
