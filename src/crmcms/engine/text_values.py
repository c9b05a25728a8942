"""Attribute values written as canonical text, as external systems send them, made typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcms.errors import Problem, ValidationError
from crmcms.model import Catalog, parse_value

__all__ = ["parse_attributes"]


def parse_attributes(catalog: Catalog, topic: str, texts: Mapping[str, Any]) -> dict[str, object]:
    """Attribute values written as canonical text (lists for multiple choice) made typed.

    ``None`` stays ``None`` (clears the attribute); every unreadable value is reported.
    """
    definitions = {e.code: e.definition for e in catalog.effective_attributes(topic)}
    out: dict[str, object] = {}
    problems = []
    for code, text in texts.items():
        d = definitions.get(code)
        if d is None:
            problems.append(Problem(code, f"topic {topic} has no such attribute"))
            continue
        if text is None:
            out[code] = None
            continue
        items = text if isinstance(text, list | tuple) else [text]
        try:
            parsed = tuple(parse_value(d.value_type, str(t)) for t in items)
        except ValueError as exc:
            problems.append(Problem(code, str(exc)))
            continue
        out[code] = parsed if d.multiple else (parsed[0] if len(parsed) == 1 else parsed)
    if problems:
        raise ValidationError(problems, subject=f"attributes of topic {topic}")
    return out
