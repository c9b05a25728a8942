"""Copies of appeals and contacts, made often enough (every read and save) to be worth fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from crmcms.model import Appeal, Contact

__all__ = ["copy_appeal", "copy_contact"]

T = TypeVar("T")


def _copier(cls: type[T], copied: frozenset[str] = frozenset()) -> Callable[[T], T]:
    """A function copying ``cls`` records field by field, ``copied`` fields as new dicts.

    ``attrs.evolve`` inspects the class on every call; a function written out once for the
    class's fields (as attrs writes its own ``__init__``) does the same work several times
    faster. Slots are set on a new instance without ``__init__``: the model records have no
    validators or post-init steps, which :func:`_check` makes sure of at import.
    """
    lines = ["def copy(old):", "    new = make(cls)"]
    for field in attrs.fields(cls):  # type: ignore[arg-type]
        value = f"dict(old.{field.name})" if field.name in copied else f"old.{field.name}"
        lines.append(f"    new.{field.name} = {value}")
    lines.append("    return new")
    namespace: dict[str, Any] = {"make": object.__new__, "cls": cls}
    exec("\n".join(lines), namespace)
    function: Callable[[T], T] = namespace["copy"]
    return function


def _check(cls: type[Any]) -> None:
    setattr_hook: object = cls.__setattr__
    plain = (
        setattr_hook is object.__setattr__
        and not hasattr(cls, "__attrs_post_init__")
        and all(f.validator is None and f.converter is None for f in attrs.fields(cls))
    )
    if not plain:  # the copier would skip what __init__ does: fail loudly instead
        raise TypeError(f"{cls.__name__} has validators or hooks; copy it with attrs.evolve")


_check(Appeal)
_check(Contact)

copy_appeal = _copier(Appeal, frozenset({"values"}))
"""A copy of an appeal that shares nothing mutable with it (``values`` is the only mutable
field)."""

copy_contact = _copier(Contact)
"""A copy of a contact (every field is immutable)."""
