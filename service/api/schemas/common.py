"""Types shared by request schemas: what every backend can store, and bounded numbers.

A NUL in text is refused by PostgreSQL (and silently kept by SQLite), a lone surrogate cannot
be encoded, and an integer beyond 64 bits overflows SQLite: each is a 422 here instead of a
500 (or a difference between backends) later.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# Database integer ids and versions; offsets far beyond any table, well inside 64 bits.
MAX_ID = 2**31 - 1
MAX_OFFSET = 10**9
NO_NUL_PATTERN = r"^[^\u0000]*$"
NOT_BLANK_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"  # what `not_blank` accepts, for the document
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def storable(value: str) -> str:
    """Refuse what no backend stores or no model encodes: NUL and lone UTF-16 surrogates."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("contains a lone surrogate (U+D800-U+DFFF)") from None
    return value


def not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty")
    return storable(text)


def _rfc3339(value: Any) -> Any:
    """Only an RFC 3339 date-time with its offset: not a number (`0.5`), not a bare date."""
    if not (isinstance(value, str) and _RFC3339.match(value)):
        raise ValueError("expected an RFC 3339 date-time with an offset, e.g. 2026-01-31T00:00:00Z")
    return value


StorableStr = Annotated[
    str, AfterValidator(storable), Field(json_schema_extra={"pattern": NO_NUL_PATTERN})
]
Text = Annotated[
    str, AfterValidator(not_blank), Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN})
]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
DateTimeWithOffset = Annotated[datetime, BeforeValidator(_rfc3339)]
BatchId = Annotated[StorableStr, Field(max_length=100, description="The batch's id.")]
