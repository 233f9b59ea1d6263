"""An input file's bytes as text, or the reason it is not a text file we can read.

Checked before any parsing, cheapest first: the upload size limit, compression, what the bytes
are (a workbook, UTF-16, binary), UTF-8, line endings and line length. Decisions:

* A UTF-8 byte-order mark is accepted and dropped (Excel's "CSV UTF-8" writes one).
* CRLF line endings are accepted (Windows, Excel); a file must use one kind throughout.
* Files larger than ``MAX_UPLOAD_MB`` megabytes (``MONITOR_MAX_UPLOAD_MB`` overrides it), or
  gzip files unpacking to more, are refused before being read: the largest real input, a full
  Eurostat dataset, is a few megabytes, and the dashboard's server must not hold hundreds.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import tempfile
import zlib
from pathlib import Path

import numpy as np

from indicators.validation import LoadError, Problem, problem

MAX_UPLOAD_MB = 50
MAX_LINE_BYTES = 1_000_000  # a full Eurostat TSV row is about 2 kB; DuckDB's reader stops at 2 MB
ENV_MAX_UPLOAD = "MONITOR_MAX_UPLOAD_MB"
_MB = 1024 * 1024
_META = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_ -]*?)\s*:\s*(.*?)\s*$")


def max_upload_mb() -> float:
    """The upload size limit in megabytes: ``MONITOR_MAX_UPLOAD_MB`` if set, else ``MAX_UPLOAD_MB``."""
    raw = os.environ.get(ENV_MAX_UPLOAD, "").strip()
    if not raw:
        return float(MAX_UPLOAD_MB)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise LoadError(
            [problem(ENV_MAX_UPLOAD, None, f'"{raw}"', "a number of megabytes above 0, such as 50")]
        )
    return value


def _mb(limit: float) -> str:
    return f"{limit:g} MB"


def check_size(file: str, size: int) -> Problem | None:
    """The upload limit, checked on the file's size before it is read."""
    limit = max_upload_mb()
    if size <= limit * _MB:
        return None
    return problem(
        file,
        None,
        f"a file of {size / _MB:.1f} MB",
        f"at most {_mb(limit)} (the upload limit; {ENV_MAX_UPLOAD} changes it)",
    )


def gunzip(data: bytes, file: str) -> tuple[bytes | None, Problem | None]:
    """A .gz file's content, refused when damaged or when it unpacks to more than the limit."""
    limit = max_upload_mb()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
            text = unpacked.read(int(limit * _MB) + 1)
    except (OSError, EOFError, zlib.error):
        return None, problem(file, None, "a damaged .gz file", "a gzip-compressed text file")
    if len(text) > limit * _MB:
        return None, problem(
            file,
            None,
            f"a .gz file that unpacks to more than {_mb(limit)}",
            f"at most {_mb(limit)} of text (the upload limit; {ENV_MAX_UPLOAD} changes it)",
        )
    return text, None


def _kind(data: bytes) -> str | None:
    """What a file that is not UTF-8 text most likely is, from its first bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive, such as an Excel workbook (.xlsx)"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    return None


def _longest_line(data: bytes) -> tuple[int, int]:
    """(1-based line number, length in bytes) of the longest line, vectorised."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    bounds = np.concatenate(([-1], ends, [len(data)]))
    lengths = np.diff(bounds) - 1
    at = int(lengths.argmax())
    return at + 1, int(lengths[at])


def _utf16_without_bom(data: bytes) -> bool:
    """Text saved as UTF-16 with no byte-order mark: every other byte of the start is NUL."""
    head = data[:2000]
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]
    return max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.4


def decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """The text of a file, or the one problem that stops it being read."""
    kind = _kind(data) or ("UTF-16 text without a byte-order mark" if _utf16_without_bom(data) else None)
    if kind:
        return None, problem(file, 1, kind, 'a UTF-8 text file (in Excel: Save As "CSV UTF-8")')
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    line, length = _longest_line(data)
    if length > MAX_LINE_BYTES:
        return None, problem(
            file, line, f"a line of {length:,} bytes", f"lines of at most {MAX_LINE_BYTES:,} bytes"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, problem(
            file,
            line,
            f"bytes that are not UTF-8 text ({data[exc.start : exc.start + 4]!r})",
            "a UTF-8 text file",
        )
    for char, name in (("\x00", "a NUL character"), ("\x1f", "a unit-separator control character")):
        at = text.find(char)
        if at >= 0:
            return None, problem(file, text.count("\n", 0, at) + 1, name, "plain text")
    if "\r" in text:  # DuckDB's reader needs one kind of line ending throughout
        lone = re.search(r"\r(?!\n)", text)
        if lone:
            return None, problem(
                file,
                text.count("\n", 0, lone.start()) + 1,
                "a carriage return (\\r) inside a line",
                "lines ending in \\n or \\r\\n",
            )
        bare = re.search(r"(?<!\r)\n", text)
        if bare:
            return None, problem(
                file,
                text.count("\n", 0, bare.start()) + 1,
                "a line ending in \\n in a file whose lines end in \\r\\n",
                "one kind of line ending throughout",
            )
    return text, None


def head(text: str, file: str, parsed) -> tuple[int, str] | None:
    """(line number, text) of the first line that is neither blank nor a comment; reads metadata."""
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line, number, start = text[start:end].rstrip("\r"), number + 1, end + 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _META.match(stripped)
            if m:
                parsed.metadata[m.group(1).strip().lower()] = m.group(2)
                parsed.metadata_lines[m.group(1).strip().lower()] = number
            continue
        return number, line
    return None


_GLOB = re.compile(r"[*?\[\]{}]")


@contextlib.contextmanager
def exact_copy(path: Path, text: str):
    """The text that was checked, in a private file under a name DuckDB reads as a plain path.

    DuckDB's reader expands ``*``, ``?``, ``[...]`` and ``{...}`` in a path (``a_*.csv`` would read a
    sibling file) and decompresses by extension; the copy has neither, keeps the file's name otherwise
    (a Eurostat TSV is known by it) and holds exactly the bytes read and checked once.
    """
    with tempfile.TemporaryDirectory(prefix="monitor-load-") as folder:
        name = _GLOB.sub("_", path.name.removesuffix(".gz")) or "input.txt"
        copy = Path(folder) / name
        with open(copy, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        yield copy
