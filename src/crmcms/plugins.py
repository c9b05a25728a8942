"""The plugin manager: built-in plugins, entry-point plugins and ones you register yourself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from crmcms import hookspec
from crmcms.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from crmcms.dsl.definitions.plugin_functions import PluginFunctions
    from crmcms.dsl.rules.schema import RuleType, Schema, SchemaBuilder

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginManager",
    "hookimpl",
    "make_plugin_manager",
    "plugin_functions",
    "rule_schema",
]

ENTRY_POINT_GROUP = "crmcms"

hookimpl = pluggy.HookimplMarker(hookspec.PROJECT)


BeforeCall = Callable[[str, Sequence[pluggy.HookImpl], Mapping[str, Any]], None]
AfterCall = Callable[[pluggy.Result[Any], str, Sequence[pluggy.HookImpl], Mapping[str, Any]], None]


class PluginManager(pluggy.PluginManager):
    """pluggy's plugin manager, counting the changes to what its hooks call.

    The engine calls a few hooks on every action and calls their implementations itself
    when that is all pluggy would do (see :class:`crmcms.engine.hooks.FastHook`); ``changes``
    tells it, with one comparison, that the plan it made may be out of date: a plugin came
    or went, a hook specification was added, or hook calls began or stopped being traced
    or monitored (``monitors`` counts those now active). Everything else is pluggy's.
    """

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.changes = 0
        """Goes up on every change to the plugins, the specifications or the monitors."""
        self.monitors = 0
        """Hook call monitors now active (``enable_tracing`` adds one)."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        try:
            return super().register(plugin, name)
        finally:  # a refused registration may have added some implementations
            self.changes += 1

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        try:
            return super().unregister(plugin, name)
        finally:
            self.changes += 1

    def add_hookspecs(self, module_or_class: ModuleType | type) -> None:
        try:
            super().add_hookspecs(module_or_class)
        finally:
            self.changes += 1

    def add_hookcall_monitoring(self, before: BeforeCall, after: AfterCall) -> Callable[[], None]:
        undo = super().add_hookcall_monitoring(before, after)
        self.monitors += 1
        self.changes += 1
        done = False

        def remove() -> None:
            nonlocal done
            undo()
            if not done:
                done = True
                self.monitors -= 1
                self.changes += 1

        return remove


def make_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    load_entry_points: bool = True,
    builtins: bool = True,
) -> PluginManager:
    """Build a manager with the hook specs, the built-in plugins, entry points and ``plugins``.

    Entry-point plugins (group ``crmcms``) are loaded unless ``load_entry_points`` is false,
    which tests use to stay independent of what happens to be installed.
    """
    pm = PluginManager(hookspec.PROJECT)
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
    from crmcms.dsl.rules.schema import SchemaBuilder

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


def plugin_functions(plugin_manager: pluggy.PluginManager) -> PluginFunctions:
    """The business functions and handler actions these plugins provide, by name: what
    ``crmcms check`` holds the ``call`` of handlers and escalation levels to."""
    from crmcms.dsl.definitions.plugin_functions import PluginFunctions

    hook = plugin_manager.hook
    business = _call("crmcms_business_functions", hook.crmcms_business_functions)
    actions = _call("crmcms_handler_actions", hook.crmcms_handler_actions)
    return PluginFunctions.of(
        (name for group in business for name in group or ()),
        (name for group in actions for name in group or ()),
    )


def _call(hook: str, run: Callable[[], Any]) -> Any:
    try:
        return run()
    except (ConfigurationError, PluginError):
        raise
    except Exception as exc:  # a plugin's bug should name the hook, not look like ours
        raise PluginError("<plugins>", hook, f"{type(exc).__name__}: {exc}") from exc
