"""The names plugins give handlers and escalation levels to call, for checking definitions."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["BUILTIN_HANDLER_ACTIONS", "PluginFunctions"]

BUILTIN_HANDLER_ACTIONS = frozenset({"call", "escalate", "notify"})
"""The actions every engine runs without a plugin."""


@attrs.frozen
class PluginFunctions:
    """What the installed plugins provide: ``business`` functions
    (``crmcms_business_functions``) and handler ``actions`` (``crmcms_handler_actions``).

    Definitions are checked against it only when it is given: without the plugins a name
    cannot be known, so the engine reports a missing one when it is called.
    """

    business: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, business: Iterable[str] = (), actions: Iterable[str] = ()) -> PluginFunctions:
        """The names given, as a :class:`PluginFunctions`."""
        return cls(frozenset[str](business), frozenset[str](actions))

    def handler_actions(self) -> frozenset[str]:
        """Every name a handler may give as its action: the built-in actions, the plugins'
        handler actions and their business functions (a handler may name one directly)."""
        return BUILTIN_HANDLER_ACTIONS | self.actions | self.business
