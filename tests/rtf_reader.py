"""A small RTF reader for the tests: paragraphs and table cells back as plain text."""

from __future__ import annotations

import re

import attrs

_TOKEN = re.compile(
    r"\\([a-z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-z])|([{}])|([^\\{}\r\n]+)|[\r\n]+"
)
_DESTINATIONS = {"fonttbl", "colortbl", "stylesheet", "info", "pict", "header", "footer"}


@attrs.define
class RtfDocument:
    paragraphs: list[str] = attrs.field(factory=list)
    rows: list[list[str]] = attrs.field(factory=list)
    right_aligned: list[list[bool]] = attrs.field(factory=list)


def _merge_surrogates(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


def read_rtf(data: bytes) -> RtfDocument:
    """Parse ``data``: text outside tables by paragraph, table text by row and cell."""
    source = data.decode("ascii")
    document = RtfDocument()
    skip_depth: int | None = None  # depth of a destination group being skipped
    depth = 0
    text: list[str] = []
    cells: list[str] = []
    aligns: list[bool] = []
    right = False
    skip_chars = 0
    star = False
    for match in _TOKEN.finditer(source):
        word, number, hex_code, symbol, brace, plain = match.groups()
        if brace == "{":
            depth += 1
            continue
        if brace == "}":
            if skip_depth == depth:
                skip_depth = None
            depth -= 1
            continue
        if skip_depth is not None:
            continue
        if star:
            star = False
            if word is not None or symbol is not None:
                skip_depth = depth
                continue
        if word is not None:
            if word in _DESTINATIONS:
                skip_depth = depth
            elif word == "u":
                code = int(number)
                text.append(chr(code + 65_536 if code < 0 else code))
                skip_chars = 1
            elif word == "par":
                document.paragraphs.append(_merge_surrogates("".join(text)))
                text.clear()
            elif word == "line":
                text.append("\n")
            elif word == "tab":
                text.append("\t")
            elif word == "qr":
                right = True
            elif word in {"ql", "pard"}:
                right = False
            elif word == "cell":
                cells.append(_merge_surrogates("".join(text)))
                aligns.append(right)
                text.clear()
            elif word == "row":
                document.rows.append(cells)
                document.right_aligned.append(aligns)
                cells, aligns = [], []
            continue
        if symbol is not None:
            if symbol == "*":
                star = True
            elif symbol in "\\{}":
                text.append(symbol)
            continue
        if hex_code is not None:
            text.append(bytes([int(hex_code, 16)]).decode("cp1251"))
            continue
        if plain is not None:
            if skip_chars:
                plain = plain[skip_chars:]
                skip_chars = 0
            text.append(plain)
    return document
