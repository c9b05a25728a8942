"""`call NAME` in handlers and escalation levels, checked against what plugins provide."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crmcms import hookimpl
from crmcms.dsl.definitions.loader import check_sources
from crmcms.dsl.definitions.plugin_functions import PluginFunctions
from crmcms.entrypoints import definitions_cli
from crmcms.entrypoints.cli import cli
from crmcms.plugins import make_plugin_manager, plugin_functions

TEXT = """
operator olga "Olga"
topic T "T"
queue Q "Q" { processes: a }
route R "R" {
    topics: T
    on appeal_created: call billing.check
    on appeal_closed: record_closure(reason: "done")
    process a "A" initial {
        deadline: 4h business {
            at 50%: notify olga
            at +0: notify olga and call record_risk
        }
    }
    process b "B" final
    transition a -> b "Go"
}
"""


def problems(functions: PluginFunctions | None) -> list[str]:
    found = check_sources({"r.crm": TEXT}, functions=functions)[1]
    return [f"{p.span.line}:{p.span.column}: {p.message}" for p in found]


def test_without_the_plugins_the_names_are_not_checked() -> None:
    assert problems(None) == []


def test_every_name_no_plugin_provides_is_reported_where_it_is_written() -> None:
    assert problems(PluginFunctions()) == [
        "7:29: no installed plugin provides business function 'billing.check' (in route R v1)",
        "8:23: no installed plugin provides handler action 'record_closure' (in route R v1)",
        "12:41: no installed plugin provides business function 'record_risk' (in process a)",
    ]


def test_names_the_plugins_provide_pass() -> None:
    given = PluginFunctions.of(["billing.check", "record_risk"], ["record_closure"])
    assert problems(given) == []


def test_a_handler_may_name_a_business_function_as_its_action() -> None:
    given = PluginFunctions.of(["billing.check", "record_risk", "record_closure"])
    assert problems(given) == []


def test_a_near_miss_gets_a_hint() -> None:
    given = PluginFunctions.of(["billing.check", "record_risks"], ["record_closure"])
    found = check_sources({"r.crm": TEXT}, functions=given)[1]
    assert [p.hint for p in found] == ["did you mean 'record_risks'?"]


class Billing:
    @hookimpl
    def crmcms_business_functions(self) -> Mapping[str, Any]:
        return {"billing.check": print, "record_risk": print}

    @hookimpl
    def crmcms_handler_actions(self) -> Mapping[str, Any]:
        return {"record_closure": print}


def test_plugin_functions_reads_what_registered_plugins_provide() -> None:
    pm = make_plugin_manager([Billing()], load_entry_points=False)
    assert plugin_functions(pm) == PluginFunctions.of(
        ["billing.check", "record_risk"], ["record_closure"]
    )


@pytest.mark.parametrize(("plugins", "code"), [([], 1), ([Billing()], 0)])
def test_crmcms_check_holds_calls_to_the_installed_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugins: list[object], code: int
) -> None:
    (tmp_path / "r.crm").write_text(TEXT, encoding="utf-8")
    monkeypatch.setattr(
        definitions_cli,
        "installed_functions",
        lambda: plugin_functions(make_plugin_manager(plugins, load_entry_points=False)),
    )
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == code, result.output
    if code:
        assert "no installed plugin provides business function 'record_risk'" in result.output
