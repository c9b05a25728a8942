"""Opaque page cursors: the keyset of the next page, signed so that a client cannot forge one.

A cursor is ``base64url(json) . base64url(hmac)``: the last row's id and deadline, and the
list it belongs to (a queue, a filter and tab, an order). A cursor of another list, edited
or cut short is a 400 problem, never a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime

from crmcms.http.problems import HttpProblem
from crmcms.storage.sql import PageKey

__all__ = ["MAX_PAGE", "Cursors", "page_size"]

MAX_PAGE = 200
"""The most items one page holds, whatever ``limit`` asks."""
_WIDTH = 1000
"""No cursor this API hands out is this long."""


def page_size(limit: int) -> int:
    """``limit`` if it is 1 to :data:`MAX_PAGE`; else a 400 problem."""
    if not 1 <= limit <= MAX_PAGE:
        raise HttpProblem(400, f"limit must be from 1 to {MAX_PAGE}, not {limit}")
    return limit


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    """Signs and checks cursors with ``secret`` (random per process if not given: give every
    worker of one server the same one, or a cursor works only on the worker that made it)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret if secret is not None else secrets.token_bytes(32)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:16]

    def encode(self, key: PageKey, context: str) -> str:
        deadline = None if key.deadline is None else key.deadline.isoformat()
        payload = json.dumps([key.id, deadline, context], separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, cursor: str, context: str) -> PageKey:
        """The keyset ``cursor`` holds, if this server made it for ``context``."""
        bad = HttpProblem(400, "the cursor is not valid here: start again from the first page")
        if len(cursor) > _WIDTH or cursor.count(".") != 1:
            raise bad
        head, _, tail = cursor.partition(".")
        try:
            payload, signature = _unb64(head), _unb64(tail)
        except (binascii.Error, ValueError):
            raise bad from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise bad
        try:
            id_, deadline, made_for = json.loads(payload)
            key = PageKey(int(id_), None if deadline is None else datetime.fromisoformat(deadline))
        except (ValueError, TypeError):
            raise bad from None
        if made_for != context:
            raise bad
        return key
