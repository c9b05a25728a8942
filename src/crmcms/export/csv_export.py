"""CSV: the table as RFC 4180 text in UTF-8, one header row, values in ISO forms."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Callable
from typing import BinaryIO

from crmcms.export.tables import ReportCell, ReportTable

__all__ = ["write_csv"]


def _text(value: ReportCell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.timedelta):
        # Seconds, not "1 day, 2:00:00": spreadsheets and scripts read a number (all its
        # digits: "%g" would write two weeks as 1.2096e+06).
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    return str(value)


def write_csv(
    table: ReportTable, out: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``table`` to ``out`` and return the number of data rows written.

    A byte-order mark opens the file so that spreadsheet programs read Cyrillic text as UTF-8.
    ``progress`` is called with the number of rows written so far every 10,000 rows.
    """
    writer_stream = codecs.getwriter("utf-8")(out)
    writer_stream.write("\ufeff")
    writer = csv.writer(writer_stream, lineterminator="\r\n")
    writer.writerow([column.title for column in table.columns])
    count = 0
    for row in table.rows:
        writer.writerow([_text(value) for value in row])
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(count)
    writer_stream.flush()
    return count
