"""The plugin manager: built-in plugins, entry-point plugins and ones you register yourself."""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from crmcms import hookspec
from crmcms.errors import PluginError

__all__ = ["ENTRY_POINT_GROUP", "hookimpl", "make_plugin_manager"]

ENTRY_POINT_GROUP = "crmcms"

hookimpl = pluggy.HookimplMarker(hookspec.PROJECT)


def make_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    load_entry_points: bool = True,
    builtins: bool = True,
) -> pluggy.PluginManager:
    """Build a manager with the hook specs, the built-in plugins, entry points and ``plugins``.

    Entry-point plugins (group ``crmcms``) are loaded unless ``load_entry_points`` is false,
    which tests use to stay independent of what happens to be installed.
    """
    pm = pluggy.PluginManager(hookspec.PROJECT)
    pm.add_hookspecs(hookspec)
    if builtins:
        from crmcms import builtin

        pm.register(builtin, name="crmcms.builtin")
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party package must not look like our bug
            raise PluginError("<entry point>", "load", str(exc)) from exc
    for plugin in plugins:
        pm.register(plugin)
    return pm
