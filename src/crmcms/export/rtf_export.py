"""RTF: the report as a word-processor table, written by hand (Cyrillic as \\uN escapes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import BinaryIO

from crmcms.export.cells import (
    NUMERIC_KINDS,
    display_text,
    parameters_with_zone,
    peek,
    report_zone,
    text_widths,
)
from crmcms.export.tables import ReportTable

__all__ = ["rtf_text", "write_rtf"]

_SAMPLE_ROWS = 200  # rows measured for column widths
_PAGE_WIDTH = 16_838  # A4 landscape, in twips
_PAGE_HEIGHT = 11_906
_MARGIN = 720
_ROWS_PER_WRITE = 500
_BORDERS = r"\clbrdrt\brdrs\brdrw5\clbrdrl\brdrs\brdrw5\clbrdrb\brdrs\brdrw5\clbrdrr\brdrs\brdrw5"


def rtf_text(text: str) -> str:
    """``text`` as RTF body text in plain ASCII: ``\\ { }`` escaped, the rest as ``\\uN?``.

    The ``?`` after each escape is what readers without Unicode show (``\\uc1`` says one
    character follows); characters beyond the BMP go as two UTF-16 escapes, as RTF wants.
    """
    parts: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\\{}":
            parts.append("\\" + char)
        elif char == "\n":
            parts.append("\\line ")
        elif char == "\t":
            parts.append("\\tab ")
        elif 32 <= code < 127:
            parts.append(char)
        elif code < 32 or code == 127:
            continue  # control characters have no place in a document's text
        else:
            units = char.encode("utf-16-le")
            for i in range(0, len(units), 2):
                unit = int.from_bytes(units[i : i + 2], "little")
                parts.append(f"\\u{unit - 65_536 if unit >= 32_768 else unit}?")
    return "".join(parts)


def _row_definition(widths: list[int], *, header: bool) -> str:
    usable = _PAGE_WIDTH - 2 * _MARGIN
    total = sum(widths)
    edges = []
    edge = 0
    for width in widths:
        edge += width * usable // total  # the page's width shared as the text needs it
        edges.append(f"{_BORDERS}\\cellx{edge}")
    # \trhdr repeats the header row on every page; \trkeep keeps a row on one page.
    repeat = "\\trhdr" if header else ""
    return f"\\trowd\\trgaph60\\trleft0{repeat}\\trkeep" + "".join(edges)


def _row(definition: str, texts: Iterable[tuple[str, bool]], *, bold: bool = False) -> str:
    cells = []
    for text, right in texts:
        align = "\\qr" if right else "\\ql"
        body = f"{{\\b {rtf_text(text)}}}" if bold else rtf_text(text)
        cells.append(f"\\pard\\intbl{align} {body}\\cell ")
    return definition + "\n" + "".join(cells) + "\\row\n"


def write_rtf(
    table: ReportTable, out: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``table`` to ``out`` as an RTF document; the number of data rows written.

    A title and the parameters, then one table: a bold header row repeated on every page,
    numbers and durations right-aligned, text as it is (Cyrillic included).
    """
    head, rows = peek(table.rows, _SAMPLE_ROWS)
    widths = text_widths(table.columns, head)
    parameters = list(parameters_with_zone(table, report_zone(table.columns, head)))
    if table.generated_at is not None:
        parameters.append(("Generated", table.generated_at.isoformat(timespec="seconds")))
    kinds = [column.kind for column in table.columns]
    right = [kind in NUMERIC_KINDS for kind in kinds]
    preamble = [
        "{\\rtf1\\ansi\\ansicpg1251\\deff0\\uc1\n",
        "{\\fonttbl{\\f0\\fswiss\\fcharset204 Arial;}}\n",
        f"\\paperw{_PAGE_WIDTH}\\paperh{_PAGE_HEIGHT}\\landscape",
        f"\\margl{_MARGIN}\\margr{_MARGIN}\\margt{_MARGIN}\\margb{_MARGIN}\n",
        f"\\pard\\plain\\f0\\fs32\\b {rtf_text(table.title)}\\b0\\par\n",
    ]
    for label, value in parameters:
        line = f"{{\\b {rtf_text(label)}:}} {rtf_text(value)}"
        preamble.append(f"\\pard\\plain\\f0\\fs20{line}\\par\n")
    preamble.append("\\pard\\plain\\f0\\fs20\\par\n")
    header = _row_definition(widths, header=True)
    preamble.append(_row(header, ((column.title, False) for column in table.columns), bold=True))
    out.write("".join(preamble).encode("ascii"))
    body = _row_definition(widths, header=False)
    chunk: list[str] = []
    count = 0
    for row in rows:
        texts = (display_text(value, kind) for value, kind in zip(row, kinds, strict=True))
        chunk.append(_row(body, zip(texts, right, strict=True)))
        count += 1
        if count % _ROWS_PER_WRITE == 0:
            out.write("".join(chunk).encode("ascii"))
            chunk.clear()
        if progress is not None and count % 10_000 == 0:
            progress(count)
    chunk.append("\\pard\\par\n}\n")
    out.write("".join(chunk).encode("ascii"))
    return count
