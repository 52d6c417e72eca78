from __future__ import annotations

from pydantic import BaseModel, Field


class DraftOut(BaseModel):
    scheme: str = Field(description="The national scheme.", examples=["EC-COIP"])
    drafted: int = Field(description="National codes proposed and queued now.", examples=[412])
    already_present: int = Field(
        description="Codes of the file already in the table (left as they were).", examples=[0]
    )
    review_source: str = Field(
        description="The mapping project's source in the review queue (the `batch` filter).",
        examples=["correspondence:EC-COIP"],
    )


class ImportOut(BaseModel):
    scheme: str = Field(description="The national scheme.", examples=["EC-COIP"])
    added: int = Field(description="Rows new to the table.", examples=[400])
    updated: int = Field(description="Rows that replaced existing ones.", examples=[12])


class SchemeProgressOut(BaseModel):
    scheme: str = Field(description="The national scheme.", examples=["EC-COIP"])
    total: int = Field(description="National codes in the table.", examples=[412])
    validated: int = Field(description="Codes validated (imported or decided).", examples=[97])
    share_validated: float = Field(description="validated / total.", examples=[0.235])


class ProgressOut(BaseModel):
    schemes: list[SchemeProgressOut] = Field(description="One per scheme, by name.")


class CorrespondenceRowOut(BaseModel):
    national_code: str = Field(description="The national offence code.", examples=["140"])
    title: str = Field(description="Its national title.", examples=["Robo"])
    iccs_code: str | None = Field(
        description="The validated ICCS code, or the model's proposal while a draft.",
        examples=["0401"],
    )
    level: str | None = Field(description="Level of the ICCS code.", examples=["division"])
    iccs_title: str | None = Field(description="Title of the ICCS code.", examples=["Robbery"])
    status: str = Field(description="draft or validated.", examples=["validated"])
    validator: str | None = Field(description="Who validated it.", examples=["analyst-1"])
    comment: str | None = Field(description="The validator's comment.", examples=[None])


class CorrespondenceTableOut(BaseModel):
    scheme: str = Field(description="The national scheme.", examples=["EC-COIP"])
    rows: list[CorrespondenceRowOut] = Field(description="By national code.")
