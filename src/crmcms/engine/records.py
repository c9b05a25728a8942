"""Records the engine makes on every action (copies of appeals on every read and save, history
events and changes on every change), made by functions written for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from crmcms.model import Appeal, Change, HistoryEvent

__all__ = ["copy_appeal", "make_change", "make_event"]

T = TypeVar("T")


def _copier(cls: type[T], copied: frozenset[str] = frozenset()) -> Callable[[T], T]:
    """A function copying ``cls`` records field by field, ``copied`` fields as new dicts.

    ``attrs.evolve`` inspects the class on every call; a function written out once for the
    class's fields (as attrs writes its own ``__init__``) does the same work several times
    faster. Slots are set on a new instance without ``__init__``: the model records have no
    validators or post-init steps, which :func:`_check` makes sure of at import.
    """
    lines = ["def copy(old):", "    new = make(cls)"]
    namespace: dict[str, Any] = {"make": object.__new__, "cls": cls}
    for field in attrs.fields(cls):  # type: ignore[arg-type]
        name = field.name
        if name in copied:
            # Read through the slot itself: a subclass (a stored appeal) may show the
            # field as a read-only view.
            namespace[f"get_{name}"] = cls.__dict__[name].__get__
            lines.append(f"    new.{name} = dict(get_{name}(old))")
        else:
            lines.append(f"    new.{name} = old.{name}")
    lines.append("    return new")
    exec("\n".join(lines), namespace)
    function: Callable[[T], T] = namespace["copy"]
    return function


def _check(cls: type[Any]) -> None:
    """Refuse, at import, a class whose ``__init__`` does more than set its fields."""
    setattr_hook: object = cls.__setattr__
    plain = (
        (setattr_hook is object.__setattr__ or _frozen(cls))
        and not hasattr(cls, "__attrs_post_init__")
        and all(f.validator is None and f.converter is None for f in attrs.fields(cls))
    )
    if not plain:  # the functions below would skip what __init__ does: fail loudly instead
        raise TypeError(f"{cls.__name__} has validators or hooks; make it with its __init__")


def _frozen(cls: type[Any]) -> bool:
    """Whether ``cls`` is frozen (its ``__setattr__`` refuses every change, and does nothing
    else)."""
    probe = object.__new__(cls)
    try:
        setattr(probe, attrs.fields(cls)[0].name, None)
    except attrs.exceptions.FrozenInstanceError:
        return True
    return False


def _maker(cls: type[T]) -> Callable[..., T]:
    """A function making a frozen ``cls`` record from every field, in field order.

    A frozen attrs class's ``__init__`` sets each slot through ``object.__setattr__``, a
    call per field that costs several times a plain attribute store. So the record is
    made as an instance of a twin class with the same slots and no frozen ``__setattr__``,
    its fields stored plainly, and then made a ``cls`` by assigning ``__class__`` (CPython
    allows it between classes whose slots are the same). The result is the same record:
    equal, hashable and immutable. Where the assignment is refused (a class with a
    ``__weakref__`` slot, another interpreter), each slot is set through its descriptor.
    """
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    if any(name.startswith("_") for name in names):
        raise TypeError(f"{cls.__name__} has a private field")
    twin = type(f"_{cls.__name__}Fields", (object,), {"__slots__": cls.__dict__["__slots__"]})
    namespace: dict[str, Any] = {"cls": cls, "twin": twin}
    # Local names start with an underscore, which field names here never do. The twin has
    # no __init__, so calling it is the cheapest way to a blank instance.
    lines = [f"def make({', '.join(names)}):", "    _record = twin()"]
    lines += [f"    _record.{name} = {name}" for name in names]
    lines += ["    _record.__class__ = cls", "    return _record"]
    exec("\n".join(lines), namespace)
    function: Callable[..., T] = namespace["make"]
    try:
        sample = function(*range(len(names)))
    except TypeError:  # the layouts differ: one descriptor call per slot instead
        return _setting_maker(cls, names)
    expected = cls(**{name: i for i, name in enumerate(names)})
    if sample != expected:  # pragma: no cover - a guard on the technique
        raise TypeError(f"{cls.__name__}: a record made field by field differs from __init__'s")
    return function


def _setting_maker(cls: type[T], names: list[str]) -> Callable[..., T]:
    """:func:`_maker`'s fallback: each slot set through its own descriptor."""
    namespace: dict[str, Any] = {"new_instance": object.__new__, "cls": cls}
    lines = [f"def make({', '.join(names)}):", "    _record = new_instance(cls)"]
    for name in names:
        namespace[f"set_{name}"] = cls.__dict__[name].__set__
        lines.append(f"    set_{name}(_record, {name})")
    lines.append("    return _record")
    exec("\n".join(lines), namespace)
    function: Callable[..., T] = namespace["make"]
    return function


for _cls in (Appeal, HistoryEvent, Change):
    _check(_cls)

copy_appeal = _copier(Appeal, frozenset({"values"}))
"""A plain copy of an appeal (plain or stored) that shares nothing mutable with it
(``values`` is the only mutable field)."""

make_event: Callable[..., HistoryEvent] = _maker(HistoryEvent)
"""``HistoryEvent(...)`` with every field given, in field order."""

make_change: Callable[[str, Any, Any], Change] = _maker(Change)
"""``Change(field, old, new)``."""
