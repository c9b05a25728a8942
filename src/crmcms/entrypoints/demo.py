"""The end-to-end demo behind ``crmcms demo``: the example telecom configuration at work."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from crmcms.errors import ConfigurationError
from crmcms.model import Catalog
from crmcms.storage.database import create_engine, sqlite_url
from crmcms.storage.definitions import DefinitionStore

__all__ = ["example_catalog", "run_demo"]


def examples_dir() -> Path:
    """Where the example telecom configuration lives: inside a wheel, or in the source tree."""
    package = Path(__file__).resolve().parents[1]  # the wheel puts the examples in crmcms/
    for candidate in (
        package / "_examples" / "telecom",
        package.parents[1] / "examples" / "telecom",
    ):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError("the example configuration (examples/telecom) is not installed")


def example_catalog() -> Catalog:
    """The seed's configuration: the definition files in ``examples/telecom``, checked."""
    from crmcms.dsl import load_catalog

    return load_catalog([examples_dir()])


def run_demo(db_path: str, console: Console | None = None) -> None:
    """Store the example definitions in SQLite at ``db_path`` and show them at work."""
    out = console or Console()
    engine = create_engine(sqlite_url(db_path))
    definitions = DefinitionStore(engine)
    definitions.create_schema()
    catalog = example_catalog()
    definitions.save(catalog)
    catalog = definitions.load()
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

    engine.dispose()

    from crmcms.entrypoints.demo_workflow import run_workflow_demo
    from crmcms.storage.sql import AppealFilters, SqlStore

    # Appeals go to the same SQLite file as the definitions and stay there between runs.
    records = SqlStore(sqlite_url(db_path))
    run_workflow_demo(catalog, out, records.unit_of_work)
    from crmcms.entrypoints.demo_sla import run_sla_demo

    run_sla_demo(catalog, out, records.unit_of_work)
    from crmcms.entrypoints.demo_security import run_security_demo

    run_security_demo(catalog, out, records.unit_of_work, sqlite_url(db_path))
    from crmcms.entrypoints.demo_records import run_records_demo

    run_records_demo(catalog, out, records.unit_of_work, Path(db_path).parent / "files")
    from crmcms.entrypoints.demo_prospects import run_prospects_demo

    ledger = Path(db_path).parent / "billing-ledger.json"
    run_prospects_demo(catalog, out, records.unit_of_work, ledger)
    from crmcms.entrypoints.demo_problems import run_problems_demo

    run_problems_demo(catalog, out, records.unit_of_work)
    from crmcms.entrypoints.demo_reports import run_reports_demo

    run_reports_demo(catalog, out, records, Path(db_path).parent / "reports")
    kept = AppealFilters(records.engine).count("true")
    out.print(f"{kept} appeals kept in {db_path}; each run of the demo adds its own")
    records.dispose()
