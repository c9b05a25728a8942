"""Checked rules as SQLAlchemy boolean expressions, over the columns a binding supplies.

The rule language knows nothing of SQL: what a rule reads is mapped to columns here, and so
is what the built-in functions become in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.compile_python import compile_function, generate, may_be_empty
from crmcms.dsl.rules.compiled_rule import CompiledRule
from crmcms.dsl.rules.functions import BUILTIN_FUNCTIONS, RuleFunction, rule_now, rule_today
from crmcms.dsl.rules.schema import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    STRING,
    RuleType,
)
from crmcms.errors import SqlTranslationError

__all__ = [
    "SqlBinding",
    "TableBinding",
    "date_of",
    "function_sql",
    "like_to_glob",
    "rule_to_sql",
    "sql_type",
    "to_sql",
]


@runtime_checkable
class SqlBinding(Protocol):
    """Where the values a rule reads live in the database.

    ``column(("Client", "Category"))`` returns the column (or any SQL expression) holding
    that value for the row being filtered; ``attribute(("Appeal", "Attribute"), "168", DATE)``
    returns the expression for a topic attribute, typically a correlated scalar subquery.
    ``type_`` is the attribute's type, or for an attribute of unknown type, the type of what
    it is compared with (``ANY`` if nothing tells). Return ``None`` for what is not stored:
    the rule then cannot become SQL, and says which path is missing.
    """

    def column(self, path: tuple[str, ...]) -> ColumnElement[Any] | None: ...

    def attribute(
        self, owner: tuple[str, ...], code: str, type_: RuleType
    ) -> ColumnElement[Any] | None: ...


AttributeResolver = Callable[[str, RuleType], "ColumnElement[Any] | None"]


@attrs.frozen
class TableBinding:
    """A binding from a dict of dotted paths to columns, plus a function for attributes.

    ``TableBinding({"Client.Category": clients.c.category}, attributes=lookup)``
    """

    columns: Mapping[str, ColumnElement[Any]]
    attributes: AttributeResolver | None = None

    def column(self, path: tuple[str, ...]) -> ColumnElement[Any] | None:
        return self.columns.get(".".join(path))

    def attribute(
        self, owner: tuple[str, ...], code: str, type_: RuleType
    ) -> ColumnElement[Any] | None:
        return self.attributes(code, type_) if self.attributes is not None else None


_SQL_TYPES: dict[RuleType, Callable[[], sa.types.TypeEngine[Any]]] = {
    STRING: sa.String,
    INTEGER: sa.Integer,
    DECIMAL: lambda: sa.Numeric(asdecimal=True),
    BOOLEAN: sa.Boolean,
    DATE: sa.Date,
    DATETIME: lambda: sa.DateTime(timezone=True),
    DURATION: sa.Interval,
}


def sql_type(type_: RuleType) -> sa.types.TypeEngine[Any] | None:
    """The SQLAlchemy type for values of ``type_`` (``None`` for ``ANY`` and lists)."""
    make = _SQL_TYPES.get(type_)
    return make() if make is not None else None


# --- Dialect-specific constructs -----------------------------------------------------------


def like_to_glob(pattern: str) -> str:
    """A ``like`` pattern as an SQLite GLOB pattern (GLOB is case-sensitive, as ``like`` is)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            ch = pattern[i + 1]
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            i += 2
            continue
        out.append("*" if ch == "%" else "?" if ch == "_" else f"[{ch}]" if ch in "*?[" else ch)
        i += 1
    return "".join(out)


class _CaseSensitiveLike(FunctionElement[bool]):
    type = sa.Boolean()
    name = "crmcms_like"
    inherit_cache = True


@compiles(_CaseSensitiveLike)
def _like_default(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    value, pattern, _ = element.clauses.clauses
    return f"({compiler.process(value, **kw)} LIKE {compiler.process(pattern, **kw)})"


@compiles(_CaseSensitiveLike, "sqlite")
def _like_sqlite(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's LIKE ignores ASCII case; GLOB does not.
    value, _, glob = element.clauses.clauses
    return f"({compiler.process(value, **kw)} GLOB {compiler.process(glob, **kw)})"


class _DateOf(FunctionElement[Any]):
    type = sa.Date()
    name = "crmcms_date"
    inherit_cache = True


@compiles(_DateOf)
def _date_default(element: _DateOf, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return f"CAST(({compiler.process(value, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(_DateOf, "sqlite")
def _date_sqlite(element: _DateOf, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses.clauses
    return f"date({compiler.process(value, **kw)})"


def date_of(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC date of a date-time expression."""
    return _DateOf(value)


# --- Functions -----------------------------------------------------------------------------


def _sql_func(name: str) -> Callable[..., ColumnElement[Any]]:
    def build(*args: ColumnElement[Any]) -> ColumnElement[Any]:
        return getattr(sa.func, name)(*args)  # type: ignore[no-any-return]

    build.__name__ = f"sql_{name}"
    return build


_BUILTIN_SQL: dict[str, Callable[..., ColumnElement[Any]]] = {
    "now": lambda: sa.literal(rule_now(), sa.DateTime(timezone=True)),
    "today": lambda: sa.literal(rule_today(), sa.Date()),
    "len": _sql_func("length"),
    "lower": _sql_func("lower"),
    "upper": _sql_func("upper"),
    "trim": _sql_func("trim"),
    "abs": _sql_func("abs"),
    "date": date_of,
    "coalesce": _sql_func("coalesce"),
}
# Keyed by the function itself, not its name: a plugin's own function called "len" is not
# the built-in one, and has SQL only if it brings its own.
_BUILTINS: dict[RuleFunction, Callable[..., ColumnElement[Any]]] = {
    fn: _BUILTIN_SQL[fn.name] for fn in BUILTIN_FUNCTIONS if fn.name in _BUILTIN_SQL
}


def function_sql(fn: RuleFunction) -> Callable[..., Any] | None:
    """What builds ``fn``'s SQL from its arguments' expressions: the function's own ``sql``,
    or for a built-in, this module's; ``None`` for a function that runs only in Python."""
    if fn.sql is not None:
        return fn.sql
    return _BUILTINS.get(fn)


# --- Translation ---------------------------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class _Translator:
    def __init__(self, binding: SqlBinding, source: str) -> None:
        self.binding = binding
        self.source = source

    def fail(self, message: str, node: ast.Node, hint: str | None = None) -> SqlTranslationError:
        return SqlTranslationError(message, node.span, source=self.source, hint=hint)

    def constant(self, node: ast.Node) -> bool:
        """No path and only SQL-capable calls: computed in Python when translating."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Path):
                return False
            if isinstance(sub, ast.Call) and (
                sub.function is None or function_sql(sub.function) is None
            ):
                return False
        return True

    def fold(self, node: ast.Node) -> Any:
        return compile_function(generate(node, text=self.source))({})

    def condition(self, node: ast.Node) -> ColumnElement[bool]:
        if isinstance(node, ast.Literal) and isinstance(node.value, bool):
            return sa.true() if node.value else sa.false()
        if self.constant(node):
            return sa.true() if self.fold(node) is True else sa.false()
        method = getattr(self, f"_{type(node).__name__.lower()}_condition", None)
        if method is not None:
            result: ColumnElement[bool] = method(node)
            return result
        # A boolean value used as a condition: empty counts as false.
        return self.value(node, BOOLEAN).is_(True)

    def value(self, node: ast.Node, hint: RuleType = ANY) -> ColumnElement[Any]:
        """A value expression; ``hint`` types an attribute of unknown type."""
        if isinstance(node, ast.Literal) or (
            not isinstance(node, ast.ListExpr) and self.constant(node)
        ):
            value = node.value if isinstance(node, ast.Literal) else self.fold(node)
            if value is None:
                return sa.null()
            return sa.literal(value, sql_type(node.type if node.type is not ANY else hint))
        match node:
            case ast.Path():
                return self.path(node, hint)
            case ast.Call(function=fn, args=args):
                assert fn is not None
                build = function_sql(fn)
                if build is None:
                    raise self.fail(
                        f"{fn.name}() runs only in Python, so this rule cannot run in SQL",
                        node,
                        "evaluate the rule in Python, or give the function an sql builder",
                    )
                return build(*(self.value(a) for a in args))  # type: ignore[no-any-return]
            case ast.Negate(operand=o):
                return -self.value(o, hint)
            case ast.Arith():
                return self.arith(node, hint)
        raise self.fail(f"{type(node).__name__.lower()} cannot be used as a value in SQL", node)

    def path(self, node: ast.Path, hint: RuleType) -> ColumnElement[Any]:
        key = node.resolved
        is_attribute = bool(node.parts) and node.parts[-1].key
        if is_attribute:
            type_ = node.type if node.type is not ANY else hint
            found = self.binding.attribute(key[:-1], key[-1], type_)
        else:
            found = self.binding.column(key)
        if found is None:
            raise self.fail(
                f"{node.canonical} is not available in the database",
                node,
                "the SQL binding has no column for it",
            )
        if node.type.item is not None:
            raise self.fail(f"{node.canonical} is a list; lists are not translated to SQL", node)
        return found

    def arith(self, node: ast.Arith, hint: RuleType) -> ColumnElement[Any]:
        kinds = {node.left.type, node.right.type, node.type}
        if kinds & {DATE, DATETIME, DURATION}:
            raise self.fail(
                "date and duration arithmetic on stored values is not translated to SQL",
                node,
                "compare the stored value with a computed one: Appeal.Deadline < now() + 2h",
            )
        other = node.right.type if node.left.type is ANY else node.left.type
        left = self.value(node.left, other if other is not ANY else hint)
        right = self.value(node.right, node.left.type if node.right.type is ANY else hint)
        if node.op == "/":
            return sa.cast(left, sa.Numeric()) / sa.func.nullif(right, 0)
        if node.type is STRING:
            return left.op("||")(right)
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]

    def _present(self, *pairs: tuple[ast.Node, ColumnElement[Any]]) -> list[ColumnElement[bool]]:
        # A comparison with an empty (NULL) operand is false, not SQL's unknown: `not` of it
        # must be true, as in Python.
        return [expr.is_not(None) for node, expr in pairs if may_be_empty(node)]

    def _compare_condition(self, node: ast.Compare) -> ColumnElement[bool]:
        left = self.value(node.left, node.right.type)
        right = self.value(node.right, node.left.type)
        checks = self._present((node.left, left), (node.right, right))
        return sa.and_(*checks, _OPS[node.op](left, right))

    def _membership_condition(self, node: ast.Membership) -> ColumnElement[bool]:
        container = node.container
        if not isinstance(container, ast.ListExpr):
            raise self.fail("in over a stored list is not translated to SQL", container)
        item = self.value(node.item, container.type.item or ANY)
        checks = self._present((node.item, item))
        if all(isinstance(i, ast.Literal) for i in container.items):
            values = [i.value for i in container.items]  # type: ignore[attr-defined]
            test = item.not_in(values) if node.negated else item.in_(values)
            return sa.and_(*checks, test)
        elements = [(i, self.value(i, node.item.type)) for i in container.items]
        if node.negated:
            # Python: x not in (a, b) holds when no element equals x; an empty one never does.
            parts = [
                sa.or_(e.is_(None), item != e) if may_be_empty(i) else item != e
                for i, e in elements
            ]
            return sa.and_(*checks, *parts)
        hits = [sa.and_(*self._present((i, e)), item == e) for i, e in elements]
        return sa.and_(*checks, sa.or_(sa.false(), *hits))

    def _pattern_condition(self, node: ast.Pattern) -> ColumnElement[bool]:
        value = self.value(node.operand, STRING)
        test: ColumnElement[bool]
        if node.kind == "like":
            test = _CaseSensitiveLike(
                value, sa.literal(node.pattern), sa.literal(like_to_glob(node.pattern))
            )
        else:
            test = value.regexp_match(node.pattern)
        if node.negated:
            test = sa.not_(test)
        return sa.and_(*self._present((node.operand, value)), test)

    def _emptiness_condition(self, node: ast.Emptiness) -> ColumnElement[bool]:
        value = self.value(node.operand)
        return value.is_not(None) if node.negated else value.is_(None)

    def _not_condition(self, node: ast.Not) -> ColumnElement[bool]:
        return sa.not_(self.condition(node.operand))

    def _logical_condition(self, node: ast.Logical) -> ColumnElement[bool]:
        parts = [self.condition(o) for o in node.operands]
        return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)


def to_sql(root: ast.Node, binding: SqlBinding, *, source: str = "") -> ColumnElement[bool]:
    """A checked rule's tree as a SQLAlchemy condition; ``now()``/``today()`` are taken now."""
    return _Translator(binding, source).condition(root)


def rule_to_sql(rule: CompiledRule, binding: SqlBinding) -> ColumnElement[bool]:
    """``rule`` as a SQLAlchemy boolean expression over the columns ``binding`` supplies.

    ``now()`` and ``today()`` are taken when this is called. Raises
    :class:`~crmcms.errors.SqlTranslationError` for what cannot run in the database.
    """
    return to_sql(ast.inline_rules(rule.tree), binding, source=rule.text)
