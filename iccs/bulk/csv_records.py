"""CSV as people have it: the dialect sniffed, and records read line-aware so none is swallowed.

Excel and national systems write `;` or tab separators, a byte-order mark and Windows line ends.
The encoding follows the byte-order mark (or `--encoding`); the delimiter is the candidate that
splits the header into the columns asked for (or `--delimiter`).

The csv module reads a field with an unterminated quote on to the next quote in the file, merging
the rows in between into one text. Here every record is parsed strictly and the physical lines it
took are kept: when a quoted field spans lines and the record breaks (or a line inside it reads as
a complete record of its own: the right number of fields, an id shaped like the record's), the
first line is rejected as an unterminated quote and the lines after it are read again as records,
so every input line ends up in the output or the rejects.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: a quoted field running over more lines than this is taken as an unterminated quote
MAX_LINES_PER_RECORD = 100
#: a longer line is rejected unparsed (its start still gives the id), so memory stays bounded
MAX_LINE_CHARS = 1_000_000
UNTERMINATED_QUOTE = "unterminated quote (the lines after it are read as rows)"
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_CANDIDATES = (",", ";", "\t", "|")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class DialectError(ValueError):
    """An encoding or delimiter that cannot be used."""


def parse_delimiter(value: str | None) -> str | None:
    """`;`, `,`, `|`, a tab, or one of their names (tab, comma, semicolon, pipe)."""
    if value is None:
        return None
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise DialectError(f"unusable delimiter {value!r}: give one character, e.g. ';' or 'tab'")
    return delimiter


def sniff_encoding(path: Path, encoding: str | None) -> str:
    """The codec to read `path` with: the one given, else the byte-order mark's, else UTF-8."""
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise DialectError(f"unknown encoding {encoding!r} (e.g. utf-8, cp1252)") from None
        return "utf-8-sig" if name == "utf-8" else name  # a BOM never ends up in the header
    with path.open("rb") as handle:
        start = handle.read(4)
    return next((name for bom, name in _BOMS if start.startswith(bom)), "utf-8-sig")


def transcode_to_utf8(path: Path, encoding: str) -> None:
    """Rewrite a text file in `encoding` as UTF-8, in place (an upload, before it is queued)."""
    source_encoding = sniff_encoding(path, encoding)
    target = path.with_name(path.name + ".utf8")
    with (
        path.open(encoding=source_encoding, errors="surrogateescape", newline="") as source,
        target.open("w", encoding="utf-8", errors="surrogateescape", newline="") as out,
    ):
        while block := source.read(1 << 20):
            out.write(block)
    target.replace(path)


def sniff_delimiter(header_line: str, default: str, wanted: Iterable[str]) -> str:
    """The delimiter that splits the header into the wanted columns; else the one giving most."""
    wanted = set(wanted)
    best, most = default, 1
    for candidate in (default, *(c for c in _CANDIDATES if c != default)):
        cells = [c.strip() for c in next(csv.reader([header_line], delimiter=candidate), [])]
        if wanted <= set(cells):
            return candidate
        if len(cells) > most:
            best, most = candidate, len(cells)
    return best


class _RecordTooLong(Exception):
    pass


class _Lines:
    """Physical lines of the file, remembering those taken by the record being read.

    A line over MAX_LINE_CHARS is not handed to the csv module (which holds a field as 4 bytes a
    character, 200 MB for a 50 MB text): it is set aside in `too_long` and the record stops.
    """

    def __init__(self, source: Iterator[str]) -> None:
        self.source = source
        self.again: deque[str] = deque()  # lines to read once more, after a recovery
        self.taken: list[str] = []
        self.too_long: str | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_LINES_PER_RECORD:
            raise _RecordTooLong
        line = self.again.popleft() if self.again else next(self.source)
        if len(line) > MAX_LINE_CHARS:
            self.too_long = line
            raise _RecordTooLong
        self.taken.append(line)
        return line


@dataclass(frozen=True)
class BrokenRecord:
    """A line that could not be read as a record: the reason, and what its start says."""

    reason: str
    cells: list[str] = field(default_factory=list)


def _one_line(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _id_shape(value: str) -> str:
    """Runs of digits as 9 and of letters as a: "C000123" and "C9" alike, unlike "red"."""
    shape = re.sub(r"\d+", "9", value.strip())
    return re.sub(r"[^\W\d_]+", "a", shape)


def _swallows_records(
    taken: list[str], delimiter: str, width: int, id_at: int, record_id: str
) -> bool:
    """True when a line inside a multi-line field reads as a whole record of its own: the
    right number of fields and an id shaped like the record's."""
    if width < 2 or not record_id.strip():
        return False
    shape = _id_shape(record_id)
    for line in taken[1:-1]:
        cells = _one_line(line, delimiter)
        if len(cells) == width and cells[id_at].strip() and _id_shape(cells[id_at]) == shape:
            return True
    return False


def read_records(
    source: Iterator[str], delimiter: str, width: int, id_at: int
) -> Iterator[list[str] | BrokenRecord]:
    """Records of a CSV stream (the header included), each line in one record or rejected."""
    lines = _Lines(source)

    def reader() -> Iterator[list[str]]:
        return csv.reader(lines, delimiter=delimiter, strict=True)

    def read_again(taken: list[str]) -> None:
        if lines.too_long is not None:  # read the long line again, to reject it on its own
            lines.again.appendleft(lines.too_long)
            lines.too_long = None
        lines.again.extendleft(reversed(taken))

    records = reader()
    while True:
        lines.taken = []
        try:
            fields = next(records)
        except StopIteration:
            return
        except (csv.Error, _RecordTooLong):
            taken = lines.taken
            records = reader()  # a fresh parser: the broken one's state is lost
            if not taken and lines.too_long is not None:
                start, lines.too_long = _one_line(lines.too_long[:MAX_LINE_CHARS], delimiter), None
                yield BrokenRecord(f"line longer than {MAX_LINE_CHARS:,} characters", start)
                continue
            if len(taken) == 1 and lines.too_long is None:
                yield _one_line(taken[0], delimiter)  # damage within one line: read leniently
                continue
            read_again(taken[1:])
            yield BrokenRecord(UNTERMINATED_QUOTE, _one_line(taken[0].rstrip("\r\n"), delimiter))
            continue
        if len(lines.taken) > 2 and _swallows_records(
            lines.taken, delimiter, width, id_at, fields[id_at] if id_at < len(fields) else ""
        ):
            first = lines.taken[0].rstrip("\r\n")
            read_again(lines.taken[1:])
            records = reader()
            yield BrokenRecord(UNTERMINATED_QUOTE, _one_line(first, delimiter))
            continue
        yield fields
