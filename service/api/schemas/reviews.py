from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from iccs.tags import TAGS, check_value
from service.api.schemas.classify import PathStep, SuggestionOut
from service.api.schemas.common import MAX_ID, RowId, StorableStr
from service.api.schemas.tags import TAGS_FIELD_DESCRIPTION, TagOut

ReviewState = Literal["pending", "escalated", "decided"]
ReviewStateFilter = Literal["open", "pending", "escalated", "decided", "all"]
QueueReason = Literal["low_confidence", "back_off", "no_offence", "section_threshold", "qc_sample"]
DecisionAction = Literal["accept", "recode", "not_an_offence", "skip", "escalate"]

_ID = Field(description="Review item id (= the classification id).")
_VERSION = Field(description="Changes whenever the item's state, final code or assignment does.")


class Candidate(BaseModel):
    code: str = Field(description="ICCS code, or NONE.", examples=["050229"])
    title: str = Field(description="Title in the display language.", examples=["Other theft"])
    level: str = Field(description="section, division, group, class or none.", examples=["class"])
    confidence: float = Field(description="The model's calibrated probability.", examples=[0.62])
    path: list[PathStep] = Field(description="From the section down to this code.")
    definition: str = Field(description="The ICCS definition.", examples=["Unlawfully taking…"])
    inclusions: list[str] = Field(description="What the code includes.", examples=[["Theft"]])
    exclusions: list[str] = Field(description="What it excludes.", examples=[["Burglary"]])


class ReviewSummary(BaseModel):
    id: uuid.UUID = _ID
    text: str = Field(description="The offence text.", examples=["took a bike from the shed"])
    state: ReviewState = Field(description="pending, escalated or decided.")
    reason: QueueReason = Field(description="Why the record is in the queue.")
    section: str = Field(description="The model's ICCS section (or NONE).", examples=["05"])
    model_code: str = Field(description="The model's code.", examples=["0502"])
    confidence: float = Field(description="The model's confidence in it.", examples=[0.55])
    language: str | None = Field(description="Language of the text.", examples=["en"])
    source: str = Field(description="`api` or the batch id.", examples=["api"])
    agency: str = Field(
        description="The agency whose record it is (keys see only their own agency's, unless "
        "they have the cross-agency grant).",
        examples=["met-police"],
    )
    same_text: int | None = Field(
        default=None, description="Open items in the same group (normalised text).", examples=[14]
    )
    required_codings: int = Field(description="2 for double coding, else 1.", examples=[1])
    codings: int = Field(description="Blind codings received.", examples=[0])
    version: int = _VERSION
    final_code: str | None = Field(description="The decided code.", examples=[None])
    final_by: str | None = Field(description="Who set it (analyst names).", examples=[None])
    final_tags: dict[str, str] | None = Field(
        default=None,
        description="The tags that stand after the decision: the model's, with the analysts' "
        "corrections over them.",
        examples=[{"cyber": "cyber_enabled", "attempt": "completed"}],
    )
    created_at: datetime = Field(description="When the record was classified.")
    decided_at: datetime | None = Field(description="When it was decided.")


class CodingOut(BaseModel):
    analyst_name: str = Field(description="Analyst (key name).", examples=["alice"])
    action: str = Field(description="accept, recode or not_an_offence.", examples=["recode"])
    code: str = Field(description="The code given.", examples=["050229"])
    tags: dict[str, str] | None = Field(
        default=None, description="The tags this coding settled on.", examples=[None]
    )
    created_at: datetime


class GroupSource(BaseModel):
    source: str = Field(description="`api` or a batch id.", examples=["api"])
    items: int = Field(description="Items of the group from it.", examples=[12000])


class ReviewGroupOut(BaseModel):
    key: str = Field(description="The group (hash of the normalised text).", examples=["9f2c…"])
    size: int = Field(
        description="Open items one decision of yours settles: this one and the others of the "
        "group in its state that you may decide (0 once decided).",
        examples=[12086],
    )
    sources: list[GroupSource] = Field(description="Where those items come from, most first.")


class ReviewDetail(ReviewSummary):
    model_version: str = Field(description="Model that classified the record.")
    assignees: list[int] = Field(description="API key ids of the assigned analysts, if any.")
    suggestions: list[Candidate] = Field(description="The model's suggestions, best first.")
    model_tags: list[TagOut] = Field(
        default_factory=list, description=TAGS_FIELD_DESCRIPTION, examples=[[]]
    )
    tag_values: dict[str, list[str]] = Field(
        default_factory=lambda: {tag: list(values) for tag, values in TAGS.items()},
        description="The values each tag may take (for the correction controls).",
    )
    display_language: Literal["en", "es"] = Field(description="Language of titles and text.")
    final_title: str | None = Field(description="Title of the final code.", examples=[None])
    my_coding: str | None = Field(description="The code you gave, if you coded it.")
    codings_detail: list[CodingOut] | None = Field(
        description="Every blind coding (admins only: codings are blind to analysts)."
    )
    group: ReviewGroupOut = Field(description="The records sharing this item's text.")


class DecisionOut(ReviewDetail):
    applied_to: int = Field(
        description="Items this decision was applied to, this one included (scope=group).",
        examples=[12086],
    )


class GroupSummary(BaseModel):
    key: str = Field(description="The group (hash of the normalised text).", examples=["9f2c…"])
    text: str = Field(description="The text of one of its items.", examples=["THEFT FROM M/V"])
    item_id: uuid.UUID = Field(description="One item of the group, to open it by.")
    items: int = Field(description="Items matching the filters.", examples=[12086])
    by_state: dict[str, int] = Field(description="Those items by state.", examples=[{"pending": 3}])
    min_confidence: float = Field(description="The model's lowest confidence.", examples=[0.41])
    sources: list[GroupSource] = Field(description="Where the items come from, most first.")


class GroupPage(BaseModel):
    groups: list[GroupSummary] = Field(description="Most useful first: sum of uncertainty.")
    total: int = Field(description="Groups matching the filters.", examples=[411])
    items: int = Field(description="Items matching the filters.", examples=[12086])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


class ReviewPage(BaseModel):
    items: list[ReviewSummary]
    total: int = Field(description="Items matching the filters.", examples=[812])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])


class QueueSize(BaseModel):
    pending: int = Field(description="Items waiting for a decision.", examples=[120])
    escalated: int = Field(description="Items waiting for an admin.", examples=[4])


class Progress(BaseModel):
    today: int = Field(description="Your decisions today (UTC).", examples=[37])
    total: int = Field(description="All your decisions.", examples=[912])


class Analyst(BaseModel):
    name: str = Field(description="Name of the key.", examples=["alice"])
    role: str = Field(description="analyst or admin.", examples=["analyst"])


class NextReview(BaseModel):
    item: ReviewDetail | None = Field(description="The next item for you; null when none is.")
    queue: QueueSize
    progress: Progress
    analyst: Analyst


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "accept", "code": "050229", "version": 1},
                {"action": "recode", "code": "0502", "version": 1, "comment": "no force"},
            ]
        },
    )

    action: DecisionAction = Field(
        description="accept a suggestion, recode to any ICCS code, not_an_offence, skip or "
        "escalate (to an admin)."
    )
    code: StorableStr | None = Field(
        default=None,
        max_length=20,
        description="accept: one of the suggestions (default the first); recode: any ICCS code.",
        examples=["050229"],
    )
    version: int = Field(
        ge=1, le=MAX_ID, description="The item version you decided on.", examples=[1]
    )
    comment: StorableStr | None = Field(
        default=None, max_length=2000, description="Why (kept in the audit trail)."
    )
    scope: Literal["group", "item"] = Field(
        default="group",
        description="group: also apply the decision to every other open item with the same "
        "normalised text that you may decide (each audited); item: this item only.",
        examples=["group"],
    )
    tags: dict[str, str] | None = Field(
        default=None,
        description="Tag corrections with a coding action (accept, recode, not_an_offence): "
        "tag -> value; tags left out keep the model's value (each grouped item its own). "
        "Audited with the decision.",
        examples=[{"cyber": "cyber_enabled", "weapon": "unknown"}],
    )

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        for tag, value in (tags or {}).items():
            check_value(tag, value)
        return tags


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analyst_key_ids: list[RowId] = Field(
        min_length=1,
        max_length=2,
        description="One analyst, or two for double coding (blind, then compared).",
        examples=[[3, 4]],
    )
    version: int = Field(ge=1, le=MAX_ID, description="The item version you assign.", examples=[1])
    comment: StorableStr | None = Field(default=None, max_length=2000, description="Why.")


class AuditEventOut(BaseModel):
    id: int = Field(description="Event number (increasing).", examples=[1042])
    item_id: uuid.UUID = Field(description="The review item (= classification id).")
    action: str = Field(
        description="accept, recode, not_an_offence, skip, escalate or assign.", examples=["recode"]
    )
    actor_key_id: int = Field(description="API key id of who acted.", examples=[3])
    actor_name: str = Field(description="Its name.", examples=["alice"])
    actor_role: str = Field(description="Its role then.", examples=["analyst"])
    code: str | None = Field(description="The code given, if any.", examples=["050229"])
    tags: dict[str, str] | None = Field(
        default=None,
        description="Tag corrections given with the action, if any (tag -> value).",
        examples=[{"cyber": "cyber_enabled"}],
    )
    before: dict[str, Any] = Field(description="State, final code, version… before.")
    after: dict[str, Any] = Field(description="… and after.")
    model_version: str = Field(description="Model that classified the record.")
    comment: str | None = Field(description="The analyst's comment.", examples=[None])
    created_at: datetime


class AuditPage(BaseModel):
    events: list[AuditEventOut] = Field(description="Newest first.")
    total: int = Field(examples=[5210])
    limit: int = Field(examples=[100])
    offset: int = Field(examples=[0])


class AutocodingOut(BaseModel):
    records: int = Field(description="Records coded (API and batch rows).", examples=[100000])
    auto_coded: int = Field(description="Coded without a person.", examples=[81000])
    needing_review: int = Field(description="Sent to people.", examples=[19000])
    autocoding_rate: float | None = Field(description="auto_coded / records.", examples=[0.81])


class QualityControlOut(BaseModel):
    sampled: int = Field(description="Auto-coded records drawn into the QC sample.")
    reviewed: int = Field(description="Of those, decided by analysts.")
    correct: int = Field(description="Decided with the model's own code.")
    precision: float | None = Field(description="Measured precision of auto-coding.")
    precision_ci95: list[float] | None = Field(description="Wilson 95% interval.")


class SectionAgreementOut(BaseModel):
    section: str = Field(description="The model's section (or NONE).", examples=["05"])
    title: str = Field(examples=["Acts against property only"])
    n: int = Field(description="Decided items.", examples=[340])
    texts: int = Field(description="Distinct normalised texts among them.", examples=[52])
    exact_agreement: float | None = Field(description="Final code = the model's code.")
    section_agreement: float | None = Field(description="Final code in the model's section.")


class AgreementOut(BaseModel):
    n: int = Field(description="Decided items.")
    texts: int = Field(description="Distinct normalised texts among them.")
    exact_agreement: float | None = Field(description="Final code = the model's code.")
    section_agreement: float | None = Field(description="Same section.")
    by_section: list[SectionAgreementOut]


class DoubleCodingOut(BaseModel):
    items: int = Field(description="Items set for double coding.")
    pairs: int = Field(description="Items with both blind codings in.")
    observed_agreement: float | None = Field(description="Share of pairs that agree.")
    kappa: float | None = Field(description="Cohen's kappa on the codes (null if undefined).")
    kappa_section: float | None = Field(description="Cohen's kappa on their sections.")


class QueueOut(BaseModel):
    size: int = Field(description="Open items (pending and escalated).", examples=[124])
    texts: int = Field(description="Distinct normalised texts among them.", examples=[41])
    by_state: dict[str, int] = Field(examples=[{"pending": 120, "escalated": 4, "decided": 9}])
    open_by_reason: dict[str, int] = Field(examples=[{"low_confidence": 100, "qc_sample": 24}])


class DayDecided(BaseModel):
    date: str = Field(examples=["2025-11-27"])
    decided: int = Field(examples=[240])


class ThroughputOut(BaseModel):
    decided_last_24h: int = Field(description="Items decided in the last 24 hours.")
    decided_last_7d: int = Field(description="Items decided in the last 7 days.")
    actions_last_24h: int = Field(description="Analyst actions (not skips) in the last 24 h.")
    decided_per_day: list[DayDecided] = Field(description="The last 14 days (UTC).")


class StatsOut(BaseModel):
    autocoding: AutocodingOut
    quality_control: QualityControlOut
    model_analyst_agreement: AgreementOut
    double_coding: DoubleCodingOut
    queue: QueueOut
    throughput: ThroughputOut
    generated_at: datetime


class ReviewStatus(BaseModel):
    state: ReviewState
    reason: QueueReason
    version: int = _VERSION
    final_code: str | None = Field(examples=["050229"])
    final_by: str | None = Field(examples=["alice"])
    decided_at: datetime | None


class ClassificationDetail(BaseModel):
    classification_id: uuid.UUID
    case_id: str | None = Field(description="The case reference sent.", examples=["2025/1"])
    text: str = Field(description="The offence text.")
    language: str | None = Field(examples=["en"])
    suggestions: list[SuggestionOut] = Field(description="The model's, best first.")
    needs_review: bool = Field(description="The model asked for a person.")
    model_version: str = Field(examples=["iccs-classifier:20251126-101500"])
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])
    source: str = Field(description="`api` or the batch id.", examples=["api"])
    created_at: datetime
    tags: list[TagOut] = Field(default_factory=list, description=TAGS_FIELD_DESCRIPTION)
    review: ReviewStatus | None = Field(description="Its review, if it was queued.")
    final_code: str | None = Field(
        description="The code that stands: the analysts' decision, else the model's when it "
        "needed no review; null while a review is pending.",
        examples=["050229"],
    )
    final_code_set_by: str | None = Field(
        description="`model`, or the analysts who decided it.", examples=["model"]
    )
    final_tags: dict[str, str] | None = Field(
        default=None,
        description="The tags that stand, set like `final_code` (the analysts' once decided).",
        examples=[{"cyber": "not_cyber"}],
    )


class BatchReviewRow(BaseModel):
    classification_id: uuid.UUID
    case_id: str | None = Field(description="The row's id in the uploaded file.")
    state: ReviewState
    reason: QueueReason
    model_code: str = Field(examples=["0502"])
    final_code: str | None = Field(examples=["050229"])
    final_by: str | None = Field(examples=["alice"])
    decided_at: datetime | None


class BatchReviews(BaseModel):
    batch_id: str
    rows: list[BatchReviewRow] = Field(description="The batch's queued rows, in id order.")
    total: int
    limit: int
    offset: int
