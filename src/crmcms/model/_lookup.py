"""Lookup by code with a did-you-mean hint for near misses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

from crmcms.errors import NotFoundError

__all__ = ["did_you_mean", "find"]

T = TypeVar("T")
K = TypeVar("K")


def did_you_mean(key: object, candidates: Iterable[object]) -> str | None:
    """A ``did you mean 'x'?`` hint naming the closest candidate, or ``None``."""
    names = {str(c): c for c in candidates}
    close = difflib.get_close_matches(str(key), list(names), n=3, cutoff=0.6)
    if not close:
        # Codes are often short ("67", "79"): a case-insensitive exact match still helps.
        lowered = [n for n in names if n.lower() == str(key).lower()]
        close = lowered
    if not close:
        return None
    return "did you mean " + " or ".join(repr(names[c]) for c in close) + "?"


def find(kind: str, index: Mapping[K, T], key: K) -> T:
    """``index[key]``, or a :class:`NotFoundError` naming ``kind`` with a hint."""
    try:
        return index[key]
    except KeyError:
        raise NotFoundError(kind, key, hint=did_you_mean(key, index)) from None
