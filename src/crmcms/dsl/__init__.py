"""The rule and definition languages: grammar, parser, checker, compilers, formatter."""

from crmcms.dsl.definitions.checks import catalog_schema
from crmcms.dsl.definitions.formatter import format_source
from crmcms.dsl.definitions.loader import (
    DEFINITION_SUFFIX,
    check_paths,
    check_sources,
    load_catalog,
    load_catalog_text,
)
from crmcms.dsl.definitions.parser import parse_definitions
from crmcms.dsl.definitions.printer import dump_catalog
from crmcms.dsl.definitions.route_graph import render_dot, route_dot, route_mermaid
from crmcms.dsl.rules.builtins import builtin_schema
from crmcms.dsl.rules.compiled_rule import CompiledRule, check_rule, compile_rule
from crmcms.dsl.rules.explain import Explanation, format_rule_literal
from crmcms.dsl.rules.functions import BUILTIN_FUNCTIONS, RuleFunction, rule_clock
from crmcms.dsl.rules.parser import AstBuilder, parse_rule
from crmcms.dsl.rules.schema import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    EMPTY,
    INTEGER,
    STRING,
    RuleType,
    Schema,
    SchemaBuilder,
    list_of,
    type_named,
)
from crmcms.dsl.rules.titles import rule_title

__all__ = [
    "ANY",
    "BOOLEAN",
    "BUILTIN_FUNCTIONS",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "DEFINITION_SUFFIX",
    "DURATION",
    "EMPTY",
    "INTEGER",
    "STRING",
    "AstBuilder",
    "CompiledRule",
    "Explanation",
    "RuleFunction",
    "RuleType",
    "Schema",
    "SchemaBuilder",
    "builtin_schema",
    "catalog_schema",
    "check_paths",
    "check_rule",
    "check_sources",
    "compile_rule",
    "dump_catalog",
    "format_rule_literal",
    "format_source",
    "list_of",
    "load_catalog",
    "load_catalog_text",
    "parse_definitions",
    "parse_rule",
    "render_dot",
    "route_dot",
    "route_mermaid",
    "rule_clock",
    "rule_title",
    "type_named",
]
