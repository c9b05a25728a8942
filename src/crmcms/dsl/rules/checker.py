"""Names and types: resolves paths against the schema, types every node, reports every problem."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from crmcms.dsl.rules import ast
from crmcms.dsl.rules.functions import ParamType, RuleFunction
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
    Field,
    RuleType,
    Schema,
    closest_name,
    list_of,
)
from crmcms.errors import DslError, SourceSpan

__all__ = ["Checker", "arith_type", "comparable"]

_ORDERED = {"string", "integer", "decimal", "date", "datetime", "duration"}
_NOT_A_BOOL_HINT = "compare it with something, e.g. {0} = ..., or test {0} is not empty"


def comparable(a: RuleType, b: RuleType) -> bool:
    """Whether values of these types may be compared (``ANY`` defers to run time)."""
    if a is ANY or b is ANY:
        return True
    if a.is_numeric and b.is_numeric:
        return True
    if a.item is not None and b.item is not None:
        return comparable(a.item, b.item)
    return a == b


def arith_type(op: str, a: RuleType, b: RuleType) -> RuleType | None:
    """The result type of ``a op b``, or ``None`` if the operation is not defined."""
    if a is ANY or b is ANY:
        return ANY
    if a.is_numeric and b.is_numeric:
        return INTEGER if a is INTEGER and b is INTEGER and op != "/" else DECIMAL
    pair = (a.name, op, b.name)
    table = {
        ("date", "+", "duration"): DATE,
        ("date", "-", "duration"): DATE,
        ("duration", "+", "date"): DATE,
        ("datetime", "+", "duration"): DATETIME,
        ("datetime", "-", "duration"): DATETIME,
        ("duration", "+", "datetime"): DATETIME,
        ("date", "-", "date"): DURATION,
        ("datetime", "-", "datetime"): DURATION,
        ("duration", "+", "duration"): DURATION,
        ("duration", "-", "duration"): DURATION,
        ("duration", "*", "integer"): DURATION,
        ("integer", "*", "duration"): DURATION,
        ("duration", "/", "integer"): DURATION,
        ("string", "+", "string"): STRING,
    }
    return table.get(pair)


def _accepts(param: ParamType, arg: RuleType) -> bool:
    options = param if isinstance(param, tuple) else (param,)
    for p in options:
        if p is ANY or arg is ANY or arg is EMPTY or comparable(p, arg):
            return True
        if p.item is ANY and arg.item is not None:
            return True
    return False


def _a(type_: RuleType) -> str:
    text = str(type_)
    return f"an {text}" if text[0] in "aeiou" else f"a {text}"


def _describe(node: ast.Node) -> str:
    if isinstance(node, ast.Path):
        return node.text
    if isinstance(node, ast.Call):
        return f"{node.name}(...)"
    if isinstance(node, ast.Literal):
        return "empty" if node.type is EMPTY else f"the {node.type} literal"
    return "this expression"


class Checker:
    """Types one syntax tree against a schema, collecting every problem on the way."""

    def __init__(
        self, schema: Schema, *, source: str | None = None, using: tuple[str, ...] = ()
    ) -> None:
        self.schema = schema
        self.source = source
        self.using = using
        """The named rules being checked around this tree, outermost first (``using`` one
        of them again is a cycle)."""
        self.problems: list[DslError] = []

    def error(self, message: str, span: SourceSpan, hint: str | None = None) -> None:
        self.problems.append(DslError(message, span, source=self.source, hint=hint))

    def check_rule(self, node: ast.Node) -> ast.Node:
        """The typed tree of a rule, which must be true or false."""
        typed = self.check(node)
        if typed.type not in (BOOLEAN, ANY):
            self.error(
                f"a rule must be true or false, but {_describe(typed)} is {_a(typed.type)}",
                typed.span,
                _NOT_A_BOOL_HINT.format(_describe(typed)) if isinstance(typed, ast.Path) else None,
            )
        return typed

    def check(self, node: ast.Node) -> ast.Node:
        """The typed copy of ``node`` (unknown parts typed ``ANY``, with a problem recorded)."""
        method = getattr(self, f"_check_{type(node).__name__.lower()}")
        result: ast.Node = method(node)
        return result

    # --- leaves ---------------------------------------------------------------------------

    def _check_literal(self, node: ast.Literal) -> ast.Node:
        return node

    def _check_path(self, node: ast.Path) -> ast.Node:
        first = node.parts[0]
        if (
            len(node.parts) == 1
            and not first.key
            and first.name in self.schema.rules
            and self.schema.root.child(first.name) is None
        ):
            return self._rule_ref(node, first.name)
        field: Field = self.schema.root
        resolved: list[str] = []
        shown = ""
        for part in node.parts:
            if field.attributes is not None:
                if not part.key:
                    self.error(
                        f"an attribute code goes in brackets: {shown}[{part.name}]",
                        part.span,
                    )
                    return attrs.evolve(node, type=ANY)
                type_ = field.attributes.type_of(part.name)
                if type_ is None:
                    near = closest_name(part.name, field.attributes.known)
                    self.error(
                        f"unknown attribute code {part.name!r} of {shown}",
                        part.span,
                        f"did you mean {near!r}?" if near else None,
                    )
                    return attrs.evolve(node, type=ANY)
                resolved.append(part.name)
                shown += f"[{part.name}]"
                if part is not node.parts[-1]:
                    self.error(f"{shown} is a value, it has no fields", node.parts[-1].span)
                    return attrs.evolve(node, type=ANY)
                return attrs.evolve(node, type=type_, resolved=tuple(resolved))
            if part.key:
                self.error(f"{shown} has no attributes by code", part.span)
                return attrs.evolve(node, type=ANY)
            if field.type is not None:
                self.error(f"{shown} is {_a(field.type)}, it has no field {part.name!r}", part.span)
                return attrs.evolve(node, type=ANY)
            child = field.child(part.name)
            if child is None:
                self._unknown_name(part, field, shown)
                return attrs.evolve(node, type=ANY)
            field = child
            resolved.append(child.name)
            shown = f"{shown}.{child.name}" if shown else child.name
        if field.attributes is not None:
            self.error(f"{shown} needs an attribute code: {shown}[168]", node.span)
            return attrs.evolve(node, type=ANY)
        if field.type is None:
            leaf = next((f for f in field.fields.values() if f.type is not None), None)
            hint = f"did you mean {shown}.{leaf.name}?" if leaf is not None else None
            self.error(f"{shown} is an object, not a value", node.span, hint)
            return attrs.evolve(node, type=ANY)
        return attrs.evolve(node, type=field.type, resolved=tuple(resolved))

    def _rule_ref(self, node: ast.Path, code: str) -> ast.Node:
        """A named rule used by its code: its tree typed here, where it is used."""
        if code in self.using:
            cycle = [*self.using[self.using.index(code) :], code]
            self.error(
                f"rules form a cycle: {' -> '.join(cycle)}",
                node.span,
                "a rule cannot use itself, directly or through other rules",
            )
            return attrs.evolve(node, type=ANY)
        named = self.schema.rules[code]
        inner = Checker(self.schema, source=named.source, using=(*self.using, code))
        typed = inner.check_rule(named.tree)
        self.problems.extend(inner.problems)
        if inner.problems:
            return attrs.evolve(node, type=ANY)
        return ast.RuleRef(code, typed, named.source, span=node.span, type=BOOLEAN)

    def _unknown_name(self, part: ast.PathPart, field: Field, shown: str) -> None:
        near = field.suggest(part.name)
        hint = f"did you mean {near!r}?" if near else None
        if not shown:
            rule = closest_name(part.name, self.schema.rules) if near is None else None
            if rule is not None:
                hint = f"did you mean rule {rule}?"
            if self.schema.function(part.name) is not None:
                hint = f"{part.name} is a function: write {part.name}()"
            elif near is None and rule is None:
                roots = ", ".join(sorted(self.schema.root.fields))
                hint = f"a path starts with one of: {roots}"
            self.error(f"unknown name {part.name!r}", part.span, hint)
        else:
            self.error(f"{shown} has no field {part.name!r}", part.span, hint)

    # --- values ---------------------------------------------------------------------------

    def _check_listexpr(self, node: ast.ListExpr) -> ast.Node:
        items = tuple(self.check(i) for i in node.items)
        item_type: RuleType | None = None
        for it in items:
            if it.type is EMPTY:
                self.error("a list cannot hold empty; it never equals anything", it.span)
                continue
            if item_type is None or item_type is ANY:
                item_type = it.type
            elif it.type is ANY:
                continue
            elif item_type.is_numeric and it.type.is_numeric:
                item_type = DECIMAL if DECIMAL in (item_type, it.type) else INTEGER
            elif item_type != it.type:
                self.error(f"a list mixes {item_type} and {it.type} items", it.span)
        return attrs.evolve(node, items=items, type=list_of(item_type or ANY))

    def _check_call(self, node: ast.Call) -> ast.Node:
        args = tuple(self.check(a) for a in node.args)
        fn = self.schema.function(node.name)
        if fn is None:
            names = {n for f in self.schema.functions.values() for n in f.names}
            near = closest_name(node.name, names)
            self.error(
                f"unknown function {node.name!r}",
                node.span,
                f"did you mean {near}()?" if near else None,
            )
            return attrs.evolve(node, args=args, type=ANY)
        if not self._arguments_fit(fn, args, node):
            return attrs.evolve(node, args=args, type=ANY, function=fn)
        result = fn.result_type([a.type for a in args])
        return attrs.evolve(node, args=args, function=fn, type=result)

    def _arguments_fit(self, fn: RuleFunction, args: Sequence[ast.Node], node: ast.Call) -> bool:
        want = len(fn.params)
        if (len(args) < want) if fn.variadic else (len(args) != want):
            count = f"at least {want}" if fn.variadic else str(want)
            self.error(
                f"{fn.name}() takes {count} argument{'s' if want != 1 else ''}, got {len(args)}",
                node.span,
                f"call it as {fn.signature()}",
            )
            return False
        ok = True
        for i, arg in enumerate(args):
            param = fn.params[min(i, want - 1)]
            if not _accepts(param, arg.type):
                ok = False
                self.error(
                    f"argument {i + 1} of {fn.name}() must be "
                    f"{' or '.join(map(str, param)) if isinstance(param, tuple) else param}, "
                    f"not {arg.type}",
                    arg.span,
                    f"call it as {fn.signature()}",
                )
        return ok

    def _check_negate(self, node: ast.Negate) -> ast.Node:
        operand = self.check(node.operand)
        t = operand.type
        if not (t is ANY or t.is_numeric or t is DURATION):
            self.error(f"cannot negate {_a(t)}", node.span)
            t = ANY
        return attrs.evolve(node, operand=operand, type=t)

    def _check_arith(self, node: ast.Arith) -> ast.Node:
        left, right = self.check(node.left), self.check(node.right)
        if EMPTY in (left.type, right.type):
            self.error(
                "arithmetic with empty is always empty",
                node.span,
                "test for a missing value with `is empty`",
            )
            return attrs.evolve(node, left=left, right=right, type=ANY)
        result = arith_type(node.op, left.type, right.type)
        if result is None:
            hint = None
            if {left.type, right.type} == {DATE, DATETIME}:
                hint = "use date(x) to take the date of a date-time"
            self.error(f"cannot apply {node.op} to {left.type} and {right.type}", node.span, hint)
            result = ANY
        return attrs.evolve(node, left=left, right=right, type=result)

    # --- conditions -----------------------------------------------------------------------

    def _comparison_problem(
        self, op: str, left: ast.Node, right: ast.Node, span: SourceSpan
    ) -> None:
        if EMPTY in (left.type, right.type):
            test = "is not empty" if op == "!=" else "is empty"
            other = right if left.type is EMPTY else left
            self.error(
                "a comparison with empty is always false",
                span,
                f"write {_describe(other)} {test}",
            )
            return
        if left.type.is_list or right.type.is_list:
            self.error(
                "lists cannot be compared",
                span,
                "test an item with `in`, or the size with len(x) = 0",
            )
        elif not comparable(left.type, right.type):
            hint = None
            if {left.type, right.type} == {DATE, DATETIME}:
                hint = "use date(x) to take the date of a date-time"
            elif STRING in (left.type, right.type):
                lit = left if isinstance(left, ast.Literal) else right
                if isinstance(lit, ast.Literal) and isinstance(lit.value, str):
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T[\d:]+)?", lit.value):
                        hint = f"write the date without quotes: {lit.value}"
                    elif re.fullmatch(r"-?\d+(\.\d+)?", lit.value):
                        hint = f"write the number without quotes: {lit.value}"
            self.error(f"cannot compare {left.type} with {right.type}", span, hint)
        elif op not in ("=", "!=") and left.type is not ANY and right.type is not ANY:
            kind = left.type if left.type is not ANY else right.type
            if kind.name not in _ORDERED:
                self.error(f"{kind} values cannot be ordered; only = and != apply", span)

    def _check_compare(self, node: ast.Compare) -> ast.Node:
        left, right = self.check(node.left), self.check(node.right)
        self._comparison_problem(node.op, left, right, node.span)
        return attrs.evolve(node, left=left, right=right, type=BOOLEAN)

    def _check_membership(self, node: ast.Membership) -> ast.Node:
        item, container = self.check(node.item), self.check(node.container)
        ctype = container.type
        if ctype is not ANY and ctype.item is None:
            self.error(
                f"in needs a list, but {_describe(container)} is {_a(ctype)}",
                container.span,
                'write a list as (a, b, c); to find text inside a string use like "%text%"',
            )
        elif ctype.item is not None and ctype.item is not ANY:
            if item.type is EMPTY:
                self.error("empty is never in a list", item.span, "use `is empty`")
            elif not comparable(item.type, ctype.item):
                self.error(f"cannot look for {_a(item.type)} in a list of {ctype.item}", node.span)
        return attrs.evolve(node, item=item, container=container, type=BOOLEAN)

    def _check_pattern(self, node: ast.Pattern) -> ast.Node:
        operand = self.check(node.operand)
        if operand.type not in (STRING, ANY):
            self.error(
                f"{node.kind} works on strings, but {_describe(operand)} is {_a(operand.type)}",
                operand.span,
            )
        if node.kind == "matches":
            try:
                re.compile(node.pattern)
            except re.error as exc:
                self.error(f"the regular expression does not compile: {exc}", node.pattern_span)
        return attrs.evolve(node, operand=operand, type=BOOLEAN)

    def _check_emptiness(self, node: ast.Emptiness) -> ast.Node:
        return attrs.evolve(node, operand=self.check(node.operand), type=BOOLEAN)

    def _boolean(self, operand: ast.Node, word: str) -> None:
        if operand.type not in (BOOLEAN, ANY):
            self.error(
                f"{word} needs true or false, but {_describe(operand)} is {_a(operand.type)}",
                operand.span,
                _NOT_A_BOOL_HINT.format(_describe(operand))
                if isinstance(operand, ast.Path)
                else None,
            )

    def _check_not(self, node: ast.Not) -> ast.Node:
        operand = self.check(node.operand)
        self._boolean(operand, "not")
        return attrs.evolve(node, operand=operand, type=BOOLEAN)

    def _check_logical(self, node: ast.Logical) -> ast.Node:
        operands = tuple(self.check(o) for o in node.operands)
        for o in operands:
            self._boolean(o, node.op)
        return attrs.evolve(node, operands=operands, type=BOOLEAN)
