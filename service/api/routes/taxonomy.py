from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from iccs.search import search
from iccs.taxonomy import AmbiguousCodeError, Category, CodeError, load_taxonomy
from service.api.deps import require_role
from service.api.errors import ERROR_RESPONSES, APIError, ErrorResponse
from service.api.schemas.taxonomy import (
    Bilingual,
    BilingualList,
    CategoryDetail,
    CategorySummary,
    SearchHitOut,
    SearchResults,
    TaxonomyListing,
)

router = APIRouter(
    prefix="/v1",
    tags=["taxonomy"],
    dependencies=[Depends(require_role("submitter"))],
    responses={k: v for k, v in ERROR_RESPONSES.items() if k in (401, 403, 429)},
)


def _summary(c: Category) -> CategorySummary:
    return CategorySummary(
        code=c.code, title=c.title_en, title_es=c.title_es, level=c.level_name, parent=c.parent
    )


@router.get("/taxonomy", response_model=TaxonomyListing)
def list_taxonomy() -> TaxonomyListing:
    """Every ICCS code, sections first, in code order."""
    taxonomy = load_taxonomy()
    return TaxonomyListing(version=taxonomy.version, categories=[_summary(c) for c in taxonomy])


@router.get("/taxonomy/search", response_model=SearchResults)
def search_taxonomy(
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words or a code.")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    language: Annotated[Literal["en", "es", "ko"], Query(description="Language of titles.")] = "en",
) -> SearchResults:
    """Codes by relevance (BM25) over titles, inclusions, index and legal terms, definitions
    and the labelled corpus's texts, in English, Spanish and Korean; a code finds itself."""
    taxonomy = load_taxonomy()
    hits = search(q, limit=limit, language=language)
    return SearchResults(
        query=q,
        results=[
            SearchHitOut(
                code=h.code,
                title=h.title,
                level=taxonomy.level(h.code),
                score=h.score,
                matched=h.matched,
            )
            for h in hits
        ],
        taxonomy_version=taxonomy.version,
    )


@router.get(
    "/taxonomy/{code}",
    response_model=CategoryDetail,
    responses={404: {"model": ErrorResponse, "description": "Unknown code"}},
)
def get_category(code: str) -> CategoryDetail:
    """Definition, inclusions, exclusions and children of a code, in both languages.

    Accepts `020111`, `ICCS020111` or `20111`.
    """
    taxonomy = load_taxonomy()
    try:
        c = taxonomy.get(code)
    except AmbiguousCodeError as exc:
        raise APIError(404, str(exc), code="ambiguous_code", details={"code": code}) from None
    except CodeError:
        raise APIError(
            404, f"unknown ICCS code: {code!r}", code="unknown_code", details={"code": code}
        ) from None
    return CategoryDetail(
        code=c.code,
        level=c.level_name,
        parent=c.parent,
        path=[_summary(p) for p in taxonomy.path(c.code)],
        title=Bilingual(en=c.title_en, es=c.title_es),
        description=Bilingual(en=c.description_en, es=c.description_es),
        inclusions=BilingualList(en=list(c.inclusions_en), es=list(c.inclusions_es)),
        exclusions=BilingualList(en=list(c.exclusions_en), es=list(c.exclusions_es)),
        children=[_summary(child) for child in taxonomy.children(c.code)],
        taxonomy_version=taxonomy.version,
    )
