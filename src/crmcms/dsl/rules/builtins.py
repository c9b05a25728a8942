"""The built-in schema: the objects and functions every rule may use, with no plugins."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from crmcms.dsl.rules.data import RULE_DATA, DataAttributes, DataObject
from crmcms.dsl.rules.functions import BUILTIN_FUNCTIONS
from crmcms.dsl.rules.schema import ObjectBuilder, RuleType, Schema, SchemaBuilder

__all__ = ["add_builtin_objects", "builtin_schema"]


def add_builtin_objects(schema: SchemaBuilder) -> None:
    """The runtime records rules see (:data:`~crmcms.dsl.rules.data.RULE_DATA`), with their
    English and Russian names."""
    for obj in RULE_DATA:
        _add(schema.object(obj.name, aliases=[obj.alias], doc=obj.doc), obj)


def _add(builder: ObjectBuilder, obj: DataObject) -> None:
    for f in obj.fields:
        if isinstance(f, DataObject):
            _add(builder.object(f.name, aliases=[f.alias], doc=f.doc), f)
        elif isinstance(f, DataAttributes):
            builder.attributes(f.name, aliases=[f.alias], doc=f.doc)
        else:
            builder.field(f.name, f.type, aliases=[f.alias], doc=f.doc)


def builtin_schema(
    *,
    attributes: Mapping[str, RuleType] | None = None,
    configure: Callable[[SchemaBuilder], None] | None = None,
) -> Schema:
    """The built-in objects and functions, and nothing a plugin adds.

    ``attributes`` declares topic attribute types by code (``{"168": DATE}``), after which
    unknown codes are errors; ``configure`` may add anything else before the schema freezes.
    What plugins add is assembled by the composition layer: see
    :func:`crmcms.plugins.rule_schema`.
    """
    if not attributes and configure is None:
        return _plain()
    builder = _builder().declare_attributes(attributes or {})
    if configure is not None:
        configure(builder)
    return builder.build_schema()


def _builder() -> SchemaBuilder:
    builder = SchemaBuilder()
    add_builtin_objects(builder)
    for fn in BUILTIN_FUNCTIONS:
        builder.function(fn)
    return builder


# Pure and the same every time: made once rather than once per rule compiled without a schema.
@functools.cache
def _plain() -> Schema:
    return _builder().build_schema()
