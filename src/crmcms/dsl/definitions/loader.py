"""Definition files to one immutable Catalog: every problem of every file reported at once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from crmcms.dsl.definitions.ast import SourceFile
from crmcms.dsl.definitions.build_catalog import CatalogBuilder
from crmcms.dsl.definitions.checks import LoadIndex, run_checks
from crmcms.dsl.definitions.parser import parse_definitions
from crmcms.dsl.definitions.plugin_functions import PluginFunctions
from crmcms.dsl.keywords import DECLARATION_STARTS
from crmcms.dsl.rules.schema import Schema
from crmcms.errors import DefinitionError, DslError
from crmcms.model import Catalog

__all__ = [
    "DEFINITION_SUFFIX",
    "check_paths",
    "check_sources",
    "definition_files",
    "load_catalog",
    "load_catalog_text",
]

DEFINITION_SUFFIX = ".crm"


def definition_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, with directories searched recursively for ``*.crm``, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{DEFINITION_SUFFIX}")))
        else:
            found.append(path)
    return found


def _read(paths: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    sources: dict[str, str] = {}
    for path in definition_files(paths):
        sources[str(path)] = path.read_text(encoding="utf-8")
    return sources


def check_sources(
    sources: Mapping[str, str],
    *,
    schema: Schema | None = None,
    functions: PluginFunctions | None = None,
) -> tuple[Catalog | None, list[DslError]]:
    """Parse, build and check texts keyed by file name: the catalog (if it could be built)
    and every problem found, sorted by position. Rules are checked against ``schema`` (the
    built-in one if not given; pass :func:`crmcms.plugins.rule_schema` for plugins'), and
    the business functions and handler actions named against ``functions`` when given
    (:func:`crmcms.plugins.plugin_functions`)."""
    return _load(sources, check=True, schema=schema, functions=functions)


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    schema: Schema | None = None,
    functions: PluginFunctions | None = None,
) -> list[DslError]:
    """Every problem in the definition files (directories searched for ``*.crm``)."""
    return check_sources(_read(paths), schema=schema, functions=functions)[1]


def load_catalog_text(
    sources: Mapping[str, str] | str,
    *,
    file: str = "<definitions>",
    check: bool = True,
    schema: Schema | None = None,
) -> Catalog:
    """One catalog from definition texts (a mapping of file name to text, or one text).

    Raises :class:`~crmcms.errors.DefinitionError` with every problem; ``check=False``
    skips the static checks (references, rule types, routes, queues, availability), so
    only syntax and the model's own construction rules apply. Rules are checked against
    ``schema``: the built-in one if not given, so a catalog whose rules call a plugin's
    function needs the plugins' (:func:`crmcms.plugins.rule_schema`).
    """
    texts = {file: sources} if isinstance(sources, str) else dict(sources)
    catalog, problems = _load(texts, check=check, schema=schema)
    if problems:
        raise DefinitionError(problems)
    assert catalog is not None
    return catalog


def load_catalog(
    paths: Iterable[str | os.PathLike[str]],
    *,
    check: bool = True,
    schema: Schema | None = None,
) -> Catalog:
    """One catalog from definition files; directories are searched for ``*.crm`` files.

    References between files are by code. Nothing is returned unless everything loads:
    :class:`~crmcms.errors.DefinitionError` lists every problem with file, line and column.
    """
    return load_catalog_text(_read(paths), check=check, schema=schema)


def _load(
    sources: Mapping[str, str],
    *,
    check: bool,
    schema: Schema | None = None,
    functions: PluginFunctions | None = None,
) -> tuple[Catalog | None, list[DslError]]:
    files: list[SourceFile] = []
    problems: list[DslError] = []
    for name, text in sources.items():
        try:
            files.append(parse_definitions(text, file=name))
        except DslError as err:
            problems += _syntax_errors(text, name, err)
    index = LoadIndex(dict(sources))
    catalog = CatalogBuilder(index).build(files)
    if catalog is not None and check:
        if problems:
            _check_without_broken_files(catalog, index, schema, functions)
        else:
            run_checks(catalog, index, schema=schema, functions=functions)
    problems += index.problems
    return (catalog if not problems else None), _sorted(problems)


def _check_without_broken_files(
    catalog: Catalog, index: LoadIndex, schema: Schema | None, functions: PluginFunctions | None
) -> None:
    """The checks of the files that parsed, while another file has a syntax error.

    A reference into the broken file would look unknown, and every check after the
    references follows them: so the checks run only if the files that parsed are complete
    without the broken one; otherwise only what the builder found in them is reported.
    """
    trial = attrs.evolve(index, problems=[])
    run_checks(catalog, trial, only_references=True, functions=functions)
    if not trial.problems:
        run_checks(catalog, index, schema=schema, functions=functions)


# A declaration that starts a line (as `crmcms fmt` lays them out) is where parsing can resume.
_DECLARATION_START = re.compile(r"(?:" + "|".join(sorted(DECLARATION_STARTS)) + r")\b")


def _syntax_errors(text: str, file: str, first: DslError) -> list[DslError]:
    """``first`` and the syntax errors of the declarations after it, one per declaration.

    After an error, parsing resumes at the next line that starts a declaration, with the
    lines before it blanked so positions stay true. A broken declaration can hide errors in
    the ones it swallows, but never invents one.
    """
    found = [first]
    lines = text.splitlines(keepends=True)
    after = first.span.line  # 1-based line of the last error = 0-based index of the next line
    while True:
        start = next(
            (i for i in range(after, len(lines)) if _DECLARATION_START.match(lines[i])), None
        )
        if start is None:
            return found
        try:
            parse_definitions("\n" * start + "".join(lines[start:]), file=file)
        except DslError as err:
            found.append(DslError(err.message, err.span, source=text, hint=err.hint))
            after = max(err.span.line, start + 1)
        else:
            return found


def _sorted(problems: list[DslError]) -> list[DslError]:
    return sorted(problems, key=lambda p: (p.span.file, p.span.line, p.span.column, p.message))
