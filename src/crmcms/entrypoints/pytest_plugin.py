"""A pytest plugin that collects route test files (``*.crmtest``) as test items.

Installed with crmcms (entry point ``pytest11``); without the entry point, load it with
``pytest -p crmcms.entrypoints.pytest_plugin``. The definitions a file is tested against come from
``--crm-definitions PATH`` (repeatable), else the ini option ``crm_definitions``, else the
``.crm`` files of the nearest directory, the file's own or a parent, that holds any.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from crmcms.errors import CrmcmsError

if TYPE_CHECKING:
    from crmcms.dsl.route_tests import RouteTest, RouteTestFile
    from crmcms.model import Catalog
    from crmcms.testing.route_tests import RouteTestResult

__all__ = ["RouteTestFailed", "RouteTestItem", "RouteTestModule", "definitions_for"]

# Installed plugins load in every pytest run of every project that has crmcms installed: this
# module lives outside crmcms.testing (whose strategies import hypothesis and the storage) and
# imports the engine only when a route test file is collected.
_CATALOGS = pytest.StashKey[dict[tuple[Path, ...], "Catalog"]]()
SUFFIX = ".crmtest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crmcms", "route test files (*.crmtest)")
    group.addoption(
        "--crm-definitions",
        action="append",
        default=[],
        metavar="PATH",
        help="Definition files or directories route test files are run against "
        "(default: the .crm files of the nearest directory holding any).",
    )
    parser.addini(
        "crm_definitions",
        type="paths",
        default=[],
        help="Definition files or directories route test files are run against.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CATALOGS] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == SUFFIX:
        module: RouteTestModule = RouteTestModule.from_parent(parent, path=file_path)
        return module
    return None


def definitions_for(config: pytest.Config, file_path: Path) -> tuple[Path, ...]:
    """Where the definitions of ``file_path`` are: the option, the ini option, or the nearest
    directory with ``.crm`` files (the file's own, then its parents up to the root dir)."""
    given = [Path(p) for p in config.getoption("crm_definitions") or ()]
    if given:
        return tuple(p if p.is_absolute() else config.invocation_params.dir / p for p in given)
    ini: list[Path] = config.getini("crm_definitions")
    if ini:
        return tuple(ini)
    root = config.rootpath
    for directory in (file_path.parent, *file_path.parent.parents):
        if any(directory.glob("*.crm")):
            return (directory,)
        if directory == root:
            break
    return ()


def _catalog(config: pytest.Config, paths: tuple[Path, ...]) -> Catalog:
    from crmcms.dsl.definitions.loader import load_catalog

    cache = config.stash[_CATALOGS]
    if paths not in cache:
        cache[paths] = load_catalog(paths)
    return cache[paths]


class RouteTestFailed(AssertionError):
    """A route test whose expectations did not all hold."""

    def __init__(self, result: RouteTestResult) -> None:
        self.result = result
        super().__init__("\n".join(f.render() for f in result.failures))


class RouteTestModule(pytest.File):
    """One ``*.crmtest`` file: a test item for each ``test "..." { }`` in it."""

    def collect(self) -> Iterator[RouteTestItem]:
        from crmcms.dsl.route_tests import parse_route_tests

        paths = definitions_for(self.config, self.path)
        if not paths:
            raise self.CollectError(
                f"{self.path}: no definitions to test against: no .crm file beside it or above "
                "it; give --crm-definitions PATH or the ini option crm_definitions"
            )
        try:
            parsed = parse_route_tests(self.path.read_text(encoding="utf-8"), file=str(self.path))
            catalog = _catalog(self.config, paths)
        except CrmcmsError as exc:
            raise self.CollectError(str(exc)) from None
        for test in parsed.tests:
            item: RouteTestItem = RouteTestItem.from_parent(
                self, name=test.name, test=test, parsed=parsed, catalog=catalog
            )
            yield item


class RouteTestItem(pytest.Item):
    """One route test, run on a fresh in-memory engine."""

    def __init__(
        self,
        *,
        test: RouteTest,
        parsed: RouteTestFile,
        catalog: Catalog,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.test = test
        self.parsed = parsed
        self.catalog = catalog

    def runtest(self) -> None:
        from crmcms.testing.route_tests import run_route_test

        result = run_route_test(self.catalog, self.test, self.parsed)
        if not result.passed:
            raise RouteTestFailed(result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, RouteTestFailed | CrmcmsError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.test.span.line - 1, f"route test: {self.name}"
