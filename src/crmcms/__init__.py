"""crmcms: contacts and appeals for telecom back offices, with a rule and workflow DSL."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from crmcms.errors import (
    ConcurrencyError,
    ConfigurationError,
    CrmcmsError,
    DefinitionError,
    DslError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    Problem,
    SourceSpan,
    StorageError,
    ValidationError,
    WorkflowError,
)
from crmcms.plugins import hookimpl, make_plugin_manager

try:
    __version__ = version("crmcms")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "ConcurrencyError",
    "ConfigurationError",
    "CrmcmsError",
    "DefinitionError",
    "DslError",
    "NotFoundError",
    "PermissionDeniedError",
    "PluginError",
    "Problem",
    "SourceSpan",
    "StorageError",
    "ValidationError",
    "WorkflowError",
    "__version__",
    "hookimpl",
    "make_plugin_manager",
]
