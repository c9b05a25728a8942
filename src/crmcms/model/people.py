"""People: operators and roles (definitions); clients, subscribers, contact persons, prospects."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from crmcms.errors import ValidationError
from crmcms.model._checks import require_code, unique_codes

__all__ = [
    "Client",
    "ContactPerson",
    "Operator",
    "Prospect",
    "ProspectStatus",
    "Role",
    "Subscriber",
]


# --- Definitions --------------------------------------------------------------------------


@attrs.frozen
class Role:
    """A business role, e.g. system problem manager; ``permissions`` are capability codes."""

    code: str
    name: str
    description: str = ""
    permissions: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        require_code("role", self.code)


@attrs.frozen
class Operator:
    """A user of the system. Authentication lives outside the model: no secrets here."""

    login: str
    name: str
    roles: tuple[str, ...] = ()
    template: str | None = None
    """Code of the contact template that prefills this operator's forms."""
    active: bool = True
    email: str | None = None

    def __attrs_post_init__(self) -> None:
        require_code("operator", self.login)
        problems = unique_codes(f"operator {self.login}", "roles", self.roles)
        if problems:
            raise ValidationError(problems, subject=f"operator {self.login}")

    @property
    def code(self) -> str:
        """The login, so operators index like every other definition."""
        return self.login


# --- Records ------------------------------------------------------------------------------


@attrs.define
class Client:
    """The billing customer; ``category`` and ``region`` are what rules usually test."""

    id: int
    name: str
    category: str | None = None
    region: str | None = None
    status: str = "active"


@attrs.define
class Subscriber:
    """One subscription of a client, identified by its MSISDN."""

    id: int
    client_id: int
    msisdn: str
    region: str | None = None
    tariff: str | None = None
    status: str = "active"


@attrs.define
class ContactPerson:
    """The person who actually spoke to the operator, possibly on a client's behalf."""

    id: int
    name: str
    phone: str | None = None
    email: str | None = None
    client_id: int | None = None


class ProspectStatus(enum.Enum):
    PROSPECT = "prospect"
    """Registered, not (or not yet successfully) converted."""
    CONVERTING = "converting"
    """A conversion is requested: its outbox message is on its way to billing."""
    CONVERTED = "converted"
    """Billing made a client of them: ``client_id`` holds it."""


@attrs.define
class Prospect:
    """A would-be client, exported to billing when they sign up.

    ``conversion_id`` is the delivery id of the conversion under way (the idempotency key
    billing sees); ``conversion_error`` what billing said when it last refused one.
    ``version`` counts saved changes, so two conversions asked at once cannot both start.
    """

    id: int
    name: str
    phone: str | None = None
    email: str | None = None
    region: str | None = None
    category: str | None = None
    registered_at: datetime | None = None
    exported_at: datetime | None = None
    client_id: int | None = None
    """The billing client created on export."""
    registered_by: str | None = None
    """Login of the operator who registered the prospect."""
    conversion_id: str | None = None
    conversion_error: str = ""
    version: int = 1

    @property
    def exported(self) -> bool:
        return self.exported_at is not None

    @property
    def status(self) -> ProspectStatus:
        if self.client_id is not None:
            return ProspectStatus.CONVERTED
        if self.conversion_id is not None:
            return ProspectStatus.CONVERTING
        return ProspectStatus.PROSPECT

    def mark_exported(self, client_id: int, at: datetime) -> None:
        self.client_id = client_id
        self.exported_at = at
        self.conversion_id = None
        self.conversion_error = ""
