"""Calling plugin hooks on the engine's hot paths without pluggy's per-call bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["FastHook"]

_PLAIN_LOOP: Any
try:  # The loop pluggy runs when nobody traces or monitors hook calls.
    from pluggy._callers import _multicall as _PLAIN_LOOP
except ImportError:  # pragma: no cover - another pluggy layout: always go through pluggy
    _PLAIN_LOOP = None

_Call = tuple[Callable[..., Any], tuple[str, ...] | None]


class FastHook:
    """One hook, called the way pluggy would call it, at a fraction of the cost.

    A transition calls three hooks (the client directory and one event per history entry);
    through ``pm.hook`` each call costs more than the rest of the transition's rule work.
    When every implementation is a plain function (no wrappers) and nobody traces or
    monitors hook calls, calling the implementations in pluggy's order — last registered
    first, ``firstresult`` stopping at the first answer that is not ``None`` — is all pluggy
    does, so that is what this does. Anything else goes through pluggy itself.

    The implementations are re-read on every call (a list copy) and the plan redone when
    they differ, so plugins registered or unregistered later are seen at once.
    """

    __slots__ = ("_caller", "_calls", "_firstresult", "_pm", "_seen", "name")

    def __init__(self, plugins: pluggy.PluginManager, name: str) -> None:
        self.name = name
        self._pm = plugins
        self._caller: Any = getattr(plugins.hook, name)
        spec = self._caller.spec
        self._firstresult = bool(spec is not None and spec.opts.get("firstresult", False))
        self._seen: list[Any] | None = None
        self._calls: tuple[_Call, ...] | None = None

    def _plan(self, impls: list[Any]) -> tuple[_Call, ...] | None:
        self._seen = impls
        traced = getattr(self._pm, "_inner_hookexec", None) is not _PLAIN_LOOP
        special = any(i.hookwrapper or i.wrapper or i.kwargnames for i in impls)
        if _PLAIN_LOOP is None or traced or special:
            self._calls = None
        else:
            # An implementation taking every argument of the hook (the usual case) is called
            # with the caller's keywords as they are; others get just the ones they name.
            every = set(self._caller.spec.argnames) if self._caller.spec else set()
            self._calls = tuple(
                (i.function, None if set(i.argnames) == every else tuple(i.argnames))
                for i in reversed(impls)
            )
        return self._calls

    def implemented(self) -> bool:
        """Whether any plugin implements the hook now."""
        return bool(self._caller.get_hookimpls())

    def __call__(self, **kwargs: Any) -> Any:
        impls = self._caller.get_hookimpls()
        calls = self._calls
        # pluggy swaps its call loop for a wrapper while tracing or monitoring hook calls.
        if impls != self._seen or getattr(self._pm, "_inner_hookexec", None) is not _PLAIN_LOOP:
            calls = self._plan(impls)
        if calls is None:
            return self._caller(**kwargs)
        if self._firstresult:
            for function, names in calls:
                result = function(**(kwargs if names is None else {n: kwargs[n] for n in names}))
                if result is not None:
                    return result
            return None
        results = []
        for function, names in calls:
            result = function(**(kwargs if names is None else {n: kwargs[n] for n in names}))
            if result is not None:
                results.append(result)
        return results
