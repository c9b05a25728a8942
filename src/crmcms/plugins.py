"""The plugin manager: built-in plugins, entry-point plugins and ones you register yourself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from crmcms import hookspec
from crmcms.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from crmcms.dsl.schema import RuleType, Schema, SchemaBuilder

__all__ = ["ENTRY_POINT_GROUP", "hookimpl", "make_plugin_manager", "rule_schema"]

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


def rule_schema(
    plugin_manager: pluggy.PluginManager,
    *,
    attributes: Mapping[str, RuleType] | None = None,
    configure: Callable[[SchemaBuilder], None] | None = None,
) -> Schema:
    """What rules may see with these plugins: their ``crmcms_rule_schema`` and
    ``crmcms_rule_functions`` (the built-in objects and functions come from the built-in
    plugin, unless the manager was made without it).

    ``attributes`` declares topic attribute types by code (``{"168": DATE}``), after which
    unknown codes are errors; ``configure`` may add anything else before the schema freezes.
    """
    # Imported here: a plugin module importing hookimpl need not load the rule language.
    from crmcms.dsl.schema import SchemaBuilder

    pm = plugin_manager
    builder = SchemaBuilder()
    _call("crmcms_rule_schema", lambda: pm.hook.crmcms_rule_schema(schema=builder))
    for group in _call("crmcms_rule_functions", pm.hook.crmcms_rule_functions):
        for fn in group or ():
            builder.function(fn)
    builder.declare_attributes(attributes or {})
    if configure is not None:
        configure(builder)
    return builder.build_schema()


def _call(hook: str, run: Callable[[], Any]) -> Any:
    try:
        return run()
    except (ConfigurationError, PluginError):
        raise
    except Exception as exc:  # a plugin's bug should name the hook, not look like ours
        raise PluginError("<rule schema>", hook, f"{type(exc).__name__}: {exc}") from exc
