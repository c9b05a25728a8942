"""Reports over HTTP: the list, and one report streamed in the export format asked for.

The report's rows stream from the database cursor through the exporter to the client: a
writer thread fills a small bounded queue of chunks that the response drains, so neither
side holds the whole file and a client that goes away stops the export.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

import attrs
from litestar import Controller, get
from litestar.params import FromQuery, HeaderParameter, Parameter, QueryParameter
from litestar.response import Stream

from crmcms.engine.obstacles import require
from crmcms.errors import Problem, ValidationError
from crmcms.export import FORMATS, ReportTable, write_table
from crmcms.http.replies import PROBLEMS, SESSION
from crmcms.http.services import Acting, Needs
from crmcms.model import Permission, ReportDefinition

__all__ = ["ReportView", "ReportsController", "stream_table"]

_CHUNK = 64 * 1024
_DONE = object()


@attrs.frozen
class ReportView:
    code: str
    title: str
    description: str
    rows: list[str]
    columns: list[str]
    measures: list[str]


def _view(d: ReportDefinition) -> ReportView:
    return ReportView(
        d.code,
        d.title,
        d.description,
        [x.code for x in d.rows],
        [x.code for x in d.columns],
        [m.value for m in d.measures],
    )


class _Closed(Exception):
    """The client stopped reading: the writer gives up."""


class _Pipe:
    """A binary file whose writes become chunks on a queue."""

    def __init__(self, chunks: queue.Queue[object], gone: threading.Event) -> None:
        self.chunks = chunks
        self.gone = gone
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item: object) -> None:
        while True:
            if self.gone.is_set():
                raise _Closed
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    # what an exporter may ask of a binary file
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("a stream has no position")


_SEQUENTIAL = frozenset({"csv", "html", "rtf"})
"""Formats written front to back; any other (a zip such as xlsx) may seek, so it is written
to a spooled temporary file first and streamed from there."""


def _spooled(table: ReportTable, format_name: str) -> Iterator[bytes]:
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        write_table(table, format_name, out)  # type: ignore[arg-type]
        out.seek(0)
        while chunk := out.read(_CHUNK):
            yield chunk


def stream_table(table: ReportTable, format_name: str) -> Iterator[bytes]:
    """``table`` written in ``format_name``, as chunks of bytes made while they are read."""
    if format_name not in _SEQUENTIAL:
        yield from _spooled(table, format_name)
        return
    chunks: queue.Queue[object] = queue.Queue(maxsize=16)
    gone = threading.Event()
    pipe = _Pipe(chunks, gone)

    def produce() -> None:
        try:
            write_table(table, format_name, pipe)  # type: ignore[arg-type]
            pipe.flush()
            pipe._put(_DONE)
        except _Closed:
            return
        except BaseException as exc:  # handed to the reader, which raises it
            try:
                pipe._put(exc)
            except _Closed:
                return

    writer = threading.Thread(target=produce, name="report-export", daemon=True)
    writer.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        gone.set()


def _moment(text: str, name: str) -> date | datetime:
    try:
        if "T" in text or " " in text.strip():
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            [Problem(name, f"{text!r} is not a date (2026-03-01) or date and time")]
        ) from None


def _format(explicit: str | None, accept: str | None) -> str:
    """The format ``format`` names, else the first whose media type ``Accept`` lists, else
    CSV."""
    if explicit is not None:
        return explicit
    for part in (accept or "").split(","):
        wanted = part.split(";")[0].strip().lower()
        for name, fmt in FORMATS.items():
            if fmt.media_type.split(";")[0].strip().lower() == wanted:
                return name
    return "csv"


class ReportsController(Controller):
    path = "/reports"
    tags = ["reports"]  # noqa: RUF012 - Litestar reads it from the class
    security = SESSION

    @get("/", responses=PROBLEMS, sync_to_thread=True, summary="The reports there are")
    def reports(self, principal: Acting, services: Needs) -> list[ReportView]:
        return [_view(d) for d in services.engine.report_definitions(operator=principal)]

    @get(
        "/{code:str}",
        responses=PROBLEMS,
        sync_to_thread=True,
        media_type="text/csv",
        summary="One report over a period, computed in the database and streamed as a file",
        description="The format is `format` (" + ", ".join(sorted(FORMATS)) + "), else the "
        "first the Accept header names, else CSV. Only the appeals the operator may read "
        "are counted; it needs the report and export permissions.",
    )
    def report(
        self,
        code: Annotated[str, Parameter(min_length=1, max_length=200)],
        principal: Acting,
        services: Needs,
        start: Annotated[
            str, QueryParameter(name="from", min_length=1, max_length=40, description="First day")
        ],
        end: Annotated[
            str,
            QueryParameter(
                name="to", min_length=1, max_length=40, description="Last day, included"
            ),
        ],
        tz: Annotated[str, QueryParameter(max_length=100, description="IANA time zone")] = "UTC",
        rule: Annotated[
            str | None, QueryParameter(name="filter", max_length=2000, description="A rule")
        ] = None,
        by: Annotated[
            str | None, QueryParameter(max_length=500, description="Row dimensions, by commas")
        ] = None,
        bucket: Annotated[
            str | None, QueryParameter(enum=["hour", "day", "week", "month"], max_length=10)
        ] = None,
        archived: FromQuery[bool] = False,
        repeat_days: Annotated[int | None, QueryParameter(ge=1, le=3650)] = None,
        format_name: Annotated[
            str | None, QueryParameter(name="format", enum=sorted(FORMATS), max_length=20)
        ] = None,
        accept: Annotated[str | None, HeaderParameter(name="Accept", max_length=1000)] = None,
    ) -> Stream:
        require(principal, Permission.EXPORT, f"export report {code}")
        chosen = _format(format_name, accept)
        fmt = FORMATS.get(chosen)
        if fmt is None:
            known = ", ".join(sorted(FORMATS))
            raise ValidationError(
                [Problem("format", f"no export format {chosen!r}; known: {known}")]
            )
        dims = [p.strip() for p in (by or "").split(",") if p.strip()]
        table = services.engine.report(
            code,
            start=_moment(start, "from"),
            end=_moment(end, "to"),
            timezone=tz,
            operator=principal,
            filter=rule,
            by=dims or None,
            bucket=bucket,
            archived=archived,
            repeat_days=repeat_days,
        )
        name = f"{code}{fmt.suffix}"
        headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Stream(stream_table(table, chosen), media_type=fmt.media_type, headers=headers)
