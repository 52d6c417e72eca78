"""Published figures: counts by ICCS section or division crossed with each tag."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import WithJsonSchema

from iccs.tags import TAGS
from service.api.deps import AgencyScopeDep, AnalystDep, SessionDep, SettingsDep
from service.api.errors import ERROR_RESPONSES, APIError
from service.api.schemas.common import DateTimeWithOffset, StorableStr
from service.api.schemas.reports import CountRow, CountsOut, TagCount
from service.reports.counts import (
    CountQuery,
    GroupBy,
    GroupCounts,
    count_records,
    cyber_related_share,
    group_title,
    value_columns,
)
from service.reviews.stats import as_utc

router = APIRouter(prefix="/v1", tags=["reports"])


def _row(code: str, title: str, counts: GroupCounts) -> CountRow:
    n = max(counts.records, 1)
    return CountRow(
        code=code,
        title=title,
        records=counts.records,
        cyber_related_share=cyber_related_share(counts),
        tags={
            tag: [
                TagCount(value=value, count=c, share=c / n)
                for value, c in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            for tag, values in counts.by_tag.items()
        },
    )


def _csv(report: CountsOut, tags: tuple[str, ...]) -> str:
    """Wide: one line per group, a `tag:value` count column per value, then the cyber share."""
    columns = value_columns(tags)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["code", "title", "records", *(f"{t}:{v}" for t, v in columns)]
        + (["cyber_related_share"] if "cyber" in tags else [])
    )
    for row in [*report.rows, report.total]:
        counts = {(tag, c.value): c.count for tag, values in row.tags.items() for c in values}
        share = row.cyber_related_share
        writer.writerow(
            [row.code, row.title, row.records, *(counts.get(key, 0) for key in columns)]
            + ([f"{share:.4f}" if share is not None else ""] if "cyber" in tags else [])
        )
    return buffer.getvalue()


@router.get(
    "/reports/counts",
    response_model=CountsOut,
    responses={**ERROR_RESPONSES, 200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def counts(
    session: SessionDep,
    settings: SettingsDep,
    _caller: AnalystDep,
    agencies: AgencyScopeDep,
    group_by: Annotated[GroupBy, Query(description="section or division.")] = "section",
    tag: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "enum": list(TAGS)}),  # checked below, from TAGS
        Query(description="Only this tag (cyber, attempt, weapon, context)."),
    ] = None,
    batch: Annotated[
        StorableStr | None, Query(max_length=36, description="Only this batch.")
    ] = None,
    period_from: Annotated[
        DateTimeWithOffset | None,
        Query(
            alias="from",
            description="Records classified from (inclusive; RFC 3339, with offset).",
            examples=["2026-01-01T00:00:00Z"],
        ),
    ] = None,
    period_to: Annotated[
        DateTimeWithOffset | None,
        Query(
            alias="to",
            description="Records classified before (exclusive; RFC 3339, with offset).",
            examples=["2026-02-01T00:00:00Z"],
        ),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
) -> CountsOut | Response:
    """Records by ICCS section or division crossed with each tag, per batch and per period,
    with the codes and tags that stand after review."""
    if tag is not None and tag not in TAGS:
        raise APIError(422, f"unknown tag {tag!r} (one of {', '.join(TAGS)})", code="invalid_tag")
    period_from = None if period_from is None else as_utc(period_from)
    period_to = None if period_to is None else as_utc(period_to)
    if period_from and period_to and period_from >= period_to:
        raise APIError(422, "'from' must be before 'to'", code="invalid_period")
    query = CountQuery(
        group_by=group_by,
        tags=(tag,) if tag else tuple(TAGS),
        batch_id=batch,
        period_from=period_from,
        period_to=period_to,
        agencies=agencies,
    )
    groups, total = count_records(session, settings, query)
    report = CountsOut(
        group_by=group_by,
        batch=batch,
        period_from=period_from,
        period_to=period_to,
        rows=[_row(code, group_title(code), g) for code, g in groups.items()],
        total=_row("total", "All records", total),
    )
    if format == "csv":
        return Response(
            _csv(report, query.tags),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="iccs-counts.csv"'},
        )
    return report
