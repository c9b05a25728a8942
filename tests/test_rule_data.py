"""The rule data is described once: the checker, the engine and the SQL binding agree with it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from crmcms import AppealDraft
from crmcms.dsl import builtin_schema, load_catalog_text
from crmcms.dsl.rules.data import RULE_DATA, DataAttributes, DataField, leaves
from crmcms.dsl.rules.schema import DATETIME, INTEGER, STRING, Field, RuleType, list_of
from crmcms.engine.context import AppealData, RuleData, party_data
from crmcms.model import Client, ContactPerson, Operator, Subscriber
from crmcms.storage.sql import AppealBinding
from crmcms.storage.sql.rules_to_sql import sql_type
from crmcms.testing.engine import make_engine

ROUTE = """
topic T "Topic T" {
    attribute 168 "Termination date": date
}
queue Q "Q"
operator olga "Olga"
place kind CALL_CENTRE "Call centre"
place CC "Contact centre" kind CALL_CENTRE
channel PHONE "Phone"
route R "R" {
    topics: T
    process a "A" initial { queue: Q }
    process b "B" final { queue: Q }
    transition go a -> b "Go"
}
"""
DESCRIBED = {leaf.dotted: leaf for obj in RULE_DATA for leaf in leaves(obj)}


def _schema_leaves(node: Field, where: tuple[str, ...] = ()) -> dict[str, Field]:
    found: dict[str, Field] = {}
    for f in node.fields.values():
        path = (*where, f.name)
        found |= _schema_leaves(f, path) if f.is_object else {".".join(path): f}
    return found


def test_the_checker_sees_exactly_the_described_fields_with_their_types_and_aliases() -> None:
    schema = builtin_schema()
    seen = _schema_leaves(schema.root)
    assert set(seen) == set(DESCRIBED)
    for path, leaf in DESCRIBED.items():
        f = seen[path]
        assert f.aliases == (leaf.field.alias,), path
        if isinstance(leaf.field, DataField):
            assert f.type == leaf.field.type, path
        else:
            assert f.attributes is not None, path
    for obj in RULE_DATA:
        assert schema.resolve(obj.alias).name == obj.name


def _python_type_ok(value: Any, type_: RuleType) -> bool:
    if value is None:
        return True
    if type_ == list_of(STRING):
        return all(isinstance(v, str) for v in value)
    python = {STRING: str, INTEGER: int, DATETIME: datetime}[type_]
    return isinstance(value, python) and not (type_ is not DATETIME and isinstance(value, date))


def _flat(part: dict[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in part.items():
        path = (*where, key)
        nested = isinstance(value, dict) and ".".join(path) not in DESCRIBED
        found |= _flat(value, path) if nested else {".".join(path): value}
    return found


def test_the_engines_rule_data_has_exactly_the_described_fields_with_their_types() -> None:
    catalog = load_catalog_text(ROUTE)
    engine, _, _ = make_engine(catalog)
    draft = AppealDraft("T", {"168": date(2026, 1, 1)})
    made = engine.register_contact("olga", place="CC", channel="PHONE", drafts=[draft])
    appeal = made.appeals[0]
    client = party_data("Client", Client(1, "Romashka", category="BIS"))
    operator = Operator("olga", "Olga", roles=("admin",))
    data = RuleData(AppealData(catalog), appeal, client, made.contact, operator).complete()
    data["Subscriber"] = party_data("Subscriber", Subscriber(10, 1, "+7911", tariff="Corp"))
    data["ContactPerson"] = party_data("ContactPerson", ContactPerson(20, "Anna"))
    flat = {k: v for obj, part in data.items() for k, v in _flat(part, (obj,)).items()}
    assert set(flat) == set(DESCRIBED)
    for path, value in flat.items():
        f = DESCRIBED[path].field
        if isinstance(f, DataAttributes):
            assert value == {"168": date(2026, 1, 1)}
        else:
            assert _python_type_ok(value, f.type), (path, value)
    assert flat["Appeal.Topic.Name"] == "Topic T"
    assert flat["Appeal.Id"] == str(appeal.id)
    assert flat["Client.Id"] == "1"
    assert flat["Contact.Direction"] == "incoming"


def test_the_sql_binding_has_exactly_the_described_columns_with_their_types() -> None:
    for dialect in ("sqlite", "postgresql"):
        binding = AppealBinding(dialect)
        stored = {
            path
            for path, leaf in DESCRIBED.items()
            if isinstance(leaf.field, DataField) and leaf.field.column
        }
        assert set(binding.columns) == stored
        for path in stored:
            field = DESCRIBED[path].field
            assert isinstance(field, DataField)
            expected = sql_type(field.type)
            assert expected is not None
            assert isinstance(binding.columns[path].type, type(expected)), path
        owner = ("Appeal", "Attribute")
        assert binding.attribute(owner, "168", STRING) is not None
        assert binding.attribute(("Client", "Attribute"), "168", STRING) is None
