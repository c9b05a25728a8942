"""The plugin manager: hook specs, built-ins, third-party plugins and entry points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy
import pytest

from crmcms import hookimpl, make_plugin_manager
from crmcms.errors import PluginError


class Billing:
    """A client directory that knows one client."""

    @hookimpl
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return {"Id": client_id, "Category": "BIS"} if client_id == "C1" else None


class Fallback:
    @hookimpl(trylast=True)
    def crmcms_find_client(self, client_id: str) -> Mapping[str, Any] | None:
        return {"Id": client_id, "Category": "UNKNOWN"}


def test_first_result_hook_returns_the_first_answer() -> None:
    pm = make_plugin_manager([Fallback(), Billing()], load_entry_points=False)
    assert pm.hook.crmcms_find_client(client_id="C1")["Category"] == "BIS"
    assert pm.hook.crmcms_find_client(client_id="C2")["Category"] == "UNKNOWN"


def test_hooks_must_be_called_with_keywords() -> None:
    pm = make_plugin_manager(load_entry_points=False)
    with pytest.raises(TypeError):
        pm.hook.crmcms_find_client("C1")


def test_a_plugin_with_an_unknown_hook_is_refused() -> None:
    class Typo:
        @hookimpl
        def crmcms_find_clinet(self, client_id: str) -> None:
            return None

    pm = make_plugin_manager([Typo()], load_entry_points=False)
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_builtins_register_as_an_ordinary_plugin() -> None:
    pm = make_plugin_manager(load_entry_points=False)
    assert pm.get_plugin("crmcms.builtin") is not None
    bare = make_plugin_manager(load_entry_points=False, builtins=False)
    assert bare.get_plugin("crmcms.builtin") is None


def test_a_broken_entry_point_is_reported_as_a_plugin_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(self: pluggy.PluginManager, group: str, name: str | None = None) -> int:
        raise ImportError("no module named 'acme_billing'")

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", boom)
    with pytest.raises(PluginError, match="acme_billing"):
        make_plugin_manager()
