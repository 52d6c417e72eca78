"""Correspondence tables over HTTP: draft (admin), import (admin), export and progress."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import StreamingResponse

from service.api.deps import (
    AdminDep,
    AnalystDep,
    BatcherDep,
    ClassifierDep,
    MemoryDep,
    SessionDep,
    SettingsDep,
)
from service.api.errors import ERROR_RESPONSES, APIError, ErrorResponse
from service.api.schemas.correspondences import (
    CorrespondenceRowOut,
    CorrespondenceTableOut,
    DraftOut,
    ImportOut,
    ProgressOut,
    SchemeProgressOut,
)
from service.correspondence import store
from service.correspondence.tables import NationalRow, TableColumns, TableError, read_table
from service.reviews.queue import queue_for

router = APIRouter(prefix="/v1", tags=["correspondences"])
SchemePath = Annotated[str, Path(pattern=store.SCHEME_PATTERN, description="National scheme name.")]
ColumnForm = Annotated[str, Form(max_length=200)]


def _rows(data: bytes, columns: TableColumns, with_iccs: bool) -> list[NationalRow]:
    try:
        return read_table(data, columns, with_iccs)
    except TableError as exc:
        raise APIError(422, str(exc), code="invalid_table", details=exc.rows) from None


@router.post("/correspondences/{scheme}/draft", response_model=DraftOut, responses=ERROR_RESPONSES)
def draft_table(
    request: Request,
    scheme: SchemePath,
    file: Annotated[UploadFile, File(description="CSV: national_code, title[, description].")],
    session: SessionDep,
    model: ClassifierDep,
    memory: MemoryDep,
    batcher: BatcherDep,
    settings: SettingsDep,
    caller: AdminDep,
    code_column: ColumnForm = "national_code",
    title_column: ColumnForm = "title",
    description_column: ColumnForm = "description",
) -> DraftOut:
    """Propose ICCS codes for every national code and queue them as one mapping project."""
    columns = TableColumns(code_column, title_column, description_column)
    rows = _rows(file.file.read(), columns, with_iccs=False)
    predictor = memory.predictor(model.classifier, caller.agency)
    summary = store.draft(
        session,
        model,
        scheme,
        rows,
        suggest=lambda texts, k, langs: batcher.classify(
            predictor, model.versions, texts, k, langs
        ),
        top_k=settings.default_top_k,
        agency=caller.agency,
    )
    queue_for(request.app.state).sync(session, force=True)
    return DraftOut(
        scheme=summary.scheme,
        drafted=summary.drafted,
        already_present=summary.already_present,
        review_source=summary.source,
    )


@router.post(
    "/correspondences/{scheme}/import", response_model=ImportOut, responses=ERROR_RESPONSES
)
def import_table(
    scheme: SchemePath,
    file: Annotated[
        UploadFile,
        File(description="CSV: national_code, title, iccs_code[, description, comment]."),
    ],
    session: SessionDep,
    memory: MemoryDep,
    caller: AdminDep,
    code_column: ColumnForm = "national_code",
    title_column: ColumnForm = "title",
    description_column: ColumnForm = "description",
    iccs_column: ColumnForm = "iccs_code",
) -> ImportOut:
    """Load an already validated table; a bad row refuses the whole file (422 with row numbers)."""
    columns = TableColumns(code_column, title_column, description_column, iccs_column)
    rows = _rows(file.file.read(), columns, with_iccs=True)
    summary = store.import_table(session, scheme, rows, validator=caller.name)
    memory.invalidate()
    return ImportOut(scheme=summary.scheme, added=summary.added, updated=summary.updated)


@router.get("/correspondences", response_model=ProgressOut, responses=ERROR_RESPONSES)
def progress(session: SessionDep, caller: AnalystDep) -> ProgressOut:
    """Validated / total national codes per scheme."""
    return ProgressOut(
        schemes=[
            SchemeProgressOut(
                scheme=p.scheme,
                total=p.total,
                validated=p.validated,
                share_validated=round(p.validated / p.total, 4) if p.total else 0.0,
            )
            for p in store.progress(session)
        ]
    )


@router.get(
    "/correspondences/{scheme}",
    response_model=CorrespondenceTableOut,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"text/csv": {}}},
        404: {"model": ErrorResponse, "description": "No table for this scheme"},
    },
)
def export_table(
    scheme: SchemePath,
    session: SessionDep,
    caller: AnalystDep,
    output_format: Annotated[
        Literal["json", "csv"], Query(alias="format", description="json (default) or csv.")
    ] = "json",
) -> CorrespondenceTableOut | StreamingResponse:
    """The table: national code, title, ICCS code, level, its title, status, validator, comment."""
    rows = store.export(session, scheme)
    if not rows:
        raise APIError(404, f"no correspondence table {scheme}", code="scheme_not_found")
    if output_format == "csv":
        buffer = io.StringIO()
        store.export_csv(rows, buffer)
        return StreamingResponse(
            iter([buffer.getvalue()]),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{scheme}.csv"'},
        )
    return CorrespondenceTableOut(
        scheme=scheme,
        rows=[CorrespondenceRowOut.model_validate(r, from_attributes=True) for r in rows],
    )
