from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from iccs.taxonomy import load_taxonomy

router = APIRouter(tags=["taxonomy"])


class CategorySummary(BaseModel):
    code: str = Field(description="ICCS code with leading zeros.", examples=["020111"])
    title: str = Field(description="English title.", examples=["Serious assault"])
    title_es: str = Field(description="Spanish title.", examples=["Agresión grave"])
    level: str = Field(description="section, division, group or class.", examples=["class"])
    parent: str | None = Field(description="Parent code; null for sections.", examples=["02011"])


class TaxonomyListing(BaseModel):
    version: str = Field(description="Taxonomy version.", examples=["ICCS-1.0-2015"])
    categories: list[CategorySummary]


@router.get("/taxonomy", response_model=TaxonomyListing)
def list_taxonomy() -> TaxonomyListing:
    """Every ICCS code, sections first, in code order."""
    taxonomy = load_taxonomy()
    return TaxonomyListing(
        version=taxonomy.version,
        categories=[
            CategorySummary(
                code=c.code,
                title=c.title_en,
                title_es=c.title_es,
                level=c.level_name,
                parent=c.parent,
            )
            for c in taxonomy
        ],
    )
