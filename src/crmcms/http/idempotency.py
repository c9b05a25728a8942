"""The ``Idempotency-Key`` header: a retry gets the stored response and repeats nothing.

Responses are kept in the store of the integration facade (``tx.uow.idempotency``), in the
transaction of the change itself, so a change and its record are committed together or not
at all. While a request runs, an in-flight marker row (committed before the work starts)
tells another request with the key, in any worker process, to come back later (409); a
marker older than the lease belongs to a request that never finished and no longer blocks.
The key is bound to the request: its operator, method, path and body; the same key with
anything else is refused (422).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from crmcms.engine import Engine, IdempotencyRecord
from crmcms.engine.transaction import Tx
from crmcms.errors import ConcurrencyError, CrmcmsError
from crmcms.http.problems import HttpProblem, Reply, StaleVersion, problem_reply
from crmcms.model import Principal

__all__ = ["PENDING", "REPLAYED", "Writes", "check_key", "request_fingerprint"]

log = logging.getLogger("crmcms.http")

PENDING = "pending "
"""Prefix of in-flight markers: a space, which no accepted key holds, keeps them apart."""
_KEY = re.compile(r"[\x21-\x7e]{1,150}")
REPLAYED = "Idempotent-Replayed"
"""Header set on a response that a retry got from the store."""


def check_key(key: str) -> str:
    """The key if it is 1 to 150 visible ASCII characters; else a 400 problem."""
    if not _KEY.fullmatch(key):
        raise HttpProblem(400, "Idempotency-Key must be 1 to 150 visible ASCII characters")
    return key


def request_fingerprint(login: str, request: str, body: Any) -> str:
    text = json.dumps([login, request, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Writes:
    """Runs each change of the API in one transaction of ``engine``, once per key."""

    def __init__(self, engine: Engine, *, lease: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self.lease = lease

    def run(
        self,
        principal: Principal,
        action: Callable[[Tx], Reply],
        *,
        request: str,
        body: Any,
        key: str | None,
        expected: int | None = None,
    ) -> Reply:
        """``action``'s reply; with ``key``, stored with the change (a retry gets it back).

        Errors become problem replies; ``expected`` (the ``If-Match`` version) turns a
        version conflict into 412 instead of 409.
        """
        if key is None:
            try:
                return self._attempt(principal, action, expected, None)
            except CrmcmsError as exc:
                return problem_reply(exc)
        check_key(key)
        fingerprint = request_fingerprint(principal.login, request, body)
        operation = f"http {request}"[:200]
        try:
            found = self._claim(key, operation, fingerprint)
        except CrmcmsError as exc:
            return problem_reply(exc)
        if found is not None:
            return found
        record = (key, operation, fingerprint)
        try:
            return self._attempt(principal, action, expected, record)
        except CrmcmsError as exc:
            reply = problem_reply(exc)
        except Exception:
            log.exception("%s failed", request)
            reply = problem_reply(RuntimeError())
        # A refusal is the outcome of the key too: a retry gets the same answer.
        return self._keep(record, reply)

    def _attempt(
        self,
        principal: Principal,
        action: Callable[[Tx], Reply],
        expected: int | None,
        record: tuple[str, str, str] | None,
    ) -> Reply:
        def act(tx: Tx) -> Reply:
            reply = action(tx)
            if record is not None:
                key, operation, fingerprint = record
                tx.uow.idempotency.add(
                    IdempotencyRecord(key, operation, fingerprint, reply.to_record(), tx.now)
                )
            return reply

        try:
            return self.engine.run(act, principal=principal)
        except ConcurrencyError as exc:
            if record is not None and exc.kind == "idempotency key":
                found = self._claim(*record)  # the abandoned request's retry finished first
                if found is not None:
                    return found
            if expected is not None and exc.kind == "appeal":
                raise StaleVersion(exc) from exc
            raise

    def _keep(self, record: tuple[str, str, str], reply: Reply) -> Reply:
        key, operation, fingerprint = record

        def act(tx: Tx) -> None:
            tx.uow.idempotency.add(
                IdempotencyRecord(key, operation, fingerprint, reply.to_record(), tx.now)
            )

        try:
            self.engine.run(act)
        except CrmcmsError:
            log.warning("the outcome of idempotency key %r could not be kept", key)
        return reply

    def _claim(self, key: str, operation: str, fingerprint: str) -> Reply | None:
        """The stored reply of ``key``, or ``None`` once the in-flight marker is ours."""

        def act(tx: Tx) -> Reply | None:
            store = tx.uow.idempotency
            final = store.get(key)
            if final is not None:
                return self._replay(final, fingerprint)
            marker = store.get(PENDING + key)
            if marker is not None:
                if marker.fingerprint != fingerprint:
                    raise _another(key)
                if tx.now - marker.at < self.lease:
                    raise HttpProblem(
                        409, f"a request with Idempotency-Key {key!r} is still running"
                    )
                return None
            store.add(IdempotencyRecord(PENDING + key, operation, fingerprint, {}, tx.now))
            return None

        try:
            return self.engine.run(act)
        except ConcurrencyError:
            return self.engine.run(act)  # another request claimed it meanwhile

    @staticmethod
    def _replay(found: IdempotencyRecord, fingerprint: str) -> Reply:
        if found.fingerprint != fingerprint or "status" not in found.result:
            raise _another(found.key)
        reply = Reply.from_record(found.result)
        headers = {**reply.headers, REPLAYED: "true"}
        return Reply(reply.status, reply.body, headers, reply.media_type)


def _another(key: str) -> HttpProblem:
    return HttpProblem(422, f"Idempotency-Key {key!r} was used for another request")
