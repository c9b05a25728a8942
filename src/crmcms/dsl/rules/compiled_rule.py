"""The rule facade: text in, a checked and compiled :class:`CompiledRule` out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.builtins import builtin_schema
from crmcms.dsl.rules.checker import Checker
from crmcms.dsl.rules.compile_python import compile_function, evaluator, generate
from crmcms.dsl.rules.explain import Explanation, explain
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import DefinitionError, DslError

__all__ = ["CompiledRule", "check_rule", "compile_rule"]


def check_rule(text: str, *, schema: Schema | None = None, file: str = "<rule>") -> ast.Node:
    """Parse and type-check rule text; raises :class:`DefinitionError` with every problem."""
    try:
        tree = parse_rule(text, file=file)
    except DslError as err:
        raise DefinitionError([err]) from None
    checker = Checker(schema if schema is not None else builtin_schema(), source=text)
    typed = checker.check_rule(tree)
    if checker.problems:
        raise DefinitionError(checker.problems)
    return typed


@attrs.frozen
class CompiledRule:
    """A checked rule, compiled once to a plain Python function.

    Call it (or :meth:`evaluate`) with a data mapping keyed by canonical English names:
    ``{"Client": {"Category": "BIS"}, "Appeal": {"Attribute": {"168": date(...)}}}``.
    """

    text: str
    tree: ast.Node = attrs.field(repr=False)
    schema: Schema = attrs.field(repr=False)
    python_source: str = attrs.field(repr=False)
    evaluate: Callable[[Mapping[str, Any]], bool] = attrs.field(repr=False, eq=False)
    """True or false for one record; a missing value reads as empty.

    Stored on the instance (no method binding): the generated function behind a guard that
    turns missing keys into empty values.
    """

    def __call__(self, data: Mapping[str, Any]) -> bool:
        return self.evaluate(data)

    def explain(self, data: Mapping[str, Any]) -> Explanation:
        """Every sub-expression's value for ``data``: why the rule is true or false."""
        return explain(self.tree, data, source=self.text)

    @property
    def paths(self) -> tuple[str, ...]:
        """The canonical paths the rule reads, in order of first use."""
        seen: dict[str, None] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Path):
                seen.setdefault(node.canonical)
        return tuple(seen)


def compile_rule(text: str, *, schema: Schema | None = None, file: str = "<rule>") -> CompiledRule:
    """Parse, check and compile rule text; raises :class:`DefinitionError` with every problem.

    ``schema`` defaults to the built-in one (:func:`~crmcms.dsl.rules.builtins.builtin_schema`);
    a rule that reads what plugins add needs theirs (:func:`crmcms.plugins.rule_schema`).
    """
    schema = schema if schema is not None else builtin_schema()
    typed = check_rule(text, schema=schema, file=file)
    generated = generate(typed, text=text)
    function = evaluator(compile_function(generated), generated.paths, text)
    return CompiledRule(text, typed, schema, generated.source, function)
