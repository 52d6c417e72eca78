from __future__ import annotations

import uuid
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.api.schemas.common import StorableStr, Text
from service.api.schemas.tags import TAGS_FIELD_DESCRIPTION, TagOut

LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
SCHEME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$"
SCHEME_DESCRIPTION = "National scheme of `national_code` (a correspondence table's name)."
NATIONAL_CODE_DESCRIPTION = (
    "National offence code: when the scheme's table has it validated, its ICCS code is "
    "returned directly (source `correspondence`); otherwise the model codes the text."
)


class ClassifyItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StorableStr = Field(
        min_length=1, max_length=200, description="Your id for this text.", examples=["r-17"]
    )
    text: Text = Field(description="Offence text.", examples=["theft of a pedal cycle"])
    case_id: StorableStr | None = Field(
        default=None, max_length=200, description="Case reference kept with the result."
    )
    language: str | None = Field(
        default=None, pattern=LANGUAGE_PATTERN, description="ISO 639-1 code.", examples=["en"]
    )
    scheme: str | None = Field(
        default=None,
        pattern=SCHEME_PATTERN,
        description=SCHEME_DESCRIPTION + " Default: the request's.",
        examples=["EC-COIP"],
    )
    national_code: str | None = Field(
        default=None, max_length=100, description=NATIONAL_CODE_DESCRIPTION, examples=["189"]
    )


class ClassifyRequest(BaseModel):
    """One text (`text`) or a list (`items`), never both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # exactly one of the two is given (not null): both, or neither, is a 422
            "oneOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["items"], "properties": {"items": {"type": "array"}}},
            ],
            "examples": [
                {"text": "Robo con violencia de un teléfono celular", "top_k": 3},
                {"items": [{"id": "1", "text": "drink driving"}, {"id": "2", "text": "hurto"}]},
            ],
        },
    )

    text: Text | None = Field(
        default=None,
        description="The offence text (charge title, statute title or short narrative).",
        examples=["suspect broke the shed lock and took a bicycle"],
    )
    items: list[ClassifyItem] | None = Field(
        default=None,
        description="Several texts, each with your id (up to the items limit).",
        json_schema_extra={"minItems": 1},
    )
    top_k: int | None = Field(
        default=None, ge=1, le=20, description="Suggestions per text (default 3).", examples=[3]
    )
    case_id: StorableStr | None = Field(
        default=None,
        max_length=200,
        description="Case reference kept with the result (single text).",
        examples=["2025/000123"],
    )
    language: str | None = Field(
        default=None,
        pattern=LANGUAGE_PATTERN,
        description="Language of the text(s); 'es' also returns Spanish titles.",
        examples=["en"],
    )
    scheme: str | None = Field(
        default=None, pattern=SCHEME_PATTERN, description=SCHEME_DESCRIPTION, examples=["EC-COIP"]
    )
    national_code: str | None = Field(
        default=None,
        max_length=100,
        description=NATIONAL_CODE_DESCRIPTION + " (Single text; items carry their own.)",
        examples=["189"],
    )

    @model_validator(mode="after")
    def _one_of_text_or_items(self) -> Self:
        if (self.text is None) == (self.items is None):
            raise ValueError("send either 'text' or 'items', not both or neither")
        if self.items is not None and not self.items:
            raise ValueError("'items' is empty")
        codes_without_scheme = (self.national_code is not None and self.scheme is None) or any(
            i.national_code is not None and not (i.scheme or self.scheme) for i in self.items or []
        )
        if codes_without_scheme:
            raise ValueError("a 'national_code' needs a 'scheme' (on the item or the request)")
        return self


class PathStep(BaseModel):
    code: str = Field(description="ICCS code.", examples=["05"])
    title: str = Field(description="Its title.", examples=["Acts against property only"])


class SuggestionOut(BaseModel):
    code: str = Field(
        description="ICCS code, or NONE for no criminal offence.", examples=["050229"]
    )
    title: str = Field(
        description="Title of the code.", examples=["Theft of other personal property"]
    )
    level: str = Field(description="section, division, group, class or none.", examples=["class"])
    path: list[PathStep] = Field(description="From the section down to this code.")
    confidence: float = Field(description="Calibrated probability, 0-1.", examples=[0.91])


class ClassificationOut(BaseModel):
    classification_id: uuid.UUID = Field(description="Id of the stored result (for review).")
    id: str | None = Field(default=None, description="Your item id (list requests only).")
    case_id: str | None = Field(default=None, description="The case reference you sent.")
    suggestions: list[SuggestionOut] = Field(
        description="Best first: the first is the model's most probable code, at the level the "
        "text supports."
    )
    needs_review: bool = Field(description="True when a person should confirm the code.")
    backed_off: bool = Field(
        description="The first suggestion was replaced by a broader code (only under the "
        "model's `backoff` policy; the default `specific` policy never does)."
    )
    fallback: SuggestionOut | None = Field(
        default=None,
        description="A broader code above the first suggestion that is confident enough on its "
        "own: what a reviewer may settle for when the first is uncertain.",
    )
    tags: list[TagOut] = Field(
        default_factory=list,
        description=TAGS_FIELD_DESCRIPTION,
        examples=[[{"tag": "cyber", "value": "not_cyber", "confidence": 0.97}]],
    )
    model_version: str = Field(examples=["iccs-classifier:20251126-101500"])
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])
    source: Literal["model", "correspondence"] = Field(
        default="model",
        description="`correspondence`: the code validated for the national code in its "
        "scheme's table (confidence 1, no review); `model`: the model's suggestions, with the "
        "memory of validated decisions.",
        examples=["model"],
    )


class BatchClassificationOut(BaseModel):
    results: list[ClassificationOut] = Field(description="One per item, in request order.")
    model_version: str = Field(examples=["iccs-classifier:20251126-101500"])
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])
