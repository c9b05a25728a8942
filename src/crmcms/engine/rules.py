"""Compiled rules, flag conditions and value expressions of one catalog, compiled once each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmcms.dsl import CompiledRule, build_schema, catalog_schema, compile_rule
from crmcms.dsl.checker import Checker
from crmcms.dsl.compile_python import compile_function, generate
from crmcms.dsl.parser import parse_rule
from crmcms.dsl.schema import Schema
from crmcms.errors import DefinitionError, DslError
from crmcms.model import Catalog

__all__ = ["RuleBook", "engine_schema"]

Expression = Callable[[Mapping[str, Any]], Any]


def engine_schema(plugin_manager: Any = None, catalog: Catalog | None = None) -> Schema:
    """What the engine's rules may see: the plugins' schema, with ``catalog``'s attributes typed.

    The same schema the definition checks use, so a rule that passed ``crmcms check`` means
    the same thing when the engine runs it.
    """
    schema = build_schema(plugin_manager)
    return schema if catalog is None else catalog_schema(catalog, base=schema)


class RuleBook:
    """Every rule text of a catalog, compiled on first use and kept: never once per call."""

    def __init__(self, catalog: Catalog, schema: Schema) -> None:
        self.catalog = catalog
        self.schema = schema
        self._by_code: dict[str, CompiledRule] = {}
        self._by_text: dict[str, CompiledRule] = {}
        self._expressions: dict[str, Expression] = {}

    def rule(self, code: str) -> CompiledRule:
        """The catalog's rule ``code``, compiled."""
        found = self._by_code.get(code)
        if found is None:
            definition = self.catalog.rule(code)
            found = compile_rule(definition.expression, schema=self.schema, file=f"rule {code}")
            self._by_code[code] = found
        return found

    def condition(self, text: str) -> CompiledRule:
        """A condition written in place (a flag's ``condition``), compiled."""
        found = self._by_text.get(text)
        if found is None:
            found = self._by_text[text] = compile_rule(text, schema=self.schema, file="<condition>")
        return found

    def expression(self, text: str) -> Expression:
        """A value expression (a computed default, a handler argument), compiled."""
        found = self._expressions.get(text)
        if found is None:
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
