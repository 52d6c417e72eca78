from __future__ import annotations

from pydantic import BaseModel, Field


class CategorySummary(BaseModel):
    code: str = Field(description="ICCS code with leading zeros.", examples=["020111"])
    title: str = Field(description="English title.", examples=["Serious assault"])
    title_es: str = Field(description="Spanish title.", examples=["Agresión grave"])
    level: str = Field(description="section, division, group or class.", examples=["class"])
    parent: str | None = Field(description="Parent code; null for sections.", examples=["02011"])


class TaxonomyListing(BaseModel):
    version: str = Field(description="Taxonomy version.", examples=["ICCS-1.0-2015"])
    categories: list[CategorySummary]


class Bilingual(BaseModel):
    en: str = Field(description="English.", examples=["Serious assault"])
    es: str = Field(description="Spanish.", examples=["Agresión grave"])


class BilingualList(BaseModel):
    en: list[str] = Field(description="English.", examples=[["Aggravated assault"]])
    es: list[str] = Field(description="Spanish.", examples=[["Agresión con agravantes"]])


class CategoryDetail(BaseModel):
    code: str = Field(description="ICCS code with leading zeros.", examples=["020111"])
    level: str = Field(description="section, division, group or class.", examples=["class"])
    parent: str | None = Field(description="Parent code; null for sections.", examples=["02011"])
    path: list[CategorySummary] = Field(description="From the section down to this code.")
    title: Bilingual
    description: Bilingual = Field(description="The definition.")
    inclusions: BilingualList
    exclusions: BilingualList
    children: list[CategorySummary] = Field(description="Codes one level down.")
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])


class SearchHitOut(BaseModel):
    code: str = Field(examples=["050231"])
    title: str = Field(examples=["Shoplifting"])
    level: str = Field(examples=["class"])
    score: float = Field(
        description="Relevance relative to the best hit (1.0); higher is better.", examples=[0.93]
    )
    matched: str = Field(
        description="The title, inclusion, index term or corpus text that matched best.",
        examples=["Shoplifting"],
    )


class SearchResults(BaseModel):
    query: str = Field(examples=["shoplifting"])
    results: list[SearchHitOut]
    taxonomy_version: str = Field(examples=["ICCS-1.0-2015"])
