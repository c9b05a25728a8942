"""Message declarations to MessageTemplate definitions, their jinja2 parts checked in place."""

from __future__ import annotations

from crmcms.dsl.definitions.ast import Decl, Item
from crmcms.dsl.definitions.catalog_draft import CatalogDraft
from crmcms.dsl.messages import template_problems
from crmcms.errors import SourceSpan
from crmcms.model import MessageTemplate, NotificationKind
from crmcms.model._lookup import did_you_mean

__all__ = ["build_message"]

_EVENTS = {k.value: k for k in NotificationKind}


def build_message(draft: CatalogDraft, decl: Decl) -> None:
    """Add the template ``decl`` declares; report a bad event, a second template for the
    same event and topic, and each part's template errors at the line they are on."""
    code = decl.code.code
    event_item = draft.single(decl, "event")
    if event_item is None:
        draft.error(
            f"message {code} needs an event",
            decl.code.span,
            "event: " + " | ".join(_EVENTS),
        )
        return
    event_ref = event_item.values[0]
    event = _EVENTS.get(event_ref.code)
    if event is None:
        draft.error(
            f"unknown event {event_ref.code!r} of message {code}",
            event_ref.span,
            did_you_mean(event_ref.code, _EVENTS) or "one of " + ", ".join(_EVENTS),
        )
        return
    topic_item = draft.single(decl, "topic")
    topic = (
        None
        if topic_item is None
        else draft.ref("topic or topic group", topic_item.values[0], f"message {code}")
    )
    parts = {}
    for part in ("subject", "text", "html"):
        item = draft.single(decl, part)
        parts[part] = "" if item is None else str(item.values[0])
        if item is not None:
            _check_part(draft, item, part)
    shown = f"a message for {event.value}" + (f" on {topic}" if topic else " on every topic")
    if not draft.claim("message keys", (event, topic), decl.code.span, shown):
        return
    draft.add(
        "message_templates",
        decl,
        code,
        f"message {code!r}",
        lambda: MessageTemplate(
            code,
            event,
            topic,
            parts["subject"],
            parts["text"],
            parts["html"],
            name=decl.name or "",
            description=draft.description(decl),
        ),
    )


def _check_part(draft: CatalogDraft, item: Item, part: str) -> None:
    source, first_line = item.values
    span = item.span
    for problem in template_problems(source, part):
        if span.end_line is not None and span.end_line > span.line:  # a block over lines
            line = first_line + problem.line - 1
            at = SourceSpan(span.file, line, _indent(draft, span.file, line))
        else:
            at = span
        draft.error(f"message {part}: {problem.message}", at, problem.hint)


def _indent(draft: CatalogDraft, file: str, line: int) -> int:
    # the column of the line's first character, so the caret stands under the text
    text = draft.index.sources.get(file) or ""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return 1
    return len(lines[line - 1]) - len(lines[line - 1].lstrip()) + 1
