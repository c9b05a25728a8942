"""What an attached file is called and what it holds: safe names, sizes, content signatures.

Pure functions over names and the first bytes of a file, so the engine can check an upload
before any byte of it is stored, and the checks are property-tested on their own.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

import attrs

__all__ = [
    "SIGNATURE_BYTES",
    "StoredFile",
    "format_size",
    "guess_media_type",
    "media_type_problem",
    "parse_size",
    "safe_file_name",
    "sniff_media_type",
]

_NAME_BYTES = 255
"""The longest name most file systems take, in UTF-8 bytes."""

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*]')
"""Control characters and what Windows refuses in a name: replaced by ``_``."""

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
"""Names Windows takes for devices, whatever their extension."""


def safe_file_name(name: str, *, default: str = "file") -> str:
    """``name`` as a file's own name that is safe to show, store and hand back.

    Only the last path component stays (``../../etc/passwd`` is ``passwd``, and ``\\``
    separates too, as on Windows); control characters and those Windows refuses become
    ``_``; leading dots and spaces and trailing dots and spaces go (no hidden files, no
    ``..``); device names get a ``_``; the text is NFC-normalised and cut to 255 UTF-8
    bytes keeping the extension. Nothing left gives ``default``. The result is a fixed
    point: ``safe_file_name(safe_file_name(n)) == safe_file_name(n)``.
    """
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE.sub("_", text).strip(" .")
    if not text:
        return default
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return _cut(text, default)


def _cut(text: str, default: str) -> str:
    if len(text.encode("utf-8")) <= _NAME_BYTES:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or len(extension.encode("utf-8")) > 16:
        stem, extension = text, ""
    tail = f".{extension}" if extension else ""
    room = _NAME_BYTES - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(" .")
    return (cut + tail) if cut else default


SIGNATURE_BYTES = 16
"""How many of a file's first bytes :func:`sniff_media_type` looks at."""

# Types whose files begin with fixed bytes: a declared one is held to them. Types without
# one (text, CSV, HTML) cannot be told from their content and are taken as declared.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"BM", 0, "image/bmp"),
    (b"WEBP", 8, "image/webp"),
    (b"WAVE", 8, "audio/wav"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
)

_CONTAINERS = {
    # Office files are zip archives (OOXML, OpenDocument) or OLE storage (the older ones).
    "application/zip": frozenset(
        {
            "application/zip",
            "application/x-zip-compressed",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/epub+zip",
            "application/java-archive",
        }
    ),
    "application/x-ole-storage": frozenset(
        {
            "application/x-ole-storage",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.ms-outlook",
        }
    ),
    "application/gzip": frozenset({"application/gzip", "application/x-gzip"}),
    "audio/wav": frozenset({"audio/wav", "audio/x-wav", "audio/wave"}),
    "image/bmp": frozenset({"image/bmp", "image/x-ms-bmp"}),
    "application/x-msdownload": frozenset(
        {"application/x-msdownload", "application/vnd.microsoft.portable-executable"}
    ),
}

_SIGNED = frozenset(t for _, _, t in _SIGNATURES) | frozenset().union(*_CONTAINERS.values())
"""Every declared type a file's first bytes can confirm or refute."""

_EXECUTABLE = frozenset({"application/x-msdownload", "application/x-executable"})


def sniff_media_type(head: bytes) -> str | None:
    """The type a file's first bytes (:data:`SIGNATURE_BYTES` of them) say it is, or
    ``None`` when they carry no signature this module knows."""
    for signature, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if media_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            if media_type == "audio/wav" and not head.startswith(b"RIFF"):
                continue
            return media_type
    return None


def media_type_problem(declared: str, head: bytes) -> str | None:
    """What is wrong with declaring a file whose first bytes are ``head`` as ``declared``,
    or ``None``: a type with a signature must show it, and a program passes only as one."""
    declared = declared.split(";")[0].strip().lower()
    sniffed = sniff_media_type(head)
    if sniffed in _EXECUTABLE and declared not in _CONTAINERS.get(sniffed, {sniffed}):
        return f"the content is a program ({sniffed}), not {declared}"
    if declared not in _SIGNED:
        return None
    if sniffed is None:
        return f"the content does not begin as {declared} does"
    if declared not in _CONTAINERS.get(sniffed, {sniffed}):
        return f"the content is {sniffed}, not {declared}"
    return None


def guess_media_type(file_name: str) -> str:
    """The media type a file's name suggests; ``application/octet-stream`` if none."""
    found, _ = mimetypes.guess_type(file_name, strict=False)
    return found or "application/octet-stream"


@attrs.frozen
class StoredFile:
    """A file as a file store holds it: by the SHA-256 of its bytes, and how many."""

    sha256: str
    size: int


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE = re.compile(r"\s*(\d+)\s*([kmg]?b?)\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes written as ``500``, ``64KB``, ``10MB`` or ``1GB`` (decimal units)."""
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError(f"not a size: {text!r} (write 500, 64KB, 10MB or 1GB)")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def format_size(size: int) -> str:
    """``size`` bytes as :func:`parse_size` reads it back: the largest exact unit."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
