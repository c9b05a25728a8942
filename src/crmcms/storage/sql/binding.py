"""Where rule paths live in the appeal tables, and the expression indexes on attributes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from crmcms.dsl import ANY, BOOLEAN, DATE, DECIMAL, INTEGER, STRING, RuleType, type_named
from crmcms.dsl.rules.data import RULE_DATA, DataAttributes, leaves
from crmcms.errors import ConfigurationError
from crmcms.model import Catalog
from crmcms.storage.schema import appeal, client, contact

__all__ = [
    "ATTRIBUTE_INDEX_PREFIX",
    "AppealBinding",
    "attribute_expression",
    "attribute_index",
    "attribute_types",
    "drop_attribute_indexes",
    "index_attributes",
    "indexed_attributes",
]

# Attribute codes are written into SQL text as string literals so that a filter's expression
# is character for character the one of the index. Only codes of this shape are; any other
# code is passed as a bound parameter: filtered correctly, but without an index.
_SAFE_CODE = re.compile(r"^[\w.\- ]{1,100}$")


def _literal(code: str) -> ColumnElement[Any]:
    return sa.literal_column("'" + code + "'")


def attribute_expression(
    table: sa.Table, code: str, type_: RuleType, dialect: str
) -> ColumnElement[Any]:
    """The SQL expression for attribute ``code`` of ``type_`` of a row of ``table``."""
    values = table.c.attribute_values
    safe = bool(_SAFE_CODE.match(code))
    if dialect == "postgresql":
        key: ColumnElement[Any] = _literal(code) if safe else sa.literal(code)
        if type_ in (DECIMAL, INTEGER):
            text = values.op("->")(key).op("->>")(sa.literal_column("'decimal'"))
            return sa.cast(text, sa.Numeric(asdecimal=True))
        if type_ is DATE:
            # text::date depends on DateStyle, so it may not be indexed; make_date may.
            iso = values.op("->")(key).op("->>")(sa.literal_column("'date'"))
            part = [
                sa.cast(
                    sa.func.substr(iso, sa.literal_column(start), sa.literal_column(length)),
                    sa.Integer,
                )
                for start, length in (("1", "4"), ("6", "2"), ("9", "2"))
            ]
            return sa.func.make_date(*part, type_=sa.Date)
        text = values.op("->>", return_type=sa.String)(key)
        if type_ is BOOLEAN:
            return sa.cast(text, sa.Boolean)
        return text
    suffix = {DECIMAL: ".decimal", INTEGER: ".decimal", DATE: ".date"}.get(type_, "")
    if safe and '"' not in code:
        path: ColumnElement[Any] = sa.literal_column(f"'$.\"{code}\"{suffix}'")
    else:
        path = sa.literal('$."' + code.replace('"', '""') + '"' + suffix)
    if type_ in (DECIMAL, INTEGER):
        return sa.cast(sa.func.json_extract(values, path), sa.Numeric(asdecimal=True))
    sql_type: sa.types.TypeEngine[Any] = sa.String()
    if type_ is DATE:
        sql_type = sa.Date()
    elif type_ is BOOLEAN:
        sql_type = sa.Boolean()
    return sa.func.json_extract(values, path, type_=sql_type)


def attribute_types(catalog: Catalog) -> dict[str, RuleType]:
    """Rule types of every attribute of the catalog by code (lists for multiple choice)."""
    found: dict[str, RuleType] = {}
    owners: Iterable[Any] = (*catalog.topic_groups, *catalog.topics)
    for owner in owners:
        for definition in owner.attributes:
            type_ = type_named(definition.value_type.value)
            if definition.multiple:
                type_ = type_named(f"list of {definition.value_type.value}")
            # One code with two types in two topics cannot be typed by code alone.
            found[definition.code] = type_ if found.get(definition.code, type_) == type_ else ANY
    return found


def indexed_attributes(catalog: Catalog, extra: Iterable[str] = ()) -> dict[str, RuleType]:
    """The attributes whose filters get an expression index, code -> type.

    Those the catalog shows as list columns (``column`` in a definition file), which are what
    operators sort and filter lists by, and the codes in ``extra``. Multiple-choice attributes
    and codes typed differently in two topics have no single expression and are left out.
    """
    types = attribute_types(catalog)
    owners: Iterable[Any] = (*catalog.topic_groups, *catalog.topics)
    chosen = {d.code for owner in owners for d in owner.attributes if d.show_in_column}
    for code in extra:
        if code not in types:
            raise ConfigurationError(f"no topic or topic group has an attribute {code!r}")
        chosen.add(code)
    return {
        code: types[code]
        for code in sorted(chosen)
        if not types[code].is_list and types[code] is not ANY and _SAFE_CODE.match(code)
    }


class AppealBinding:
    """A :class:`~crmcms.storage.sql.SqlBinding` over ``crm_appeal`` (or its archive).

    Its columns are those :data:`~crmcms.dsl.rules.data.RULE_DATA` names: ``Appeal.*`` of the
    appeal table, ``Client.*`` and ``Contact.*`` of the client and contact tables, which a
    query using them joins (see :meth:`joins`).
    """

    def __init__(self, dialect: str, table: sa.Table = appeal) -> None:
        self.dialect = dialect
        self.table = table
        tables = {"appeal": table, "client": client, "contact": contact}
        self.columns: dict[str, ColumnElement[Any]] = {}
        self._tables: dict[str, str] = {}
        for obj in RULE_DATA:
            for leaf in leaves(obj):
                f = leaf.field
                if not f.column or isinstance(f, DataAttributes):
                    continue
                column: ColumnElement[Any] = tables[leaf.table].c[f.column]
                if f.type is STRING and not isinstance(column.type, sa.String):
                    column = sa.cast(column, sa.String)  # ids: rules compare them as text
                self.columns[leaf.dotted] = column
                self._tables[leaf.dotted] = leaf.table
        # Where topic attributes are read from; their values are the JSON document of the
        # appeal table, which attribute_expression reads.
        self._attributes = {
            leaf.path
            for obj in RULE_DATA
            for leaf in leaves(obj)
            if isinstance(leaf.field, DataAttributes) and leaf.field.column
        }

    def column(self, path: tuple[str, ...]) -> ColumnElement[Any] | None:
        return self.columns.get(".".join(path))

    def attribute(
        self, owner: tuple[str, ...], code: str, type_: RuleType
    ) -> ColumnElement[Any] | None:
        if owner not in self._attributes:
            return None
        return attribute_expression(self.table, code, type_, self.dialect)

    def joins(self, paths: Iterable[str]) -> sa.FromClause:
        """The appeal table, outer-joined to what ``paths`` (canonical rule paths) read."""
        source: sa.FromClause = self.table
        used = {self._tables.get(p) for p in paths}
        if "client" in used:
            source = source.outerjoin(client, client.c.id == self.table.c.client_id)
        if "contact" in used:
            source = source.outerjoin(contact, contact.c.id == self.table.c.contact_id)
        return source


_SHADOWS: dict[str, sa.MetaData] = {}


def attribute_index(code: str, type_: RuleType, dialect: str, table: sa.Table = appeal) -> sa.Index:
    """The expression index a filter on attribute ``code`` of ``type_`` uses.

    It is built on a copy of the table, so the declared schema (and what migrations are
    compared with) never gains indexes that exist only where an administrator made them.
    """
    copies = _SHADOWS.setdefault(dialect, sa.MetaData())
    shadow = copies.tables.get(table.name)
    if shadow is None:
        shadow = table.to_metadata(copies)
    digest = hashlib.sha1(f"{code}:{type_}".encode()).hexdigest()[:10]
    name = f"ix_{table.name}_attr_{digest}"
    for index in shadow.indexes:
        if index.name == name:
            return index
    expression = attribute_expression(shadow, code, type_, dialect)
    return sa.Index(name, expression, _table=shadow)


def _index_names(engine: sa.Engine, table: str) -> set[str]:
    # Reflection skips expression indexes on SQLite, so ask the catalogs directly.
    if engine.dialect.name == "postgresql":
        query = sa.text(
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = :t AND schemaname = current_schema()"
        )
    else:
        query = sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    with engine.connect() as conn:
        return {str(name) for (name,) in conn.execute(query, {"t": table})}


def index_attributes(
    engine: sa.Engine, attributes: Mapping[str, RuleType], *, concurrently: bool = False
) -> list[str]:
    """Create the expression indexes for ``attributes`` (code -> type) that do not exist yet.

    Lists are not indexed (rules do not filter on them in SQL). ``concurrently`` builds
    them on PostgreSQL without blocking writes. Returns the names of the indexes created.
    """
    dialect = engine.dialect.name
    wanted = [
        attribute_index(code, type_, dialect)
        for code, type_ in attributes.items()
        if not type_.is_list and type_ is not ANY and _SAFE_CODE.match(code)
    ]
    existing = _index_names(engine, appeal.name)
    created = []
    for index in wanted:
        if index.name in existing:
            continue
        if concurrently and dialect == "postgresql":
            index.dialect_options["postgresql"]["concurrently"] = True
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                index.create(conn)
        else:
            with engine.begin() as conn:
                index.create(conn)
        created.append(str(index.name))
    if created:
        # Expression indexes carry their own statistics; without them the planner guesses.
        with engine.begin() as conn:
            conn.execute(sa.text(f"ANALYZE {appeal.name}"))
    return created


ATTRIBUTE_INDEX_PREFIX = f"ix_{appeal.name}_attr_"
"""How the names of attribute indexes begin (see :func:`attribute_index`): what
:func:`drop_attribute_indexes` may drop, and nothing else."""


def drop_attribute_indexes(
    engine: sa.Engine, keep: Mapping[str, RuleType], *, concurrently: bool = False
) -> list[str]:
    """Drop the attribute expression indexes made for attributes not in ``keep`` (code ->
    type): those of attributes no longer shown as columns, or whose type changed. Indexes
    this module did not make are never touched. Returns the names of the indexes dropped."""
    dialect = engine.dialect.name
    kept = {str(attribute_index(code, type_, dialect).name) for code, type_ in keep.items()}
    stale = sorted(
        name
        for name in _index_names(engine, appeal.name)
        if name.startswith(ATTRIBUTE_INDEX_PREFIX) and name not in kept
    )
    quote = engine.dialect.identifier_preparer.quote
    for name in stale:
        if concurrently and dialect == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}"))
        else:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP INDEX IF EXISTS {quote(name)}"))
    return stale
