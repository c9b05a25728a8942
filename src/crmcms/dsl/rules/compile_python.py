"""Typed tree to a plain Python function, by generating its source once and compiling it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from crmcms.dsl.rules import ast
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
    parse_duration_literal,
)
from crmcms.errors import RuleEvaluationError

__all__ = ["Generated", "compile_function", "evaluator", "fill", "generate", "like_to_regex"]

RuleCallable = Callable[[Mapping[str, Any]], Any]

_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MISSING = (LookupError, TypeError)
# Nodes whose compiled form is already a real bool; anything else used as a condition is
# tested with `is True`, so an empty (None) value counts as false.
_BOOLEAN_NODES = (
    ast.Compare,
    ast.Membership,
    ast.Pattern,
    ast.Emptiness,
    ast.Not,
    ast.Logical,
    ast.RuleRef,
)


def like_to_regex(pattern: str) -> str:
    """A SQL ``like`` pattern (``%`` any run, ``_`` one character, ``\\`` escapes) as a regex."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "".join(out)


# --- Run-time helpers the generated code calls ---------------------------------------------


def _get(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        try:
            data = data[key]
        except _MISSING:
            return None
    return data


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _wrong(value: Any, what: str, label: str) -> RuleEvaluationError:
    return RuleEvaluationError(f"{label} holds {value!r}, which is not {what}")


def _as_string(value: Any, label: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise _wrong(value, "a string", label)


def _as_number(value: Any, label: str) -> Any:
    if value is None or (isinstance(value, int | Decimal) and not isinstance(value, bool)):
        return value
    if isinstance(value, str | float):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            pass
    raise _wrong(value, "a number", label)


def _as_date(value: Any, label: str) -> Any:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _wrong(value, "a date", label)


def _as_datetime(value: Any, label: str) -> Any:
    if isinstance(value, datetime):
        return _aware(value)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise _wrong(value, "a date-time", label)


def _as_duration(value: Any, label: str) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration_literal(value)
        except ValueError:
            pass
    raise _wrong(value, "a duration", label)


def _as_boolean(value: Any, label: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    raise _wrong(value, "true or false", label)


_COERCE = {
    STRING: "_as_string",
    INTEGER: "_as_number",
    DECIMAL: "_as_number",
    DATE: "_as_date",
    DATETIME: "_as_datetime",
    DURATION: "_as_duration",
    BOOLEAN: "_as_boolean",
}


def _div(a: Any, b: Any) -> Any:
    if a is None or b is None or not b:
        return None  # division by zero is empty, as NULLIF makes it in SQL
    if isinstance(a, timedelta):
        return a / b
    return Decimal(a) / Decimal(b)


def _failure(text: str) -> Callable[[Exception], RuleEvaluationError]:
    def fail(exc: Exception) -> RuleEvaluationError:
        if isinstance(exc, RuleEvaluationError):
            return RuleEvaluationError(str(exc), rule=text)
        return RuleEvaluationError(f"{type(exc).__name__}: {exc}", rule=text)

    return fail


_ERRORS = (TypeError, ValueError, ArithmeticError, RuleEvaluationError)

_HELPERS: dict[str, Any] = {
    "_aware": _aware,
    "_div": _div,
    "_as_string": _as_string,
    "_as_number": _as_number,
    "_as_date": _as_date,
    "_as_datetime": _as_datetime,
    "_as_duration": _as_duration,
    "_as_boolean": _as_boolean,
}


# --- Code generation -----------------------------------------------------------------------


def may_be_empty(node: ast.Node) -> bool:
    """Whether ``node`` can evaluate to empty (``None``); literals and conditions cannot."""
    match node:
        case ast.Literal(value=value):
            return value is None
        case ast.Call(function=fn, args=args):
            if fn is None:
                return True
            if fn.never_empty:
                return False
            return not fn.propagates_empty or any(may_be_empty(a) for a in args)
        case ast.Negate(operand=o):
            return may_be_empty(o)
        case ast.Arith(op=op, left=a, right=b):
            return op == "/" or may_be_empty(a) or may_be_empty(b)
        case ast.ListExpr():
            return False
    return not isinstance(node, _BOOLEAN_NODES)


class Generated:
    """Python source for one typed tree, with the constants it refers to."""

    def __init__(self, root: ast.Node, *, text: str = "", record: bool = False) -> None:
        self.text = text
        self.record = record
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self.recorded: list[ast.Node] = []
        self.paths: dict[tuple[str, ...], None] = {}
        self._consts: dict[Any, str] = {}
        self._temps = 0
        body = self.condition(root) if root.type in (BOOLEAN, ANY) else self.expr(root)
        self.source = self._function(body)

    # names

    def const(self, value: Any) -> str:
        key = (type(value), value) if _hashable(value) else id(value)
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = f"_c{len(self._consts)}"
            self.namespace[name] = value
        return name

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def path_read(self, node: ast.Path) -> str:
        """Plain subscripts, as a hand-written lambda reads; see :func:`evaluator` for
        what happens when a key is missing."""
        self.paths[node.resolved] = None
        read = "d" + "".join(f"[{key!r}]" for key in node.resolved)
        return f"_aware({read})" if node.type is DATETIME else read

    # function assembly

    def _function(self, body: str) -> str:
        # The function is only its expression: no try blocks, which would double the cost
        # of compiling it. Missing keys and run-time errors are handled by evaluator().
        params = "d, _r" if self.record else "d"
        return f"def _rule({params}):\n    return {body}\n"

    # expressions

    def _rec(self, node: ast.Node, code: str) -> str:
        if not self.record:
            return code
        self.recorded.append(node)
        return f"_r({len(self.recorded) - 1}, {code})"

    def condition(self, node: ast.Node) -> str:
        """Code that is exactly True or False."""
        code = self.expr(node)
        if isinstance(node, _BOOLEAN_NODES):
            return code
        if isinstance(node, ast.Literal) and isinstance(node.value, bool):
            return code
        return f"({code} is True)"

    def coerced(self, node: ast.Node, want: RuleType) -> str:
        """Code for ``node``, checked at run time against ``want`` if its type is unknown."""
        code = self.expr(node)
        if node.type is ANY and want.item is None and want in _COERCE:
            label = node.canonical if isinstance(node, ast.Path) else "a value"
            return f"{_COERCE[want]}({code}, {label!r})"
        return code

    def expr(self, node: ast.Node) -> str:
        method = getattr(self, f"_{type(node).__name__.lower()}")
        return self._rec(node, method(node))

    def _literal(self, node: ast.Literal) -> str:
        value = node.value
        if value is None or isinstance(value, bool | int | str):
            return repr(value)
        return self.const(value)

    def _path(self, node: ast.Path) -> str:
        return self.path_read(node)

    def _call(self, node: ast.Call) -> str:
        fn = node.function
        assert fn is not None, "calls are resolved by the checker"
        name = self.const(fn.func)
        args: list[str] = []
        for i, arg in enumerate(node.args):
            param = fn.params[min(i, len(fn.params) - 1)] if fn.params else ANY
            args.append(self.coerced(arg, param) if isinstance(param, RuleType) else self.expr(arg))
        if not fn.propagates_empty:
            return f"{name}({', '.join(args)})"
        return self._guarded(
            list(zip(node.args, args, strict=True)), lambda v: f"{name}({', '.join(v)})", "None"
        )

    def _listexpr(self, node: ast.ListExpr) -> str:
        item = node.type.item or ANY
        codes = [self.coerced(i, item) for i in node.items]
        if all(isinstance(i, ast.Literal) for i in node.items) and not self.record:
            return self.const(tuple(i.value for i in node.items))  # type: ignore[attr-defined]
        return f"({', '.join(codes)}{',' if len(codes) == 1 else ''})"

    def _binary_operands(self, left: ast.Node, right: ast.Node) -> tuple[str, str]:
        lt, rt = left.type, right.type
        lcode = self.coerced(left, rt) if rt not in (ANY, EMPTY) else self.expr(left)
        rcode = self.coerced(right, lt) if lt not in (ANY, EMPTY) else self.expr(right)
        return lcode, rcode

    def _guarded(
        self, parts: list[tuple[ast.Node, str]], build: Callable[[list[str]], str], empty: str
    ) -> str:
        """``build(values)``, or ``empty`` when one of the possibly-empty parts is empty."""
        empty_tests, present_tests, names = [], [], []
        for node, code in parts:
            if may_be_empty(node):
                name = code if code.isidentifier() else self.temp()
                value = name if name == code else f"({name} := {code})"
                empty_tests.append(f"{value} is None")
                present_tests.append(f"{value} is not None")
                names.append(name)
            else:
                names.append(code)
        if not empty_tests:
            return build(names)
        if empty == "False":
            return f"({' and '.join(present_tests)} and {build(names)})"
        return f"({empty} if {' or '.join(empty_tests)} else {build(names)})"

    def _negate(self, node: ast.Negate) -> str:
        code = self.coerced(node.operand, DECIMAL) if node.operand.type is ANY else None
        code = code or self.expr(node.operand)
        return self._guarded([(node.operand, code)], lambda v: f"(-{v[0]})", "None")

    def _arith(self, node: ast.Arith) -> str:
        # An operand of unknown type is checked only against a number: beside a date or a
        # duration it may be either, and Python's own arithmetic decides.
        lt, rt = node.left.type, node.right.type
        lcode = self.coerced(node.left, rt) if rt.is_numeric else self.expr(node.left)
        rcode = self.coerced(node.right, lt) if lt.is_numeric else self.expr(node.right)
        if node.op == "/":
            return f"_div({lcode}, {rcode})"
        return self._guarded(
            [(node.left, lcode), (node.right, rcode)],
            lambda v: f"({v[0]} {node.op} {v[1]})",
            "None",
        )

    def _compare(self, node: ast.Compare) -> str:
        op = _COMPARE[node.op]
        lcode, rcode = self._binary_operands(node.left, node.right)
        parts = [(node.left, lcode), (node.right, rcode)]
        if node.op == "=" and not (may_be_empty(node.left) and may_be_empty(node.right)):
            # None == value is already False: no guard needed
            return f"({lcode} == {rcode})"
        return self._guarded(parts, lambda v: f"({v[0]} {op} {v[1]})", "False")

    def _membership(self, node: ast.Membership) -> str:
        container = node.container
        want = container.type.item or ANY
        item = self.coerced(node.item, want) if want is not ANY else self.expr(node.item)
        if isinstance(container, ast.ListExpr) and all(
            isinstance(i, ast.Literal) for i in container.items
        ):
            values = [i.value for i in container.items]  # type: ignore[attr-defined]
            if all(type(v) in (str, int) for v in values):
                # written out, so Python folds it into a constant frozenset itself
                literal = "(" + "".join(f"{v!r}, " for v in values) + ")"
                ccode = self._rec(container, literal)
            else:
                ccode = self._rec(container, self.const(frozenset(values)))
            if not node.negated:
                return f"({item} in {ccode})"  # a literal list never holds None
        else:
            ccode = self.expr(container)
        word = "not in" if node.negated else "in"
        return self._guarded(
            [(node.item, item), (container, ccode)],
            lambda v: f"({v[0]} {word} {v[1]})",
            "False",
        )

    def _pattern(self, node: ast.Pattern) -> str:
        if node.kind == "like":
            regex, method = re.compile(like_to_regex(node.pattern), re.DOTALL), "fullmatch"
        else:
            regex, method = re.compile(node.pattern), "search"
        code = self.coerced(node.operand, STRING)
        rx = self.const(regex)
        test = "is None" if node.negated else "is not None"
        return self._guarded(
            [(node.operand, code)], lambda v: f"({rx}.{method}({v[0]}) {test})", "False"
        )

    def _emptiness(self, node: ast.Emptiness) -> str:
        if not may_be_empty(node.operand) and not self.record:
            return "True" if node.negated else "False"
        code = self.expr(node.operand)
        return f"({code} is {'not ' if node.negated else ''}None)"

    def _not(self, node: ast.Not) -> str:
        return f"(not {self.condition(node.operand)})"

    def _logical(self, node: ast.Logical) -> str:
        return "(" + f" {node.op} ".join(self.condition(o) for o in node.operands) + ")"

    def _ruleref(self, node: ast.RuleRef) -> str:
        # Inlined: a named rule costs what its condition written out would.
        return self.condition(node.rule)


def fill(data: Any, paths: Iterable[tuple[str, ...]]) -> dict[str, Any]:
    """A nested dict holding every path (``None`` where ``data`` lacks it), and nothing else."""
    out: dict[str, Any] = {}
    for path in paths:
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _get(data, path)
    return out


def evaluator(
    function: Callable[[Any], Any], paths: Iterable[tuple[str, ...]], text: str
) -> Callable[[Mapping[str, Any]], bool]:
    """The rule as callers see it: a missing key or empty object reads as empty.

    The generated function reads with plain subscripts; when one fails the record is
    rebuilt with every path the rule reads present (``None`` where missing) and the function
    runs again. An error that survives that is the data's, reported with the rule's text.
    """
    keys = tuple(paths)
    fail = _failure(text)

    def evaluate(data: Mapping[str, Any]) -> bool:
        try:
            result: bool = function(data)
            return result
        except _MISSING:
            pass
        except _ERRORS as exc:
            raise fail(exc) from None
        try:
            result = function(fill(data, keys))
            return result
        except _ERRORS as exc:
            raise fail(exc) from None

    evaluate.__name__ = evaluate.__qualname__ = "evaluate_rule"
    evaluate.__wrapped__ = function  # type: ignore[attr-defined]
    return evaluate


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def generate(root: ast.Node, *, text: str = "", record: bool = False) -> Generated:
    """The Python source (and its namespace) for a typed tree."""
    return Generated(root, text=text, record=record)


def compile_function(generated: Generated) -> Callable[..., Any]:
    """Compile generated source into its function (``_rule(d)``, or ``_rule(d, _r)``)."""
    code = compile(generated.source, f"<rule {generated.text[:60]!r}>", "exec")
    namespace = dict(generated.namespace)
    exec(code, namespace)  # our own generated source, built from a checked tree
    fn: Callable[..., Any] = namespace["_rule"]
    return fn
