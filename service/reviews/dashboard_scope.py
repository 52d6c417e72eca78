"""What the dashboard looks at: a period, optionally one batch (or the API) and one submitting
key, and a level of the ICCS tree (all sections, or the children of the section, division or
group drilled into); always within the agencies the caller sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from iccs.codes import code_section
from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import CodeError, load_taxonomy
from service.agencies import ALL_AGENCIES, AgencyScope
from service.reviews.errors import InvalidReview

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class DashboardScope:
    since: date
    until: date  # inclusive
    batch: str | None = None  # "api" or a batch id
    api_key_id: int | None = None
    code: str | None = None  # drilled into; None = all sections
    agencies: AgencyScope = ALL_AGENCIES

    @classmethod
    def make(
        cls,
        today: date,
        since: date | None = None,
        until: date | None = None,
        batch: str | None = None,
        api_key_id: int | None = None,
        code: str | None = None,
        agencies: AgencyScope = ALL_AGENCIES,
    ) -> DashboardScope:
        """Defaults to the last 30 days; 422 for a reversed or too long period or a code
        without children to drill into."""
        until = until or today
        since = since or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise InvalidReview("since is after until", code="invalid_period")
        if (until - since).days >= MAX_DAYS:
            raise InvalidReview(f"a period is at most {MAX_DAYS} days", code="invalid_period")
        if code is not None:
            taxonomy = load_taxonomy()
            try:
                code = taxonomy.normalize(code)
            except CodeError:
                raise InvalidReview(f"unknown ICCS code {code!r}", code="invalid_code") from None
            if taxonomy.is_leaf(code):
                raise InvalidReview(f"{code} has no finer codes", code="invalid_code")
        return cls(since, until, batch, api_key_id, code, agencies)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, datetime.min.time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after `until`."""
        return datetime.combine(self.until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]

    def includes_api(self) -> bool:
        return self.batch in (None, "api")

    def within(self, code: str) -> bool:
        return self.code is None or code.startswith(self.code)


@dataclass(frozen=True)
class Breakdown:
    """The categories records are counted by, and which one a record's code falls in."""

    parent: dict[str, str] | None  # the code drilled into, or None
    path: list[dict[str, str]]  # from the section down to it
    categories: list[dict[str, Any]]
    category_of: Callable[[str], str | None]


def breakdown(code: str | None) -> Breakdown:
    """Sections (and NONE) at the top; else the children of `code`, plus `code` itself for
    records the model coded no finer than it."""
    taxonomy = load_taxonomy()
    if code is None:
        sections = [
            {"code": s.code, "title": s.title_en, "drillable": True} for s in taxonomy.sections()
        ]
        return Breakdown(
            None,
            [],
            [*sections, {"code": NONE_CODE, "title": NONE_TITLE, "drillable": False}],
            code_section,
        )
    category = taxonomy.get(code)
    children = taxonomy.children(code)
    width = len(children[0].code)
    unspecified = {
        "code": code,
        "title": f"{category.title_en} (not further specified)",
        "drillable": False,
    }

    def category_of(c: str) -> str | None:
        if not c.startswith(code):
            return None
        return c[:width] if len(c) >= width else code

    return Breakdown(
        {"code": code, "title": category.title_en, "level": category.level_name},
        [{"code": p.code, "title": p.title_en} for p in taxonomy.path(code)],
        [
            *(
                {"code": c.code, "title": c.title_en, "drillable": not taxonomy.is_leaf(c.code)}
                for c in children
            ),
            unspecified,
        ],
        category_of,
    )
