"""The engine reads rules with the same schema the definition checks use."""

from __future__ import annotations

import pytest

from crmcms import DefinitionError, Engine
from crmcms.dsl import load_catalog_text
from crmcms.model import Catalog

ROUTE = """
topic T "T" {
    attribute 168 "Termination date": date
}
queue Q "Q"
rule RULE
route R "R" {
    topics: T
    process a "A" initial { queue: Q }
    process b "B" final { queue: Q }
    transition go a -> b "Go" when GUARD
}
"""


def _catalog(rule: str, *, check: bool) -> Catalog:
    return load_catalog_text(ROUTE.replace("RULE", rule), check=check)


def test_a_rule_reading_who_registered_the_appeal_loads_and_runs() -> None:
    catalog = _catalog('GUARD "g": Обращение.Оператор = "olga"', check=True)
    engine = Engine.in_memory(catalog)
    assert engine.catalog.rule("GUARD").expression.startswith("Обращение.Оператор")


def test_the_engine_refuses_a_rule_that_misreads_an_attribute_type_at_start() -> None:
    catalog = _catalog('GUARD "g": Appeal.Attribute[168] = "tomorrow"', check=False)
    with pytest.raises(DefinitionError, match="cannot compare date with string"):
        Engine.in_memory(catalog)


def test_the_engine_refuses_an_attribute_no_topic_defines() -> None:
    catalog = _catalog('GUARD "g": Appeal.Attribute[999] is empty', check=False)
    with pytest.raises(DefinitionError, match="unknown attribute code '999'"):
        Engine.in_memory(catalog)
