"""``crmcms rule check`` and ``crmcms rule eval``: the rule language from the command line."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from crmcms.dsl.rules.compiled_rule import compile_rule
from crmcms.dsl.rules.explain import format_rule_literal
from crmcms.dsl.rules.schema import RuleType, Schema, type_named
from crmcms.entrypoints.definitions_cli import installed_schema
from crmcms.errors import ConfigurationError, DefinitionError

__all__ = ["rule"]


def _schema(
    attributes: tuple[str, ...], definitions: tuple[str, ...] = (), topic: str | None = None
) -> Schema:
    if definitions:
        if attributes:
            raise click.UsageError("give either --definitions or --attribute, not both")
        from crmcms.dsl.definitions.checks import catalog_schema
        from crmcms.dsl.definitions.loader import load_catalog

        base = installed_schema()
        return catalog_schema(load_catalog(list(definitions), schema=base), topic, base=base)
    if topic is not None:
        raise click.UsageError("--topic needs --definitions")
    if not attributes:
        return installed_schema()
    declared: dict[str, RuleType] = {}
    for item in attributes:
        code, sep, type_name = item.partition("=")
        if not sep or not code.strip():
            raise click.BadParameter(f"{item!r} is not CODE=TYPE", param_hint="--attribute")
        try:
            declared[code.strip()] = type_named(type_name)
        except ConfigurationError as exc:
            raise click.BadParameter(str(exc), param_hint="--attribute") from None
    from crmcms.plugins import make_plugin_manager, rule_schema

    return rule_schema(make_plugin_manager(), attributes=declared)


_ATTRIBUTE_OPTION = click.option(
    "--attribute",
    "attributes",
    multiple=True,
    metavar="CODE=TYPE",
    help="Declare a topic attribute's type (date, decimal, string, boolean, ...); "
    "once one is declared, unknown codes are errors.",
)


def _definitions_options(command: Any) -> Any:
    command = click.option(
        "--topic",
        default=None,
        help="With --definitions: only this topic's attributes (own and inherited) exist.",
    )(command)
    return click.option(
        "--definitions",
        "definitions",
        multiple=True,
        type=click.Path(exists=True),
        help="Definition files or folders (*.crm): attribute codes and types come from "
        "their topics. Repeatable.",
    )(command)


def _compile(expression: str, schema: Schema) -> Any:
    try:
        return compile_rule(expression, schema=schema, file="<expression>")
    except DefinitionError as exc:
        click.echo(str(exc), err=True)
        raise click.exceptions.Exit(1) from None


@click.group()
def rule() -> None:
    """Check and evaluate rule expressions (the built-in schema unless told otherwise)."""


@rule.command("check")
@click.argument("expression")
@_ATTRIBUTE_OPTION
@_definitions_options
def check(
    expression: str, attributes: tuple[str, ...], definitions: tuple[str, ...], topic: str | None
) -> None:
    """Parse and type-check EXPRESSION; print every problem, or "ok" and the paths it reads."""
    compiled = _compile(expression, _schema(attributes, definitions, topic))
    click.echo("ok")
    for path in compiled.paths:
        click.echo(f"  reads {path}")


@rule.command("eval")
@click.argument("expression")
@click.option(
    "--data",
    "data_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help='JSON record, e.g. {"Client": {"Category": "BIS"}}; "-" reads standard input.',
)
@click.option("--explain", is_flag=True, help="Show the value of every sub-expression.")
@_ATTRIBUTE_OPTION
@_definitions_options
def evaluate(
    expression: str,
    data_file: Any,
    explain: bool,
    attributes: tuple[str, ...],
    definitions: tuple[str, ...],
    topic: str | None,
) -> None:
    """Evaluate EXPRESSION over one JSON record and print true or false."""
    schema = _schema(attributes, definitions, topic)
    compiled = _compile(expression, schema)
    try:
        raw = json.load(data_file, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    if not isinstance(raw, dict):
        raise click.BadParameter("the JSON must be an object", param_hint="--data")
    data = schema.convert(raw)
    if explain:
        click.echo(compiled.explain(data).render())
    else:
        click.echo(format_rule_literal(compiled.evaluate(data)))
