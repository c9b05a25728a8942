"""The words of the definition and rule languages, listed once for every part that needs them."""

from __future__ import annotations

__all__ = ["DECLARATION_KEYWORDS", "DECLARATION_STARTS", "DEFINITION_WORDS", "RULE_WORDS"]

DECLARATION_KEYWORDS: tuple[str, ...] = (
    "dictionary",
    "place kind",
    "place",
    "channel",
    "client category",
    "priority",
    "mailing list",
    "role",
    "operator",
    "template",
    "group",
    "topic",
    "rule",
    "queue",
    "route",
    "message",
    "calendar",
    "webhook",
    "problem attribute",
    "report",
)
"""What a declaration starts with, as ``definitions.lark`` spells it (a test holds the two
together): the syntax error that expects a declaration lists them, and after a syntax error
parsing resumes at the next line starting with one."""

DECLARATION_STARTS: frozenset[str] = frozenset(k.split()[0] for k in DECLARATION_KEYWORDS)
"""The first word of each declaration keyword."""

DEFINITION_WORDS: frozenset[str] = frozenset(
    " ".join(
        (
            *DECLARATION_KEYWORDS,
            "analytic internal external query inactive parent description kind",
            "rank list operators addresses",
            "permissions roles email password places default direction topics",
            "categories attributes attribute collapsed expanded date decimal boolean",
            "string multiple column computed mask regex meta hidden visible readonly editable",
            "required optional when system members admins processes version",
            "merge common moved process initial final keep inherit transition automatic deadline",
            "business warn notify escalate on incoming outgoing any",
            "event subject html",
            "timezone holidays working none mon tue wed thu fri sat sun attachments",
            "webhook url events secret env",
            "problem",
            "report rows columns measures filter bucket repeat days",
        )
    ).split()
)
"""Words of the definition language: a code spelled as one is written quoted."""

RULE_WORDS: frozenset[str] = frozenset(
    " ".join(
        (
            "and or not in like matches is empty true false",
            "и или не в подобно соответствует есть пусто истина ложь",
        )
    ).split()
)
"""Keywords of the rule language, English and Russian (any letter case), as
``expressions.lark`` spells them (a test holds the two together)."""
