"""Queues: work lists with members, administrators, allowed processes and a selection rule."""

from __future__ import annotations

import enum

import attrs

from crmcms.errors import ValidationError
from crmcms.model._checks import require_code, unique_codes

__all__ = ["MemberKind", "Queue", "QueueMember"]


class MemberKind(enum.Enum):
    OPERATOR = "operator"
    ROLE = "role"


@attrs.frozen
class QueueMember:
    """An operator (by login) or everyone holding a role (by role code)."""

    kind: MemberKind
    code: str

    @classmethod
    def operator(cls, login: str) -> QueueMember:
        return cls(MemberKind.OPERATOR, login)

    @classmethod
    def role(cls, code: str) -> QueueMember:
        return cls(MemberKind.ROLE, code)

    def __str__(self) -> str:
        return f"{self.kind.value} {self.code}"


@attrs.frozen
class Queue:
    """Appeals wait in a queue while in one of its allowed processes.

    Among the queues allowed for a process, ``rule`` (a rule code) decides which one an
    appeal goes to. ``system`` queues, such as REGISTRATION, are built in.
    """

    code: str
    name: str
    description: str = ""
    members: tuple[QueueMember, ...] = ()
    administrators: tuple[str, ...] = ()
    """Logins of the operators who administer the queue."""
    processes: tuple[str, ...] = ()
    """Codes of the processes whose appeals may be put here; empty means any."""
    rule: str | None = None
    system: bool = False
    active: bool = True
    calendar: str | None = None
    """Code of the business calendar in which deadlines of appeals waiting here count,
    unless their process names one."""

    def __attrs_post_init__(self) -> None:
        require_code("queue", self.code)
        subject = f"queue {self.code}"
        problems = unique_codes(subject, "members", (str(m) for m in self.members))
        problems += unique_codes(subject, "administrators", self.administrators)
        problems += unique_codes(subject, "processes", self.processes)
        if problems:
            raise ValidationError(problems, subject=subject)

    def allows_process(self, process: str) -> bool:
        return not self.processes or process in self.processes

    def has_member(self, login: str, roles: tuple[str, ...] = ()) -> bool:
        """Whether an operator with ``login`` and ``roles`` is a member, directly or by role."""
        return any(
            (m.kind is MemberKind.OPERATOR and m.code == login)
            or (m.kind is MemberKind.ROLE and m.code in roles)
            for m in self.members
        )
