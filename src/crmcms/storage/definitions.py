"""Definitions (the catalog) stored as versioned documents, routes kept per version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from crmcms.errors import Problem, ValidationError
from crmcms.model import Catalog, Route
from crmcms.serialization import dump, load
from crmcms.storage.schema import definition

__all__ = ["DefinitionStore"]

_KINDS = tuple(f.name for f in attrs.fields(Catalog) if f.init)


def _key(kind: str, item: Any) -> tuple[str, int]:
    if isinstance(item, Route):
        return item.code, item.version
    return str(getattr(item, "code", None) or item.login), 0


class DefinitionStore:
    """Saves a :class:`~crmcms.model.Catalog` to SQL and loads it back.

    Saving is one transaction: definitions other than routes are replaced by the new set;
    route versions accumulate, because appeals keep running on the version they started on.
    A published route version is immutable: saving a different route under the same code and
    version is refused and nothing is written.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Bring the database schema up to date (see :func:`crmcms.storage.upgrade_schema`)."""
        from crmcms.storage.migrate import upgrade_schema

        upgrade_schema(self.engine)

    def save(self, catalog: Catalog) -> None:
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        for kind in _KINDS:
            for item in getattr(catalog, kind):
                code, version = _key(kind, item)
                document = dump(item)
                rows.append(
                    {
                        "kind": kind,
                        "code": code,
                        "version": version,
                        "schema_version": document["schema_version"],
                        "document": document,
                        "saved_at": now,
                    }
                )
        # PostgreSQL cannot store NUL in text or JSONB: refused here, before any write, on
        # every backend alike (attribute values and defaults are refused by the model).
        nul = [
            Problem(
                f"{row['kind']}.{row['code']}",
                f"{where or 'its text'} may not contain the NUL character (\\x00)",
            )
            for row in rows
            if (where := _holding_nul(row["document"]["data"], "")) is not None
        ]
        if nul:
            raise ValidationError(nul, subject="catalog")
        with self.engine.begin() as conn:
            stored_routes = {
                (r.code, r.version): r.document
                for r in conn.execute(
                    sa.select(definition.c.code, definition.c.version, definition.c.document)
                    .where(definition.c.kind == "routes")
                    .with_for_update()
                )
            }
            problems = [
                Problem(
                    f"routes.{row['code']}",
                    f"version {row['version']} is already published with other content;"
                    " publish the change as a new version",
                )
                for row in rows
                if row["kind"] == "routes"
                and (row["code"], row["version"]) in stored_routes
                and stored_routes[(row["code"], row["version"])]["data"] != row["document"]["data"]
            ]
            if problems:
                raise ValidationError(problems, subject="catalog")
            conn.execute(sa.delete(definition).where(definition.c.kind != "routes"))
            new = [
                r
                for r in rows
                if r["kind"] != "routes" or (r["code"], r["version"]) not in stored_routes
            ]
            if new:
                conn.execute(sa.insert(definition), new)

    def load(self) -> Catalog:
        """The stored catalog: every definition and every route version ever published."""
        parts: dict[str, list[Any]] = {kind: [] for kind in _KINDS}
        query = sa.select(definition.c.kind, definition.c.document).order_by(
            definition.c.kind, definition.c.code, definition.c.version
        )
        with self.engine.connect() as conn:
            for kind, document in conn.execute(query):
                if kind in parts:
                    parts[kind].append(load(document))
        return Catalog(**{kind: tuple(items) for kind, items in parts.items()})


def _holding_nul(document: object, where: str) -> str | None:
    """Where in ``document`` (a JSON-like tree) a string holds ``\\x00``, or ``None``."""
    if isinstance(document, str):
        return where if "\x00" in document else None
    if isinstance(document, dict):
        items: Iterable[tuple[object, object]] = document.items()
    elif isinstance(document, list | tuple):
        items = enumerate(document)
    else:
        return None
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        found = _holding_nul(key, path) if isinstance(key, str) else None
        found = found if found is not None else _holding_nul(value, path)
        if found is not None:
            return found
    return None
