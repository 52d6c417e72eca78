"""Agencies: police forces sharing one service, each seeing only its own stored data.

Every API key belongs to one agency (a short slug such as `met-police`); everything a key stores
records that agency, and every read is limited to an `AgencyScope`. A key with the cross-agency
grant sees every agency (and may narrow to one). Store functions take the scope and apply it
with `where`; lookups by id check `allows` and answer "not found" otherwise, so another agency's
ids look exactly like ids that do not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement

DEFAULT_AGENCY = "default"  # existing keys and rows migrate here; single-agency services stay
AGENCY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class AgencyError(ValueError):
    """Not a usable agency slug."""


def check_agency(agency: str) -> str:
    if not re.fullmatch(AGENCY_PATTERN, agency):
        raise AgencyError(
            f"an agency is 1-63 lower-case letters, digits or '-', starting with a letter or "
            f"digit (not {agency[:70]!r})"
        )
    return agency


@dataclass(frozen=True)
class AgencyScope:
    """Which agencies' data a caller sees: `own` (None: every agency, the cross-agency grant)
    narrowed to `only` when a filter was asked for (a filter outside `own` sees nothing)."""

    own: str | None
    only: str | None = None

    def narrowed(self, agency: str | None) -> AgencyScope:
        return self if agency is None else AgencyScope(self.own, agency)

    @property
    def everything(self) -> bool:
        return self.own is None and self.only is None

    def allows(self, agency: str) -> bool:
        return (self.own is None or agency == self.own) and (
            self.only is None or agency == self.only
        )

    def where(self, column: Any) -> ColumnElement[bool]:
        """The clause limiting `column` (an agency column) to this scope."""
        if self.own is not None and self.only is not None and self.own != self.only:
            return false()
        agency = self.only if self.only is not None else self.own
        return true() if agency is None else column == agency


ALL_AGENCIES = AgencyScope(own=None)  # the operator's view (CLI, jobs): not for callers


def agency_scope(agency: str, cross_agency: bool) -> AgencyScope:
    return AgencyScope(own=None if cross_agency else agency)
