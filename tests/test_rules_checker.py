"""The checker: unknown names with "did you mean", type errors, every problem at once."""

from __future__ import annotations

import pytest

from crmcms.dsl import BOOLEAN, DATE, compile_rule
from crmcms.dsl.rules.functions import RuleFunction
from crmcms.dsl.rules.schema import STRING, Schema, SchemaBuilder
from crmcms.errors import ConfigurationError, DefinitionError
from crmcms.plugins import hookimpl, make_plugin_manager, rule_schema


@pytest.fixture(scope="module")
def schema() -> Schema:
    pm = make_plugin_manager(load_entry_points=False)
    return rule_schema(pm, attributes={"168": DATE, "SMS_RULE": BOOLEAN})


CASES = [
    ("Clinet.Category = 1", "unknown name 'Clinet'", "did you mean 'Client'?"),
    ('Client.Categry = "x"', "Client has no field 'Categry'", "did you mean 'Category'?"),
    ('Клиент.Категори = "x"', "Client has no field 'Категори'", "did you mean 'Категория'?"),
    ("now = 1", "unknown name 'now'", "now is a function: write now()"),
    ("noww() > 1", "unknown function 'noww'", "did you mean now()?"),
    ("Appeal.Attribute[169] is empty", "unknown attribute code '169'", "did you mean '168'?"),
    ("Appeal.Attribute.SMS_RULE", "an attribute code goes in brackets", None),
    ("Appeal.Attribute is empty", "Appeal.Attribute needs an attribute code", None),
    ('Appeal.Topic = "x"', "Appeal.Topic is an object, not a value", "Appeal.Topic.Code?"),
    ("Client.Category.Code = 1", "Client.Category is a string, it has no field 'Code'", None),
    ('Appeal.Deadline < "2026-01-01"', "cannot compare datetime with string", "without quotes"),
    ('Appeal.Priority = "3"', "cannot compare integer with string", "without quotes: 3"),
    ("Appeal.Attribute[168] = now()", "cannot compare date with datetime", "date(x)"),
    ("Client.Category = empty", "a comparison with empty is always false", "is empty"),
    ("Client.Category != empty", "a comparison with empty is always false", "is not empty"),
    ("Client.Category in Appeal.Priority", "in needs a list", "(a, b, c)"),
    ('Appeal.Priority in ("a", "b")', "cannot look for an integer in a list of string", None),
    ('Client.Category in ("a", 1)', "a list mixes string and integer items", None),
    ('Client.Category matches "("', "the regular expression does not compile", None),
    ('Appeal.Priority like "1%"', "like works on strings", None),
    ("len(1, 2) = 1", "len() takes 1 argument, got 2", "len(string | list of any)"),
    ("lower(1) = 1", "argument 1 of lower() must be string, not integer", None),
    ("Client.Category", "a rule must be true or false", "Client.Category = ..."),
    ("Appeal.Priority and true", "and needs true or false, but Appeal.Priority", None),
    ("not Client.Region", "not needs true or false", None),
    ('Appeal.Priority + "x" > 1', "cannot apply + to integer and string", None),
    ("Appeal.Deadline + 1 > now()", "cannot apply + to datetime and integer", None),
    ("Client.Category + empty = 1", "arithmetic with empty is always empty", None),
    ("Operator.Roles = Operator.Roles", "lists cannot be compared", "len(x) = 0"),
    ("true < false", "boolean values cannot be ordered", None),
    ('-Client.Category = "x"', "cannot negate a string", None),
]


@pytest.mark.parametrize(("text", "message", "hint"), CASES)
def test_problem_message_and_hint(
    schema: Schema, text: str, message: str, hint: str | None
) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_rule(text, schema=schema)
    (problem,) = info.value.problems
    assert problem.message.startswith(message), problem.message
    if hint is not None:
        assert hint in (problem.hint or ""), problem.hint


def test_every_problem_is_reported_at_once_in_source_order(schema: Schema) -> None:
    text = (
        'Clinet.Category = "x" and\n'
        '  Appeal.Priority = "3" and noww() and Appeal.Attribute[999] = 1'
    )
    with pytest.raises(DefinitionError) as info:
        compile_rule(text, schema=schema, file="rules.crm")
    spans = [(p.span.line, p.span.column) for p in info.value.problems]
    assert spans == sorted(spans)
    assert len(spans) == 4
    rendered = str(info.value)
    assert rendered.startswith("4 problems found")
    assert "rules.crm:2:3: cannot compare integer with string" in rendered


def test_without_definitions_attribute_types_are_deferred_to_run_time() -> None:
    # The built-in schema knows no attribute definitions: any code is accepted, typed ANY.
    rule = compile_rule("Appeal.Attribute[777] < 2026-01-01 and Appeal.Attribute[X] = 5")
    assert rule.evaluate({"Appeal": {"Attribute": {"777": "2025-12-31", "X": "5"}}})


def test_the_seed_rule_works_as_written() -> None:
    rule = compile_rule('Клиент.Категория = "BIS"')
    assert rule.evaluate({"Client": {"Category": "BIS"}})
    assert not rule.evaluate({"Client": {"Category": "VIP"}})


def test_plugins_add_fields_aliases_and_functions() -> None:
    def masked(number: str) -> str:
        return number[:-4] + "****"

    class Billing:
        @hookimpl
        def crmcms_rule_schema(self, schema: SchemaBuilder) -> None:
            schema.object("Client").field("Balance", STRING, aliases=["Баланс"])
            schema.object("Client").field_alias("Category", "Кат")

        @hookimpl
        def crmcms_rule_functions(self) -> list[RuleFunction]:
            return [RuleFunction("masked", masked, (STRING,), STRING, aliases=("маска",))]

    schema = rule_schema(make_plugin_manager([Billing()], load_entry_points=False))
    rule = compile_rule('Клиент.Баланс = "1" and маска(Client.Кат) = "B****"', schema=schema)
    assert rule.evaluate({"Client": {"Balance": "1", "Category": "B1234"}})


def test_a_function_defined_twice_is_a_configuration_error() -> None:
    class Twice:
        @hookimpl
        def crmcms_rule_functions(self) -> list[RuleFunction]:
            return [RuleFunction("lower", str.lower, (STRING,), STRING)]

    with pytest.raises(ConfigurationError, match="'lower' is defined twice"):
        rule_schema(make_plugin_manager([Twice()], load_entry_points=False))


def test_every_builtin_object_and_field_has_a_russian_alias() -> None:
    schema = rule_schema(make_plugin_manager(load_entry_points=False))

    def visit(field: object) -> None:
        for child in field.fields.values():  # type: ignore[attr-defined]
            assert any(not a.isascii() for a in child.aliases), child.name
            visit(child)

    visit(schema.root)
