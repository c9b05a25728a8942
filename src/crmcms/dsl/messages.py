"""Message templates as jinja2 templates: compiled in a sandbox, checked, and rendered.

Integrators write them, so they run in jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment`
(no attribute starting with ``_``, no unsafe calls); the HTML part is autoescaped, the subject
and the text are not.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs
import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from crmcms.model import MessageTemplate

__all__ = [
    "CONTEXT_NAMES",
    "CompiledMessage",
    "RenderedMessage",
    "TemplateProblem",
    "compile_message",
    "template_problems",
]

CONTEXT_NAMES: Mapping[str, str] = {
    "appeal": "the appeal: id, topic, route, route_version, process, queue, state, priority, "
    "responsible, operator, registered_at, deadline, process_deadline, closed_at, "
    "description, values (attribute values by code)",
    "topic": "the appeal's topic: code, name",
    "process": "the appeal's process: code, name, deadline (the process's own, from the route)",
    "queue": "the appeal's queue: code, name (None when it is in none)",
    "route": "the appeal's route: code, name, version",
    "client": "the client's fields as the client directory gives them (Name, Category, ...)",
    "notification": "what the engine made: kind, subject, text, to, recipients",
    "now": "the time of the action that made the notification",
}
"""The names a message template may read, and what each holds."""

_TEXT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)
_PARTS = (("subject", _TEXT), ("text", _TEXT), ("html", _HTML))


@attrs.frozen
class TemplateProblem:
    """A mistake in one part of a template; ``line`` counts from the part's first line."""

    part: str
    line: int
    message: str
    hint: str | None = None


def template_problems(source: str, part: str = "text") -> list[TemplateProblem]:
    """What is wrong with one part's source: its syntax error, or the names it reads that
    no notification has (see :data:`CONTEXT_NAMES`)."""
    env = _HTML if part == "html" else _TEXT
    try:
        parsed = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [TemplateProblem(part, exc.lineno or 1, f"template syntax: {exc.message}")]
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(CONTEXT_NAMES))
    if not unknown:
        return []
    names = ", ".join(unknown)
    known = ", ".join(CONTEXT_NAMES)
    return [
        TemplateProblem(
            part,
            _line_of(source, unknown[0]),
            f"unknown name(s) {names}",
            f"a message template reads {known}",
        )
    ]


def _line_of(source: str, name: str) -> int:
    for number, line in enumerate(source.split("\n"), 1):
        if name in line:
            return number
    return 1


@attrs.frozen
class RenderedMessage:
    subject: str
    text: str
    html: str


@attrs.frozen
class CompiledMessage:
    """A template ready to render; an empty part renders as ``None`` (keep the engine's)."""

    template: MessageTemplate
    subject: jinja2.Template | None
    text: jinja2.Template | None
    html: jinja2.Template | None

    def render(self, context: Mapping[str, Any]) -> RenderedMessage:
        """The three parts filled from ``context``; the subject on one line.

        Raises :class:`jinja2.TemplateError` (a sandbox refusal among them) as jinja2 does.
        """
        notification = context.get("notification")

        def fallback(name: str) -> str:
            value = getattr(notification, name, "") if notification is not None else ""
            return str(value or "")

        subject = fallback("subject") if self.subject is None else self.subject.render(context)
        text = fallback("text") if self.text is None else self.text.render(context)
        html = "" if self.html is None else self.html.render(context)
        return RenderedMessage(" ".join(subject.split()), text, html)


@functools.lru_cache(maxsize=1024)
def compile_message(template: MessageTemplate) -> CompiledMessage:
    """``template`` compiled once (templates are immutable; the cache holds the last 1024).

    Raises :class:`jinja2.TemplateSyntaxError`; the loader reports those at load time.
    """
    parts = {
        name: env.from_string(source) if (source := getattr(template, name)) else None
        for name, env in _PARTS
    }
    return CompiledMessage(template, parts["subject"], parts["text"], parts["html"])
