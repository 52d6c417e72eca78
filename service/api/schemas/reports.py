"""The counts report: records by ICCS section or division crossed with each tag."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TagCount(BaseModel):
    value: str = Field(
        description="The tag's value; `not_tagged` for records from a model without tags.",
        examples=["cyber_enabled"],
    )
    count: int = Field(description="Records with this value.", examples=[42])
    share: float = Field(description="Share of the group's records, 0-1.", examples=[0.12])


class CountRow(BaseModel):
    code: str = Field(
        description="ICCS section or division (NONE: not an offence; rejected: unreadable rows).",
        examples=["07"],
    )
    title: str = Field(description="Its title.", examples=["Acts involving fraud, deception"])
    records: int = Field(description="Records in the group.", examples=[350])
    cyber_related_share: float | None = Field(
        description="Share of cyber-dependent plus cyber-enabled records (null without the "
        "cyber tag).",
        examples=[0.31],
    )
    tags: dict[str, list[TagCount]] = Field(
        description="Per tag, the count of every value.",
        examples=[{"cyber": [{"value": "cyber_enabled", "count": 108, "share": 0.31}]}],
    )


class CountsOut(BaseModel):
    group_by: str = Field(description="section or division.", examples=["section"])
    batch: str | None = Field(description="Only this batch's rows, if given.", examples=[None])
    period_from: datetime | None = Field(description="Records from (inclusive).", examples=[None])
    period_to: datetime | None = Field(description="Records before (exclusive).", examples=[None])
    rows: list[CountRow] = Field(description="One per group, in code order.")
    total: CountRow = Field(description="All records together.")
