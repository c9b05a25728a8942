"""How messages name a rule: by code and name, or (a condition written in place) by its text."""

from __future__ import annotations

from crmcms.model import Rule

__all__ = ["CONDITION_PREFIX", "condition_rule", "is_condition_rule", "rule_title"]

CONDITION_PREFIX = "@"
"""Codes of the rules made for conditions written in place (``when Client.Region = ...``
inside a queue or a transition) start with it; no code written in a file can."""


def condition_rule(code: str, owner: str, text: str) -> Rule:
    """The rule made for the condition ``text`` written in place in ``owner``
    (``queue PSKOV``); ``code`` is its code after the prefix (``queue.PSKOV``)."""
    what = f"condition of {owner}"
    return Rule(CONDITION_PREFIX + code, what, text, description=what)


def is_condition_rule(code: str) -> bool:
    """Whether ``code`` is that of a rule made for a condition written in place."""
    return code.startswith(CONDITION_PREFIX)


def rule_title(rule: Rule, *, with_name: bool = True) -> str:
    """``rule ONLY_BIS (BIS only)``, or ``the condition of queue PSKOV (Client.Region =
    "Pskov")`` for a condition written in place, whose code no one wrote."""
    if is_condition_rule(rule.code):
        return f"the {rule.name} ({rule.expression})"
    return f"rule {rule.code} ({rule.name})" if with_name else f"rule {rule.code}"
