"""Calling plugin hooks on the engine's hot paths without pluggy's per-call bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from crmcms.plugins import PluginManager

__all__ = ["FastHook"]


class FastHook:
    """One hook, called the way pluggy would call it, at a fraction of the cost.

    A transition calls three hooks (the client directory and one event per history entry);
    through ``pm.hook`` each costs about as much as evaluating all of the transition's
    rules. When every implementation is a plain function taking the hook's arguments (no
    wrappers, no subset of the arguments) and nobody traces or monitors hook calls, calling
    the implementations in pluggy's order — last registered first, ``firstresult`` stopping
    at the first answer that is not ``None`` — is all pluggy does, so that is what this
    does, with the arguments in the order of the hook's specification. Anything else goes
    through pluggy itself.

    The plan is made from pluggy's public description of the implementations
    (``get_hookimpls``) and redone whenever :attr:`PluginManager.changes
    <crmcms.plugins.PluginManager.changes>` moved, so plugins registered or unregistered
    later are seen at once. A manager of another class gives no such count: every call
    then goes through pluggy.
    """

    __slots__ = ("_caller", "_counter", "_functions", "_seen", "argnames", "firstresult", "name")

    def __init__(self, plugins: pluggy.PluginManager, name: str) -> None:
        self.name = name
        self._counter = plugins if isinstance(plugins, PluginManager) else None
        self._caller: Any = getattr(plugins.hook, name)
        spec = self._caller.spec
        self.firstresult = bool(spec is not None and spec.opts.get("firstresult", False))
        self.argnames: tuple[str, ...] = tuple(spec.argnames) if spec is not None else ()
        self._seen = -1
        """The manager's change count the plan was made at (-1: none made yet)."""
        self._functions: tuple[Callable[..., Any], ...] | None = None

    def _plan(self) -> tuple[Callable[..., Any], ...] | None:
        pm = self._counter
        if pm is None:  # no change count: pluggy makes every call
            return None
        self._seen = pm.changes
        impls = self._caller.get_hookimpls()
        plain = pm.monitors == 0 and all(
            not (i.hookwrapper or i.wrapper or i.kwargnames) and tuple(i.argnames) == self.argnames
            for i in impls
        )
        functions = self._functions = tuple(i.function for i in reversed(impls)) if plain else None
        return functions

    def implemented(self) -> bool:
        """Whether any plugin implements the hook now."""
        return bool(self._caller.get_hookimpls())

    def plain(self) -> tuple[Callable[..., Any], ...] | None:
        """The implementations to call directly, in order, or ``None`` when pluggy must make
        the call. Only good for calls made right away: plugins may come and go."""
        counter = self._counter
        if counter is not None and counter.changes == self._seen:
            return self._functions
        return self._plan()

    def __call__(self, *args: Any) -> Any:
        """Call the hook with its arguments in the order its specification names them."""
        counter = self._counter
        if counter is not None and counter.changes == self._seen:
            functions = self._functions
        else:
            functions = self._plan()
        if functions is None:
            return self._caller(**dict(zip(self.argnames, args, strict=True)))
        if self.firstresult:
            if len(functions) == 1:  # the usual case (one client directory): no loop
                return functions[0](*args)
            for function in functions:
                result = function(*args)
                if result is not None:
                    return result
            return None
        results = []
        for function in functions:
            result = function(*args)
            if result is not None:
                results.append(result)
        return results

    def call(self, **kwargs: Any) -> Any:
        """Call the hook with keyword arguments, as ``pm.hook.<name>(**kwargs)`` takes them."""
        return self(*[kwargs[name] for name in self.argnames])
