"""The rule and definition languages: grammar, parser, checker, compilers, formatter."""

from crmcms.dsl.builtins import builtin_schema
from crmcms.dsl.definition_checks import catalog_schema
from crmcms.dsl.definitions_parser import parse_definitions
from crmcms.dsl.explain import Explanation, format_value
from crmcms.dsl.formatter import format_source
from crmcms.dsl.functions import BUILTIN_FUNCTIONS, RuleFunction, rule_clock
from crmcms.dsl.graph import render_dot, route_dot, route_mermaid
from crmcms.dsl.loader import (
    DEFINITION_SUFFIX,
    check_paths,
    check_sources,
    load_catalog,
    load_catalog_text,
)
from crmcms.dsl.parser import AstBuilder, parse_rule
from crmcms.dsl.printer import dump_catalog
from crmcms.dsl.rule import CompiledRule, check_rule, compile_rule
from crmcms.dsl.rule_titles import rule_title
from crmcms.dsl.schema import (
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
    "format_source",
    "format_value",
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
