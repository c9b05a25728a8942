"""Commands for definition files: ``crmcms check``, ``crmcms fmt`` and ``crmcms graph``."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from crmcms.dsl.definitions.formatter import format_source
from crmcms.dsl.definitions.loader import check_paths, definition_files, load_catalog
from crmcms.dsl.definitions.plugin_functions import PluginFunctions
from crmcms.dsl.definitions.route_graph import render_dot, route_dot, route_mermaid
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import DslError

__all__ = [
    "PATHS",
    "check",
    "definition_paths",
    "fmt",
    "graph",
    "installed_functions",
    "installed_schema",
]

PATHS = click.argument(
    "paths", nargs=-1, type=click.Path(exists=True, path_type=Path), required=False
)


def definition_paths(paths: tuple[Path, ...]) -> list[Path]:
    """The definition files a command's ``PATHS`` name (directories: every *.crm inside;
    none: the current directory)."""
    return definition_files(paths or (Path("."),))


def installed_schema() -> Schema:
    """What rules may see with the installed plugins: the schema the commands check with, as
    an engine started with the default plugins runs them."""
    from crmcms.plugins import make_plugin_manager, rule_schema

    return rule_schema(make_plugin_manager())


def installed_functions() -> PluginFunctions:
    """The business functions and handler actions the installed plugins provide."""
    from crmcms.plugins import make_plugin_manager, plugin_functions

    return plugin_functions(make_plugin_manager())


@click.command()
@PATHS
def check(paths: tuple[Path, ...]) -> None:
    """Load and check definition files (directories: every *.crm inside, default: .).

    Prints every problem as file:line:column: message with the source line, and exits
    with status 1 if there is any.
    """
    files = definition_paths(paths)
    problems = check_paths(files, schema=installed_schema(), functions=installed_functions())
    for problem in problems:
        click.echo(problem.render(), err=True)
    if problems:
        count = len(problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)
        sys.exit(1)
    click.echo(f"{len(files)} file{'s' if len(files) != 1 else ''} checked, no problems")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, allow_dash=True, path_type=Path))
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change."
)
@click.option("--diff", "show_diff", is_flag=True, help="Print what would change; change nothing.")
def fmt(paths: tuple[Path, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite definition files in the canonical layout, keeping comments.

    With no option, files are changed in place; "-" formats standard input to standard output.
    """
    if [str(p) for p in paths] == ["-"]:
        click.echo(format_source(sys.stdin.read(), file="<stdin>"), nl=False)
        return
    changed, failed = [], False
    for path in definition_paths(paths):
        text = path.read_text(encoding="utf-8")
        try:
            formatted = format_source(text, file=str(path))
        except DslError as err:
            click.echo(err.render(), err=True)
            failed = True
            continue
        if formatted == text:
            continue
        changed.append(path)
        if show_diff:
            click.echo(
                "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        str(path),
                        str(path),
                    )
                ),
                nl=False,
            )
        elif check_only:
            click.echo(f"would reformat {path}", err=True)
        else:
            path.write_text(formatted, encoding="utf-8")
            click.echo(f"reformatted {path}")
    if failed or ((check_only or show_diff) and changed):
        sys.exit(1)


@click.command()
@click.argument("route")
@PATHS
@click.option(
    "--version", "version", type=int, default=None, help="Route version (default: current)."
)
@click.option(
    "--format",
    "fmt_name",
    type=click.Choice(["mermaid", "dot", "svg", "png"]),
    default="mermaid",
    show_default=True,
    help="svg and png need Graphviz's dot program.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not to stdout.")
def graph(
    route: str, paths: tuple[Path, ...], version: int | None, fmt_name: str, output: Path | None
) -> None:
    """Draw ROUTE from the definition files: processes, queues, transitions and conditions."""
    catalog = load_catalog(definition_paths(paths), schema=installed_schema())
    if fmt_name == "mermaid":
        data: bytes = route_mermaid(catalog, route, version).encode()
    else:
        source = route_dot(catalog, route, version)
        data = source.encode() if fmt_name == "dot" else render_dot(source, fmt_name)
    if output is not None:
        output.write_bytes(data)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
