"""``crmcms serve``: the HTTP API under uvicorn, with as many worker processes as asked."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from crmcms.entrypoints.serve import (
    CURSOR_SECRET_VARIABLE,
    DATABASE_VARIABLE,
    DEFINITIONS_VARIABLE,
    PLUGINS_VARIABLE,
)
from crmcms.entrypoints.worker_cli import URL_OPTION

__all__ = ["serve"]


@click.command()
@URL_OPTION
@click.option(
    "--definitions",
    "definitions",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Definition files or folders (*.crm); default: the catalog saved in the database.",
)
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE[:NAME]",
    help="Register this plugin besides the installed ones (a class is instantiated). Repeatable.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (several share a PostgreSQL database; keep one on SQLite).",
)
def serve(
    url: str | None,
    definitions: tuple[Path, ...],
    plugins: tuple[str, ...],
    host: str,
    port: int,
    workers: int,
) -> None:
    """Serve the HTTP API (docs/http.md) until SIGTERM or Ctrl-C."""
    try:
        import uvicorn
    except ImportError as exc:
        raise click.ClickException("crmcms serve needs: pip install 'crmcms[http]'") from exc
    from crmcms.storage.database import create_engine
    from crmcms.storage.migrate import upgrade_schema

    database = create_engine(url)
    try:
        upgrade_schema(database)  # once here, not in every worker at the same moment
        resolved = database.url.render_as_string(hide_password=False)
    finally:
        database.dispose()
    os.environ[DATABASE_VARIABLE] = resolved
    os.environ[DEFINITIONS_VARIABLE] = os.pathsep.join(str(p.resolve()) for p in definitions)
    os.environ[PLUGINS_VARIABLE] = ",".join(plugins)
    os.environ.setdefault(CURSOR_SECRET_VARIABLE, secrets.token_hex(32))
    uvicorn.run(
        "crmcms.entrypoints.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
