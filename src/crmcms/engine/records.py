"""Records the engine makes on every change (history events and changes), made by functions
written for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from crmcms.errors import StorageError
from crmcms.model import Change, HistoryEvent

__all__ = ["make_change", "make_event", "replace_staged"]

T = TypeVar("T")


def _maker(cls: type[T]) -> Callable[..., T]:
    """A function making a frozen ``cls`` record from every field, in field order.

    A frozen attrs class's ``__init__`` takes keywords and sets each slot through
    ``object.__setattr__``; a function written out once for the class's fields, setting
    each slot through the slot's own descriptor, does the same work in about half the time
    (an action makes several history records). Skipping ``__init__`` skips nothing only
    while the class has no validators, converters or post-init steps, which is checked
    here, and the result is compared with ``__init__``'s.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__attrs_post_init__") or any(
        f.validator is not None or f.converter is not None for f in fields
    ):  # the function would skip what __init__ does: fail loudly instead
        raise TypeError(f"{cls.__name__} has validators or hooks; make it with its __init__")
    names = [field.name for field in fields]
    if any(name.startswith("_") for name in names):
        raise TypeError(f"{cls.__name__} has a private field")
    namespace: dict[str, Any] = {"new_instance": object.__new__, "cls": cls}
    # Local names start with an underscore, which field names here never do.
    lines = [f"def make({', '.join(names)}):", "    _record = new_instance(cls)"]
    for name in names:
        namespace[f"set_{name}"] = cls.__dict__[name].__set__
        lines.append(f"    set_{name}(_record, {name})")
    lines.append("    return _record")
    exec("\n".join(lines), namespace)
    function: Callable[..., T] = namespace["make"]
    sample = function(*range(len(names)))
    if sample != cls(**{name: i for i, name in enumerate(names)}):  # pragma: no cover
        raise TypeError(f"{cls.__name__}: a record made field by field differs from __init__'s")
    return function


make_event: Callable[..., HistoryEvent] = _maker(HistoryEvent)
"""``HistoryEvent(...)`` with every field given, in field order."""

make_change: Callable[[str, Any, Any], Change] = _maker(Change)
"""``Change(field, old, new)``."""


def replace_staged(staged: list[HistoryEvent], event: HistoryEvent) -> None:
    """Put ``event`` in place of the staged event with its id: a unit of work may amend what
    it has not committed; committed history is never edited."""
    for i in range(len(staged) - 1, -1, -1):
        if staged[i].id == event.id:
            staged[i] = event
            return
    raise StorageError(f"history event {event.id} is not staged: committed history is kept")
