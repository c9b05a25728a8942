"""Every error crmcms raises on purpose derives from :class:`CrmcmsError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ConversionError",
    "CrmcmsError",
    "DefinitionError",
    "DeliveryError",
    "DictionaryQueryError",
    "DslError",
    "InvalidValueError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "Problem",
    "ReadOnlyRecordError",
    "RuleEvaluationError",
    "SourceSpan",
    "SqlTranslationError",
    "StorageError",
    "ValidationError",
    "WorkflowError",
]


class CrmcmsError(Exception):
    """Root of every error crmcms raises on purpose; catch this to catch them all."""


# --- DSL: rules and definition files -----------------------------------------------------


@attrs.frozen
class SourceSpan:
    """Where a piece of DSL text stands: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _caret_block(source: str | None, span: SourceSpan) -> str:
    """The offending source line with a caret under the column (and tildes to the span end)."""
    if source is None:
        return ""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    text = lines[span.line - 1].expandtabs(1)
    width = 1
    if span.end_line == span.line and span.end_column is not None:
        width = max(1, span.end_column - span.column)
    return f"    {text}\n    {' ' * (span.column - 1)}^{'~' * (width - 1)}"


class DslError(CrmcmsError):
    """One problem in rule or definition text, located by file, line and column."""

    def __init__(
        self,
        message: str,
        span: SourceSpan,
        *,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.span = span
        self.source = source
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """``file:line:column: message``, the source line, a caret, and a hint if there is one."""
        out = f"{self.span}: {self.message}"
        block = _caret_block(self.source, self.span)
        if block:
            out += "\n" + block
        if self.hint:
            out += f"\n    hint: {self.hint}"
        return out


class DefinitionError(CrmcmsError):
    """Every problem found in a text at once; raised instead of stopping at the first."""

    def __init__(self, problems: Sequence[DslError]) -> None:
        if not problems:
            raise ValueError("DefinitionError needs at least one problem")
        self.problems: tuple[DslError, ...] = tuple(
            sorted(problems, key=lambda p: (p.span.file, p.span.line, p.span.column))
        )
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + "\n" + "\n".join(p.render() for p in self.problems))


class SqlTranslationError(DslError):
    """A rule cannot run inside the database (a Python-only function, an unbound path, ...)."""


class RuleEvaluationError(CrmcmsError):
    """A rule failed on one data record: a value of a type only known at run time was wrong."""

    def __init__(self, message: str, *, rule: str = "") -> None:
        self.rule = rule
        super().__init__(f"rule {rule!r}: {message}" if rule else message)


# --- Data validation ----------------------------------------------------------------------


@attrs.frozen
class Problem:
    """One invalid value: the field or attribute code it concerns and what is wrong."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationError(CrmcmsError):
    """Values refused; carries every problem, each naming its field or attribute code."""

    def __init__(self, problems: Iterable[Problem], *, subject: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ValidationError needs at least one problem")
        self.subject = subject
        head = f"{subject}: " if subject else ""
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}{count} invalid value{'s' if count != 1 else ''}\n{lines}")

    def codes(self) -> tuple[str, ...]:
        """The codes with problems, in the order found."""
        return tuple(p.code for p in self.problems)


class InvalidValueError(CrmcmsError, ValueError):
    """One malformed value: a date, decimal, duration, mask or flag that cannot be what it says.

    A ``ValueError`` too, so code that validates with ``except ValueError`` keeps working.
    """


# --- Runtime ------------------------------------------------------------------------------


class NotFoundError(CrmcmsError, LookupError):
    """A definition or record asked for by code or id does not exist."""

    def __init__(self, kind: str, key: object, *, hint: str | None = None) -> None:
        self.kind = kind
        self.key = key
        self.hint = hint
        message = f"{kind} {key!r} not found"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class PermissionDeniedError(CrmcmsError):
    """The operator lacks the role, membership or administration right the action needs."""

    def __init__(
        self, operator: str, action: str, reason: str, permission: str | None = None
    ) -> None:
        self.operator = operator
        self.action = action
        self.reason = reason
        self.permission = permission
        """The permission the operator lacks, when that is what stands in the way."""
        super().__init__(f"operator {operator!r} may not {action}: {reason}")


class AuthenticationError(CrmcmsError):
    """Credentials or a session token were not accepted: wrong, unknown, expired, revoked or
    locked out. The message never says which of a wrong password and an unknown login it was."""


class ConcurrencyError(CrmcmsError):
    """Someone else changed the record since it was read; nothing was written."""

    def __init__(self, kind: str, key: object, expected: int, actual: int | None) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.actual = actual
        found = "it is gone" if actual is None else f"found version {actual}"
        super().__init__(
            f"{kind} {key!r} changed concurrently: expected version {expected}, {found}"
        )


class WorkflowError(CrmcmsError):
    """A workflow action cannot be carried out (transition unavailable, no queue, ...)."""


class ConversionError(WorkflowError):
    """A prospect cannot be converted: it already is a client, or a conversion is under way.

    ``client_id`` is the client it became (``None`` while the conversion is under way).
    """

    def __init__(self, prospect_id: int, reason: str, client_id: int | None = None) -> None:
        self.prospect_id = prospect_id
        self.client_id = client_id
        super().__init__(f"prospect {prospect_id} cannot be converted: {reason}")


class PluginError(CrmcmsError):
    """A plugin failed or misbehaved; wraps the plugin's own exception as ``__cause__``."""

    def __init__(self, plugin: str, hook: str, message: str) -> None:
        self.plugin = plugin
        self.hook = hook
        super().__init__(f"plugin {plugin!r} failed in {hook}: {message}")


class DeliveryError(PluginError):
    """A message could not be delivered (mail, SMS, webhook, ...).

    ``permanent`` says that trying again cannot help (an SMTP 5xx reply, an address that
    does not exist): the outbox gives such a message up at once instead of retrying it.
    ``retry_after`` (seconds) is the receiver's own hint of when to try again, if it gave one.
    ``hook`` names the hook that failed: ``crmcms_audit`` for an audit exporter.
    """

    def __init__(
        self,
        plugin: str,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        hook: str = "crmcms_notify",
    ) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(plugin, hook, message)


class ReadOnlyRecordError(CrmcmsError, AttributeError):
    """A record that storage holds was changed: it is read-only (copy it to change it)."""

    def __init__(self, record: str, field: str) -> None:
        self.record = record
        self.field = field
        super().__init__(
            f"{record} is read-only as stored: {field} cannot be set; change it through an "
            "engine action, or work on a copy (copy.copy gives a plain one)"
        )


class StorageError(CrmcmsError):
    """The storage backend could not do what was asked (unreachable, schema too old, ...)."""


class DictionaryQueryError(StorageError):
    """A query dictionary's query gave no items: refused, failed, too slow, too many rows, or
    rows of the wrong shape. ``dictionary`` is the dictionary's code."""

    def __init__(self, dictionary: str, message: str) -> None:
        self.dictionary = dictionary
        super().__init__(f"query dictionary {dictionary}: {message}")


class ConfigurationError(CrmcmsError):
    """crmcms was set up inconsistently (bad URL, missing optional dependency, ...)."""
