"""The rule and definition languages: grammar, parser, checker, compilers, formatter."""

from crmcms.dsl.compile_sql import SqlBinding, TableBinding
from crmcms.dsl.explain import Explanation, format_value
from crmcms.dsl.functions import BUILTIN_FUNCTIONS, RuleFunction
from crmcms.dsl.parser import AstBuilder, parse_rule
from crmcms.dsl.rule import CompiledRule, check_rule, compile_rule
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
    build_schema,
    default_schema,
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
    "SqlBinding",
    "TableBinding",
    "build_schema",
    "check_rule",
    "compile_rule",
    "default_schema",
    "format_value",
    "list_of",
    "parse_rule",
    "type_named",
]
