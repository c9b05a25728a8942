"""Small named definitions: rules, priorities, mailing lists and client categories."""

from __future__ import annotations

import attrs

from crmcms.errors import Problem, ValidationError
from crmcms.model._checks import require_code, unique_codes

__all__ = ["ClientCategory", "MailingList", "Priority", "Rule"]


@attrs.frozen
class Rule:
    """A named boolean expression in the rule language, e.g. ``Клиент.Категория = "BIS"``.

    Transitions and queues refer to rules by code; the expression stays source text here
    and is compiled by :mod:`crmcms.dsl`.
    """

    code: str
    name: str
    expression: str
    description: str = ""

    def __attrs_post_init__(self) -> None:
        require_code("rule", self.code)
        if not self.expression.strip():
            raise ValidationError(
                [Problem("expression", f"rule {self.code} has an empty expression")],
                subject=f"rule {self.code}",
            )


@attrs.frozen
class Priority:
    """An appeal priority level; a lower ``rank`` is more urgent."""

    code: str
    name: str
    rank: int = 0
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("priority", self.code)


@attrs.frozen
class MailingList:
    """A named set of recipients for notifications and escalations.

    ``operators`` are logins; ``addresses`` are e-mail addresses outside the operator list.
    """

    code: str
    name: str
    operators: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("mailing list", self.code)
        problems = unique_codes(f"mailing list {self.code}", "operators", self.operators)
        problems += [
            Problem("addresses", f"{a!r} is not an e-mail address")
            for a in self.addresses
            if "@" not in a.strip("@")
        ]
        if problems:
            raise ValidationError(problems, subject=f"mailing list {self.code}")


@attrs.frozen
class ClientCategory:
    """A client category from billing, e.g. ``BIS``, ``CMS CUSTOMER``, ``VIP``."""

    code: str
    name: str
    description: str = ""
    active: bool = True

    def __attrs_post_init__(self) -> None:
        require_code("client category", self.code)
