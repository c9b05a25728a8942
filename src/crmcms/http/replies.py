"""Replies to responses, ETags to versions, and the problem documents every route may give."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

from crmcms.http.problems import PROBLEM_JSON, HttpProblem, Reply
from crmcms.http.schemas import AppealView, ProblemDocument
from crmcms.http.views import appeal_view
from crmcms.model import Appeal

__all__ = ["PROBLEMS", "SESSION", "appeal_reply", "etag", "expected_version", "plain", "respond"]

_DESCRIPTIONS = {
    400: "A malformed header, cursor or parameter",
    401: "No valid session token",
    403: "The operator may not do this: every reason",
    404: "No such record, or one the operator may not see",
    409: "Refused by the workflow (every reason), changed concurrently, or a request with "
    "this Idempotency-Key still running",
    412: "If-Match names a version the appeal no longer has; nothing was changed",
    413: "The body is larger than the server accepts",
    422: "Invalid values, each with its attribute code, or an Idempotency-Key reused for "
    "another request",
}

PROBLEMS: dict[int, ResponseSpec] = {
    status: ResponseSpec(ProblemDocument, description=text, media_type=PROBLEM_JSON)
    for status, text in _DESCRIPTIONS.items()
}
"""The problem responses documented on every route."""

SESSION: list[dict[str, list[str]]] = [{"session": []}]
"""The security requirement of the routes that need a session token."""

_ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,18})"?\s*')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (``None``: no header, or ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.fullmatch(if_match)
    if found is None:
        raise HttpProblem(400, 'If-Match must be one ETag of the appeal, such as "3"')
    return int(found.group(1))


def plain(view: Any) -> Any:
    """A view as JSON-ready data (what the idempotency store keeps)."""
    return msgspec.to_builtins(view)


def appeal_reply(appeal: Appeal, status: int = 200, *, created: bool = False) -> Reply:
    headers = {"ETag": etag(appeal.version)}
    if created:
        headers["Location"] = f"/appeals/{appeal.id}"
    return Reply(status, plain(appeal_view(appeal)), headers)


def respond(reply: Reply) -> Response[Any]:
    return Response(
        reply.body, status_code=reply.status, headers=reply.headers, media_type=reply.media_type
    )


def appeal_response(appeal: Appeal) -> Response[AppealView]:
    return Response(appeal_view(appeal), headers={"ETag": etag(appeal.version)})
