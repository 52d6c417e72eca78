"""The dashboard's answer: figures within a scope, each rate with the n it is a share of."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

DashboardTable = Literal["by_batch", "by_day", "autocoding", "backlog", "agreement"]


class CategoryName(BaseModel):
    code: str = Field(description="ICCS code (or NONE).", examples=["05"])
    title: str = Field(description="English title.", examples=["Acts against property only"])


class Category(CategoryName):
    drillable: bool = Field(description="Has finer codes to drill into.", examples=[True])


class DrillOut(CategoryName):
    level: str = Field(description="section, division or group.", examples=["section"])


class ScopeOut(BaseModel):
    since: date = Field(description="First day (UTC).", examples=["2026-11-07"])
    until: date = Field(description="Last day (UTC), included.", examples=["2026-12-06"])
    batch: str | None = Field(description="`api`, a batch id, or null for all.", examples=[None])
    api_key_id: int | None = Field(description="Submitting key, or null for all.", examples=[3])
    code: str | None = Field(description="Code drilled into; null = sections.", examples=["05"])


class SummaryOut(BaseModel):
    records: int = Field(description="Records coded in the scope.", examples=[12000])
    auto_coded: int = Field(description="Of those, coded without a person.", examples=[9800])
    autocoding_rate: float | None = Field(description="auto_coded / records.", examples=[0.82])


class BatchCategories(BaseModel):
    batch: str = Field(description="`api` or a batch id.", examples=["api"])
    label: str = Field(description="What to call it.", examples=["backlog_2019.csv"])
    records: int = Field(description="Records in the scope (n).", examples=[7000])
    rejected: int = Field(description="Rows rejected (not coded).", examples=[3])
    categories: dict[str, int] = Field(description="Records by category.", examples=[{"05": 7}])


class DayCategories(BaseModel):
    date: str = Field(examples=["2026-11-27"])
    records: int = Field(description="Records that day (n).", examples=[820])
    categories: dict[str, int] = Field(examples=[{"05": 700, "02": 120}])


class DayAutocoding(BaseModel):
    date: str = Field(examples=["2026-11-27"])
    records: int = Field(description="Records that day (the rate's n).", examples=[12000])
    auto_coded: int = Field(description="Of those, coded without a person.", examples=[9840])
    rate: float | None = Field(description="auto_coded / records.", examples=[0.82])


class DayBacklog(BaseModel):
    date: str = Field(examples=["2026-11-27"])
    open: int = Field(description="Open items at the end of the day.", examples=[124])


class CategoryAgreement(CategoryName):
    n: int = Field(description="Items decided (the rates' n).", examples=[340])
    texts: int = Field(description="Distinct normalised texts among them.", examples=[52])
    exact_agreement: float | None = Field(description="Final code = the model's code.")
    category_agreement: float | None = Field(description="Final code in the same category.")


class AgreementInScope(BaseModel):
    n: int = Field(description="Items decided in the scope.", examples=[340])
    texts: int = Field(description="Distinct normalised texts among them.", examples=[52])
    exact_agreement: float | None = Field(description="Final code = the model's code.")
    category_agreement: float | None = Field(description="Final code in the same category.")
    by_category: list[CategoryAgreement] = Field(description="By the model's category.")


class BatchChoice(BaseModel):
    batch: str = Field(description="`api` or a batch id.", examples=["api"])
    label: str = Field(description="What to call it.", examples=["API requests"])


class SubmitterChoice(BaseModel):
    api_key_id: int = Field(description="The key's id.", examples=[3])
    name: str = Field(description="The key's name.", examples=["police-region-north"])


class Choices(BaseModel):
    batches: list[BatchChoice] = Field(description="API requests, then recent batches.")
    submitters: list[SubmitterChoice] = Field(description="Keys that submitted records.")


class DashboardOut(BaseModel):
    scope: ScopeOut
    drill: DrillOut | None = Field(description="The code drilled into; null at the top.")
    path: list[CategoryName] = Field(description="From the section down to the drilled code.")
    categories: list[Category] = Field(
        description="What records are counted by: sections and NONE, or the drilled code's "
        "children and the code itself (records coded no finer)."
    )
    summary: SummaryOut
    by_batch: list[BatchCategories] = Field(description="API requests, then recent batches.")
    by_day: list[DayCategories] = Field(description="Each day of the period (UTC).")
    autocoding: list[DayAutocoding]
    backlog: list[DayBacklog]
    agreement: AgreementInScope
    choices: Choices
    generated_at: datetime
