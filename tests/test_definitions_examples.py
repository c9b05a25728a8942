"""The telecom example files, the language reference's examples and the commands around them."""

from __future__ import annotations

import pathlib
import re
import shutil
import sys

import attrs
import pytest
from click.testing import CliRunner

from crmcms import load_catalog
from crmcms.dsl import check_sources, dump_catalog, format_source, load_catalog_text
from crmcms.dsl.definitions.route_graph import dot_available, route_dot, route_mermaid
from crmcms.entrypoints.cli import cli
from crmcms.model import Catalog

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "telecom"
DOCS = ROOT / "docs" / "dsl.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.telecom.seed_catalog import build_catalog  # noqa: E402


@pytest.fixture(scope="module")
def loaded() -> Catalog:
    return load_catalog([EXAMPLES])


def _by_code(catalog: Catalog) -> dict[str, object]:
    # The order of definitions within a kind carries no meaning; files group them by theme.
    out: dict[str, object] = {}
    for field in attrs.fields(Catalog):
        if field.init:
            items = getattr(catalog, field.name)
            out[field.name] = sorted(items, key=lambda i: repr(getattr(i, "key", i.code)))
    return out


def test_the_example_files_are_the_seed_configuration(loaded: Catalog) -> None:
    assert _by_code(loaded) == _by_code(build_catalog())


def test_the_seed_screens_read_back_from_the_files(loaded: Catalog) -> None:
    route = loaded.route("TERMINATION")
    assert loaded.route_versions("TERMINATION") == (1, 2)
    override = route.process("transfer_sd").override("169")
    assert override is not None
    assert override.hidden is not None
    assert override.hidden.value
    assert loaded.rule("ONLY_BIS").expression == 'Клиент.Категория = "BIS"'
    assert loaded.template("30").name == "пробный"
    assert (
        loaded.place_by_path(
            "Головной офис\\Отдел обслуживания корпоративных клиентов\\VIP отдел"
        ).code
        == "VIP"
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.crm")), ids=lambda p: p.name)
def test_example_files_are_formatted(path: pathlib.Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_source(text, file=str(path)) == text


def test_a_dumped_catalog_loads_back(loaded: Catalog) -> None:
    assert load_catalog_text(dump_catalog(loaded)) == loaded


# --- docs/dsl.md -------------------------------------------------------------------------

BLOCKS = re.findall(r"```(crm|crm-error)\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_the_reference_examples_load_together_and_are_formatted() -> None:
    good = {f"docs/dsl.md#{i}": b for i, (kind, b) in enumerate(BLOCKS) if kind == "crm"}
    assert len(good) >= 6
    catalog, problems = check_sources(good)
    assert [p.render() for p in problems] == []
    assert catalog is not None
    assert catalog.route("TERMINATION_ROUTE").version == 2
    for block in good.values():
        assert format_source(block) == block


@pytest.mark.parametrize(
    "block", [b for kind, b in BLOCKS if kind == "crm-error"], ids=lambda b: b.splitlines()[0]
)
def test_the_reference_error_examples_fail_as_documented(block: str) -> None:
    expected = block.splitlines()[0].removeprefix("# error: ")
    _, problems = check_sources({"example.crm": block})
    assert any(p.message.startswith(expected) for p in problems), [p.message for p in problems]
    assert format_source(block) == block


# --- commands ----------------------------------------------------------------------------


def test_check_command_passes_the_examples() -> None:
    result = CliRunner().invoke(cli, ["check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert "10 files checked, no problems" in result.output


def test_check_command_reports_every_problem_with_positions(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.crm"
    bad.write_text('topic T "t"\nqueue Q "q" { members: nobody, role NOROLE }\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{bad}:2:24: unknown operator 'nobody'" in result.output
    assert f"{bad}:2:37: unknown role 'NOROLE'" in result.output
    assert "2 problems found" in result.output


def test_fmt_check_diff_and_in_place(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "q.crm"
    path.write_text('queue Q "q" { processes: a }  # keep me\n', encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(cli, ["fmt", "--check", str(path)])
    assert checked.exit_code == 1
    assert "would reformat" in checked.output
    diff = runner.invoke(cli, ["fmt", "--diff", str(path)])
    assert "+    processes: a" in diff.output
    assert runner.invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_text(encoding="utf-8") == 'queue Q "q" {  # keep me\n    processes: a\n}\n'
    assert runner.invoke(cli, ["fmt", "--check", str(path)]).exit_code == 0
    piped = runner.invoke(cli, ["fmt", "-"], input='channel  PHONE   "Phone"')
    assert piped.output == 'channel PHONE "Phone"\n'


@pytest.mark.parametrize("command", ["check", "fmt", "graph"])
def test_commands_have_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_graph_mermaid_and_dot(loaded: Catalog) -> None:
    mermaid = route_mermaid(loaded, "TERMINATION")
    assert mermaid.startswith("flowchart LR")
    assert "when ONLY_BIS: Клиент.Категория = #quot;BIS#quot;" in mermaid
    assert "queues: 67 (NOT_PSKOV), 79 (PSKOV), 14" in mermaid
    dot = route_dot(loaded, "TERMINATION", 1)
    assert dot.startswith('digraph "TERMINATION"')
    assert "p_closed [label=" in dot
    result = CliRunner().invoke(cli, ["graph", "TERMINATION", str(EXAMPLES), "--format", "dot"])
    assert result.exit_code == 0
    assert "digraph" in result.output


@pytest.mark.skipif(not dot_available(), reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_graph_pictures_through_dot(tmp_path: pathlib.Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"route.{fmt}"
    args = ["graph", "TERMINATION", str(EXAMPLES), "--format", fmt, "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert magic in out.read_bytes()[:400]


def test_the_documented_picture_is_current() -> None:
    if not dot_available():
        pytest.skip("Graphviz's dot program is not installed")
    assert shutil.which("dot") is not None
    assert (ROOT / "docs" / "images" / "termination-route.svg").read_text().count("<svg") == 1
