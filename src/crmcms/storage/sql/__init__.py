"""The SQLAlchemy adapter: SQLite (embedded, WAL) and PostgreSQL behind one URL."""

from crmcms.storage.sql.archive import Archiver, ArchiveRun
from crmcms.storage.sql.binding import (
    AppealBinding,
    attribute_index,
    attribute_types,
    drop_attribute_indexes,
    index_attributes,
    indexed_attributes,
)
from crmcms.storage.sql.filters import (
    AppealFilters,
    FilterTab,
    Order,
    Page,
    PageKey,
    SavedFilter,
)
from crmcms.storage.sql.login_functions import FunctionLoginStore
from crmcms.storage.sql.logins import SqlLoginStore
from crmcms.storage.sql.query_dictionaries import SqlDictionaryQueries
from crmcms.storage.sql.reads import REPORT_FIELDS, AppealReads, AppealSummary
from crmcms.storage.sql.reports import SqlReports, report_statement
from crmcms.storage.sql.rules_to_sql import SqlBinding, TableBinding, rule_to_sql
from crmcms.storage.sql.unit_of_work import SqlStore, SqlUnitOfWork
from crmcms.storage.sql.webhooks import SqlWebhookStore

__all__ = [
    "REPORT_FIELDS",
    "AppealBinding",
    "AppealFilters",
    "AppealReads",
    "AppealSummary",
    "ArchiveRun",
    "Archiver",
    "FilterTab",
    "FunctionLoginStore",
    "Order",
    "Page",
    "PageKey",
    "SavedFilter",
    "SqlBinding",
    "SqlDictionaryQueries",
    "SqlLoginStore",
    "SqlReports",
    "SqlStore",
    "SqlUnitOfWork",
    "SqlWebhookStore",
    "TableBinding",
    "attribute_index",
    "attribute_types",
    "drop_attribute_indexes",
    "index_attributes",
    "indexed_attributes",
    "report_statement",
    "rule_to_sql",
]
