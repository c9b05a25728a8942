"""Compiled rules, flag conditions and value expressions of one catalog, compiled once each."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pluggy

from crmcms.dsl import CompiledRule, catalog_schema, compile_rule
from crmcms.dsl.rules.checker import Checker
from crmcms.dsl.rules.compile_python import compile_function, generate
from crmcms.dsl.rules.functions import CLOCK_FUNCTIONS
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import DefinitionError, DslError
from crmcms.model import Catalog
from crmcms.plugins import rule_schema

__all__ = ["RuleBook", "engine_schema", "may_read_clock"]

Expression = Callable[[Mapping[str, Any]], Any]


def engine_schema(plugin_manager: pluggy.PluginManager, catalog: Catalog | None = None) -> Schema:
    """What the engine's rules may see: the plugins' schema, with ``catalog``'s attributes typed.

    The same schema ``crmcms check`` uses with these plugins, so a rule that passed it means
    the same thing when the engine runs it.
    """
    schema = rule_schema(plugin_manager)
    return schema if catalog is None else catalog_schema(catalog, base=schema)


_CLOCK_CALL = re.compile(
    r"(?<![\w.])(?:" + "|".join(sorted(CLOCK_FUNCTIONS)) + r")\s*\(", re.IGNORECASE
)


def _strings(node: object) -> Iterator[str]:
    """Every string held anywhere in ``node``: attrs records, mappings and sequences."""
    if isinstance(node, str):
        yield node
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):  # type: ignore[arg-type]
            yield from _strings(getattr(node, field.name))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, tuple | list | frozenset | set):
        for item in node:
            yield from _strings(item)


def may_read_clock(catalog: Catalog) -> bool:
    """Whether any rule text of ``catalog`` may call ``now()`` or ``today()``.

    Every string of the catalog is looked at, so a name or description that merely looks
    like such a call answers yes: a cautious answer costs a little time, a wrong "no" would
    let a rule read the wall clock instead of the action's.
    """
    return any(_CLOCK_CALL.search(text) for text in _strings(catalog))


class RuleBook:
    """Every rule text of a catalog, compiled on first use and kept: never once per call."""

    def __init__(self, catalog: Catalog, schema: Schema) -> None:
        self.catalog = catalog
        self.schema = schema
        self.reads_clock = may_read_clock(catalog)
        """Whether some rule may call ``now()`` or ``today()``: the engine sets the rule
        clock to the action's time only then. Every text compiled comes from the catalog,
        which was looked at whole; one that did not would still turn this on."""
        self._by_code: dict[str, CompiledRule] = {}
        self._by_text: dict[str, CompiledRule] = {}
        self._expressions: dict[str, Expression] = {}

    def rule(self, code: str) -> CompiledRule:
        """The catalog's rule ``code``, compiled."""
        found = self._by_code.get(code)
        if found is None:
            definition = self.catalog.rule(code)
            self._note_clock(definition.expression)
            found = compile_rule(definition.expression, schema=self.schema, file=f"rule {code}")
            self._by_code[code] = found
        return found

    def condition(self, text: str) -> CompiledRule:
        """A condition written in place (a flag's ``condition``), compiled."""
        found = self._by_text.get(text)
        if found is None:
            self._note_clock(text)
            found = self._by_text[text] = compile_rule(text, schema=self.schema, file="<condition>")
        return found

    def expression(self, text: str) -> Expression:
        """A value expression (a computed default, a handler argument), compiled."""
        found = self._expressions.get(text)
        if found is None:
            self._note_clock(text)
            try:
                tree = parse_rule(text, file="<expression>")
            except DslError as err:
                raise DefinitionError([err]) from None
            checker = Checker(self.schema, source=text)
            typed = checker.check(tree)
            if checker.problems:
                raise DefinitionError(checker.problems)
            found = compile_function(generate(typed, text=text))
            self._expressions[text] = found
        return found

    def _note_clock(self, text: str) -> None:
        if not self.reads_clock and _CLOCK_CALL.search(text):
            self.reads_clock = True

    def compile_all(self) -> None:
        """Compile every rule the catalog's routes and queues name, so mistakes show at start."""
        problems: list[DslError] = []
        codes = {t.rule for r in self.catalog.routes for t in r.transitions if t.rule}
        codes |= {q.rule for q in self.catalog.queues if q.rule}
        for code in sorted(codes):
            try:
                self.rule(code)
            except DefinitionError as err:
                problems += err.problems
        if problems:
            raise DefinitionError(problems)
