"""The HTML report in a real browser: headless Chromium draws it, and the picture is checked."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import struct
import zlib
from types import ModuleType

import pytest

from crmcms.export import write_table
from crmcms.export.svg_chart import PALETTE

ROOT = pathlib.Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_report_png", ROOT / "docs" / "images" / "make_report_png.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "chromium is not installed (Debian's package: apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"Chromium is required when CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat = 8, []
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0)
            assert colour in {2, 6}
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                corner = previous[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, previous[i], corner)) & 0xFF
        previous = line
        rgb = bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(rgb)
    return width, height, rows


def test_the_report_page_draws_its_chart_and_table(tmp_path: pathlib.Path) -> None:
    chromium = _chromium()
    script = _script()
    html = tmp_path / "report.html"
    with html.open("wb") as out:
        write_table(script.sample_table(), "html", out)
    png = tmp_path / "report.png"
    script.screenshot(html, png, chromium=chromium)
    width, height, rows = read_png(png.read_bytes())
    assert (width, height) == (1200, 900)

    def pixels(top: int, bottom: int) -> list[tuple[int, int, int]]:
        return [
            (row[i], row[i + 1], row[i + 2]) for row in rows[top:bottom] for i in range(0, 3600, 3)
        ]

    everything = pixels(0, height)
    not_white = sum(1 for pixel in everything if pixel != (255, 255, 255))
    assert not_white > 0.05 * len(everything)  # a page, not a blank screen
    bar = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    in_chart = pixels(120, 560)
    coloured = sum(
        1 for pixel in in_chart if max(abs(a - b) for a, b in zip(pixel, bar, strict=True)) < 24
    )
    assert coloured > 0.05 * len(in_chart)  # the bars, drawn in the first series' colour
    dark_below = sum(1 for r, g, b in pixels(560, height) if r + g + b < 200)
    assert dark_below > 2000  # the table's text under the chart
