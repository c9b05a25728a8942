"""Calling plugin hooks on the engine's hot paths without pluggy's per-call bookkeeping."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pluggy

__all__ = ["FastHook"]

_PLAIN_LOOP: Any
try:  # The loop pluggy runs when nobody traces or monitors hook calls.
    from pluggy._callers import _multicall as _PLAIN_LOOP
except ImportError:  # pragma: no cover - another pluggy layout: always go through pluggy
    _PLAIN_LOOP = None


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

    The implementations are compared with the planned ones on every call (a copy of them
    is kept) and the plan redone when they differ, so plugins registered or unregistered
    later are seen at once.
    """

    __slots__ = (
        "_caller",
        "_functions",
        "_live",
        "_pm",
        "_seen",
        "argnames",
        "firstresult",
        "name",
    )

    def __init__(self, plugins: pluggy.PluginManager, name: str) -> None:
        self.name = name
        self._pm = plugins
        self._caller: Any = getattr(plugins.hook, name)
        spec = self._caller.spec
        self.firstresult = bool(spec is not None and spec.opts.get("firstresult", False))
        self.argnames: tuple[str, ...] = tuple(spec.argnames) if spec is not None else ()
        self._seen: list[Any] | None = None
        # pluggy's own list of implementations, changed in place as plugins come and go:
        # compared with a copy of it without copying it each call. The public copy otherwise.
        live = getattr(self._caller, "_hookimpls", None)
        self._live: list[Any] | None = live if isinstance(live, list) else None
        self._functions: tuple[Callable[..., Any], ...] | None = None

    def _plan(self, impls: list[Any]) -> None:
        self._seen = impls
        traced = getattr(self._pm, "_inner_hookexec", None) is not _PLAIN_LOOP
        plain = all(
            not (i.hookwrapper or i.wrapper or i.kwargnames) and tuple(i.argnames) == self.argnames
            for i in impls
        )
        ok = _PLAIN_LOOP is not None and not traced and plain
        self._functions = tuple(i.function for i in reversed(impls)) if ok else None

    def live_implementations(self) -> Sequence[Any]:
        """pluggy's own list of the hook's implementations, which it changes in place as
        plugins come and go (so it tells later whether any is registered), or a non-empty
        stand-in where that list cannot be reached."""
        return self._live if self._live is not None else (None,)

    def implemented(self) -> bool:
        """Whether any plugin implements the hook now."""
        return bool(self._caller.get_hookimpls())

    def plain(self) -> tuple[Callable[..., Any], ...] | None:
        """The implementations to call directly, in order, or ``None`` when pluggy must make
        the call. Only good for calls made right away: plugins may come and go."""
        live = self._live
        impls = self._caller.get_hookimpls() if live is None else live
        # pluggy swaps its call loop for a wrapper while tracing or monitoring hook calls.
        if impls != self._seen or getattr(self._pm, "_inner_hookexec", None) is not _PLAIN_LOOP:
            self._plan(list(impls))
        return self._functions

    def __call__(self, *args: Any) -> Any:
        """Call the hook with its arguments in the order its specification names them."""
        live = self._live
        impls = self._caller.get_hookimpls() if live is None else live
        if impls != self._seen or getattr(self._pm, "_inner_hookexec", None) is not _PLAIN_LOOP:
            self._plan(list(impls))
        functions = self._functions
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
