"""Built-in behaviour, registered as an ordinary plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from crmcms.plugins import hookimpl

if TYPE_CHECKING:
    from crmcms.dsl.rules.functions import RuleFunction
    from crmcms.dsl.rules.schema import SchemaBuilder


@hookimpl
def crmcms_rule_functions() -> Sequence[RuleFunction]:
    from crmcms.dsl.rules.functions import BUILTIN_FUNCTIONS

    return BUILTIN_FUNCTIONS


@hookimpl(tryfirst=True)  # the built-in objects must exist before plugins extend them
def crmcms_rule_schema(schema: SchemaBuilder) -> None:
    from crmcms.dsl.rules.builtins import add_builtin_objects

    add_builtin_objects(schema)
