"""Errors as RFC 9457 problem documents (``application/problem+json``).

Each error class of crmcms has one status: a body that is not valid (every problem with its
attribute code) is 422, a refusal for want of a right 403 with every reason, an action the
workflow refuses 409 with every reason, a record the reader may not see 404 as one that
does not exist (``docs/security.md``), a stale ``If-Match`` 412.
"""

from __future__ import annotations

from typing import Any

import attrs

from crmcms.errors import (
    AuthenticationError,
    ConcurrencyError,
    CrmcmsError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
    WorkflowError,
)
from crmcms.http.schemas import ProblemDocument, ProblemItem

__all__ = [
    "PROBLEM_JSON",
    "HttpProblem",
    "Reply",
    "StaleVersion",
    "problem_for",
    "problem_reply",
]

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid values",
    428: "Precondition required",
    500: "Internal error",
    503: "Unavailable",
}


@attrs.frozen
class Reply:
    """A response as the idempotency store keeps it: status, JSON body, chosen headers."""

    status: int
    body: Any
    headers: dict[str, str] = attrs.field(factory=dict)
    media_type: str = "application/json"

    def to_record(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "media_type": self.media_type,
        }

    @classmethod
    def from_record(cls, record: Any) -> Reply:
        return cls(
            int(record["status"]),
            record["body"],
            dict(record.get("headers") or {}),
            str(record.get("media_type") or "application/json"),
        )


class HttpProblem(CrmcmsError):
    """A request refused by the HTTP layer itself: a bad header, cursor or key."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: tuple[ProblemItem, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        super().__init__(detail)


class StaleVersion(CrmcmsError):
    """``If-Match`` named a version the appeal no longer has: nothing was changed."""

    def __init__(self, cause: ConcurrencyError) -> None:
        self.cause = cause
        super().__init__(str(cause))


def _split(reasons: str) -> list[str]:
    return [r.strip() for r in reasons.split("; ") if r.strip()]


def problem_for(exc: Exception) -> tuple[ProblemDocument, dict[str, str]]:
    """The problem document and extra headers for ``exc``; anything unforeseen is a 500
    that says nothing of its insides."""
    headers: dict[str, str] = {}
    errors: list[ProblemItem] = []
    reasons: list[str] = []
    if isinstance(exc, HttpProblem):
        status, detail, errors, headers = exc.status, exc.detail, list(exc.errors), exc.headers
    elif isinstance(exc, ValidationError):
        status, detail = 422, str(exc).splitlines()[0]
        errors = [ProblemItem(p.code, p.message) for p in exc.problems]
    elif isinstance(exc, AuthenticationError):
        status, detail = 401, str(exc)
        headers = {"WWW-Authenticate": 'Bearer realm="crmcms"'}
    elif isinstance(exc, PermissionDeniedError):
        status, detail, reasons = 403, str(exc), _split(exc.reason)
    elif isinstance(exc, NotFoundError):
        status, detail = 404, str(exc)
    elif isinstance(exc, StaleVersion):
        status, detail = 412, f"{exc}: nothing was changed, read the appeal again"
    elif isinstance(exc, ConcurrencyError):
        status, detail = 409, f"{exc}: nothing was changed, try again"
    elif isinstance(exc, WorkflowError):
        status, detail = 409, str(exc)
        head, sep, tail = str(exc).partition(": ")
        reasons = _split(tail) if sep else [head]
    elif isinstance(exc, StorageError):
        status, detail = 503, "the database is not available"
    else:
        status, detail = 500, "the request failed on the server"
    document = ProblemDocument(
        type="about:blank",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=errors,
        reasons=reasons,
    )
    return document, headers


def problem_reply(exc: Exception) -> Reply:
    document, headers = problem_for(exc)
    return Reply(document.status, attrs.asdict(document), headers, PROBLEM_JSON)
