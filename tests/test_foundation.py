"""The package's front door, its errors and its plugin manager."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

import crmcms
from crmcms import errors

SRC = pathlib.Path(crmcms.__file__).parent


def test_version_comes_from_package_metadata() -> None:
    assert crmcms.__version__ != "0.0.0"


def test_all_is_sorted_and_resolvable() -> None:
    assert list(crmcms.__all__) == sorted(crmcms.__all__)
    for name in crmcms.__all__:
        assert hasattr(crmcms, name), name


def test_the_front_door_loads_its_names_on_first_use() -> None:
    code = (
        "import sys, crmcms\n"
        "heavy = ('sqlalchemy', 'alembic', 'pluggy', 'lark', 'crmcms.engine', 'crmcms.storage')\n"
        "assert not [m for m in heavy if m in sys.modules], sorted(sys.modules)\n"
        "assert set(crmcms.__all__) <= set(dir(crmcms))\n"
        "crmcms.SqlStore\n"
        "assert 'sqlalchemy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_rule_language_loads_neither_the_database_nor_the_plugin_system() -> None:
    code = (
        "import sys, crmcms.dsl\n"
        "heavy = ('sqlalchemy', 'pluggy', 'crmcms.plugins', 'crmcms.engine', 'crmcms.storage')\n"
        "assert not [m for m in heavy if m in sys.modules], sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_names_are_the_names_type_checkers_see() -> None:
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    seen = {
        node.module: tuple(alias.name for alias in node.names)
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
    }
    assert seen == crmcms._LAZY
    eager = {name for name in errors.__all__ if name in crmcms.__all__}
    lazy = {name for names in seen.values() for name in names}
    assert set(crmcms.__all__) == eager | lazy | {"__version__"}
    assert not eager & lazy


def test_plugin_authors_find_what_hooks_take_and_return() -> None:
    from crmcms import engine

    for name in ("HandlerCall", "Notification", "UnitOfWork", "UnitOfWorkFactory"):
        assert getattr(crmcms, name) is getattr(engine, name)


def test_every_public_error_derives_from_the_root() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, errors.CrmcmsError), name


def test_dsl_error_renders_location_source_line_and_caret() -> None:
    source = 'rule X "x": Client.Categry = "BIS"\n'
    err = errors.DslError(
        "unknown field 'Categry' of Client",
        errors.SourceSpan("routes.crm", 1, 20, 1, 27),
        source=source,
        hint="did you mean 'Category'?",
    )
    text = str(err)
    lines = text.splitlines()
    assert lines[0] == "routes.crm:1:20: unknown field 'Categry' of Client"
    assert lines[1].strip() == source.strip()
    caret = lines[2]
    assert caret.index("^") - 4 == 19
    assert caret.count("~") == 6
    assert lines[3].strip() == "hint: did you mean 'Category'?"


def test_definition_error_collects_every_problem_in_source_order() -> None:
    a = errors.DslError("second", errors.SourceSpan("f.crm", 9, 1))
    b = errors.DslError("first", errors.SourceSpan("f.crm", 2, 5))
    err = errors.DefinitionError([a, b])
    assert [p.message for p in err.problems] == ["first", "second"]
    assert str(err).startswith("2 problems found")
    with pytest.raises(ValueError, match="at least one"):
        errors.DefinitionError([])


def test_validation_error_names_every_attribute_code() -> None:
    err = errors.ValidationError(
        [errors.Problem("168", "is required"), errors.Problem("170", "'XX' is not in CITY")],
        subject="appeal 7",
    )
    assert err.codes() == ("168", "170")
    assert "appeal 7: 2 invalid values" in str(err)
    assert "168: is required" in str(err)


def test_concurrency_error_says_what_was_expected() -> None:
    err = errors.ConcurrencyError("appeal", 5, expected=3, actual=4)
    assert "expected version 3, found version 4" in str(err)
    assert "it is gone" in str(errors.ConcurrencyError("appeal", 5, expected=3, actual=None))


def test_malformed_values_raise_our_error_which_is_also_a_value_error() -> None:
    from crmcms.model import Flag, InputMask, ValueType, parse_value

    for build in (
        lambda: Flag(False, 'Client.Category = "BIS"'),
        lambda: InputMask("99\\"),
        lambda: InputMask("no placeholder here").fill("1"),
        lambda: parse_value(ValueType.DATE, "31.12.2026"),
        lambda: parse_value(ValueType.DECIMAL, "NaN"),
    ):
        with pytest.raises(errors.InvalidValueError) as info:
            build()
        assert isinstance(info.value, errors.CrmcmsError)
        assert isinstance(info.value, ValueError)


def test_the_layer_picture_in_the_docs_is_the_layers_contract() -> None:
    root = SRC.parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    [layers] = [
        c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    text = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("<!-- layers:", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    drawn = [re.split(r"\s{3,}", line.strip())[0] for line in block.splitlines() if line.strip()]
    assert drawn == layers
    # Every top-level module and package of crmcms is in a layer (the front door aside).
    parts = {
        p.stem if p.suffix == ".py" else p.name
        for p in SRC.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"
    }
    placed = {
        name.strip().removeprefix("crmcms.") for layer in layers for name in re.split("[:|]", layer)
    }
    assert parts == placed


def test_the_pytest_plugin_costs_nothing_in_projects_without_route_tests() -> None:
    # Installed with crmcms, it loads in every pytest run of every project that has crmcms.
    code = (
        "import sys, crmcms.entrypoints.pytest_plugin\n"
        "heavy = ('hypothesis', 'sqlalchemy', 'lark', 'crmcms.engine', 'crmcms.testing')\n"
        "assert not [m for m in heavy if m in sys.modules], sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
