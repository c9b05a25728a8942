"""Named rules a condition may use by code (`not ONLY_BIS`): their trees and their texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.parser import parse_rule
from crmcms.dsl.rules.titles import is_condition_rule
from crmcms.errors import DslError
from crmcms.model import Rule

__all__ = ["NamedRule", "named_rules"]


@attrs.frozen
class NamedRule:
    """A rule other conditions may name: its (unchecked) tree, and the text its spans are in
    (the whole definition file it was written in, or the rule's own text)."""

    code: str
    tree: ast.Node = attrs.field(repr=False)
    source: str = attrs.field(repr=False)


def named_rules(rules: Iterable[Rule]) -> Mapping[str, NamedRule]:
    """The named rules among ``rules``, parsed; one that does not parse is left out (using it
    is then an unknown name, and the rule itself reports its syntax error)."""
    found: dict[str, NamedRule] = {}
    for rule in rules:
        if is_condition_rule(rule.code):
            continue
        try:
            tree = parse_rule(rule.expression, file=f"rule {rule.code}")
        except DslError:
            continue
        found[rule.code] = NamedRule(rule.code, tree, rule.expression)
    return found
