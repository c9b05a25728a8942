"""The end-to-end demo behind ``crmcms demo``: the example telecom configuration at work."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crmcms.errors import ConfigurationError, Problem
from crmcms.model import Catalog
from crmcms.storage.database import create_engine, sqlite_url
from crmcms.storage.definitions import DefinitionStore

__all__ = ["example_catalog", "run_demo"]


def examples_dir() -> Path:
    """Where the example telecom configuration lives: inside a wheel, or in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_examples" / "telecom", here.parents[1] / "examples" / "telecom"):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError("the example configuration (examples/telecom) is not installed")


def example_catalog() -> Catalog:
    """The seed's configuration shipped in ``examples/telecom``."""
    path = examples_dir() / "seed_catalog.py"
    spec = importlib.util.spec_from_file_location("crmcms_example_seed_catalog", path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    catalog: Catalog = module.build_catalog()
    return catalog


def _check_values(catalog: Catalog, topic: str, values: dict[str, object]) -> list[Problem]:
    problems: list[Problem] = []
    for attribute in catalog.effective_attributes(topic):
        definition = attribute.definition
        dictionary = catalog.dictionary(definition.dictionary) if definition.dictionary else None
        problems += definition.validate(values.get(attribute.code), dictionary=dictionary)
    return problems


def run_demo(db_path: str, console: Console | None = None) -> None:
    """Store the example definitions in SQLite at ``db_path`` and show them at work."""
    out = console or Console()
    engine = create_engine(sqlite_url(db_path))
    store = DefinitionStore(engine)
    store.create_schema()
    catalog = example_catalog()
    store.save(catalog)
    catalog = store.load()
    out.print(f"[bold]Definitions[/bold] stored in {db_path} and read back:")
    summary = Table("kind", "count", "examples")
    for kind in ("topic_groups", "topics", "routes", "queues", "templates", "operators"):
        items = getattr(catalog, kind)
        codes = ", ".join(str(getattr(i, "code", None) or i.login) for i in items[:4])
        summary.add_row(kind.replace("_", " "), str(len(items)), codes)
    out.print(summary)

    topic = "TERMINATION"
    attributes = Table("code", "name", "type", "owner", "required")
    for attribute in catalog.effective_attributes(topic):
        d = attribute.definition
        attributes.add_row(
            d.code,
            d.name,
            d.value_type.value,
            attribute.owner + (" (inherited)" if attribute.inherited else ""),
            "yes" if d.required.always else "",
        )
    out.print(f"[bold]Attributes of topic {topic}[/bold]")
    out.print(attributes)

    good: dict[str, object] = {"166": "Moving abroad", "168": date(2026, 12, 31), "170": "PSKOV"}
    bad: dict[str, object] = {"166": None, "168": "tomorrow", "170": "NOWHERE"}
    for label, values in (("complete", good), ("faulty", bad)):
        problems = _check_values(catalog, topic, values)
        verdict = "accepted" if not problems else f"refused ({len(problems)} problems)"
        out.print(f"Appeal with {label} values: {verdict}")
        for problem in problems:
            out.print(f"  - {problem}")
    engine.dispose()

    from crmcms.demo_workflow import run_workflow_demo

    run_workflow_demo(catalog, out)
