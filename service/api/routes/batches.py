"""Batch jobs over HTTP: upload a file, follow its progress, fetch the results, cancel.

A worker (`iccs worker`, or a thread inside the service in development mode) does the work;
this module only queues jobs, reads their state from the database and streams result files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import WithJsonSchema
from sqlalchemy import update
from starlette.background import BackgroundTask

from iccs.bulk import InputError
from iccs.bulk.csv_records import DialectError, transcode_to_utf8
from iccs.bulk.formats import InputReader, detect_format
from iccs.bulk.titles import TitleLanguage
from service.api.deps import SessionDep, SettingsDep, SubmitterDep
from service.api.errors import ERROR_RESPONSES, APIError, ErrorResponse
from service.api.schemas.batches import BatchOut
from service.api.schemas.common import BatchId, StorableStr
from service.api_keys import Principal
from service.correspondence.store import SCHEME_PATTERN
from service.db.base import utcnow
from service.db.models import Batch
from service.db.models.batches import FINISHED_STATES
from service.jobs.results import csv_chunks, write_results_workbook
from service.jobs.runner import RESULTS_FILE, input_path
from service.visibility import visible_batch

router = APIRouter(prefix="/v1", tags=["batches"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such batch (or not yours)"}
}
UPLOAD_FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _out(batch: Batch) -> BatchOut:
    rate = batch.rows_done / batch.seconds if batch.seconds > 0 and batch.rows_done else None
    eta = None
    if batch.state == "running" and rate and batch.rows_total is not None:
        eta = round(max(batch.rows_total - batch.rows_done, 0) / rate, 1)
    return BatchOut(
        id=batch.id,
        state=batch.state,  # type: ignore[arg-type]
        filename=batch.filename,
        input_format=batch.input_format,
        id_column=batch.id_column,
        text_column=batch.text_column,
        top_k=batch.top_k,
        rows_total=batch.rows_total,
        rows_done=batch.rows_done,
        rows_rejected=batch.rows_rejected,
        rows_need_review=batch.rows_need_review,
        distinct_texts=batch.distinct_texts,
        reject_reasons=batch.reject_reasons or {},
        rows_per_second=round(rate, 1) if rate else None,
        eta_seconds=eta,
        cancel_requested=batch.cancel_requested,
        model_version=batch.model_version,
        error=batch.error,
        agency=batch.agency,
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        results_url=f"/v1/batches/{batch.id}/results" if batch.state == "succeeded" else None,
    )


def _visible(session: SessionDep, batch_id: str, caller: Principal) -> Batch:
    """The job, if the caller submitted it or is its agency's analyst or admin; else 404."""
    batch = visible_batch(session, batch_id, caller)
    if batch is None:
        raise APIError(404, f"no batch {batch_id}", code="batch_not_found")
    return batch


@router.post(
    "/batches",
    status_code=202,
    response_model=BatchOut,
    responses={
        **ERROR_RESPONSES,
        400: {"model": ErrorResponse, "description": "Unknown format, wrong columns, unreadable"},
    },
)
def create_batch(
    file: Annotated[
        UploadFile,
        File(
            description="CSV (separator and BOM sniffed), TSV, JSONL, Parquet or Excel (.xlsx, "
            "first sheet) file."
        ),
    ],
    session: SessionDep,
    settings: SettingsDep,
    caller: SubmitterDep,
    id_column: Annotated[
        StorableStr, Form(min_length=1, max_length=200, description="Record id column.")
    ] = "id",
    text_column: Annotated[
        StorableStr, Form(min_length=1, max_length=200, description="Text column.")
    ] = "text",
    top_k: Annotated[
        int | None,
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 20}),  # a form has no null
        Form(ge=1, le=20, description="Suggestions per row."),
    ] = None,
    input_format: Annotated[
        Literal["csv", "tsv", "jsonl", "parquet", "xlsx"] | None,
        WithJsonSchema({"type": "string", "enum": list(UPLOAD_FORMATS)}),
        Form(alias="format", description="File format; default: from the file name."),
    ] = None,
    encoding: Annotated[
        str | None,
        Form(
            max_length=40,
            description="Text encoding of a CSV, TSV or JSONL file when it is not UTF-8 "
            "(default: UTF-8, or as its byte-order mark says).",
            examples=["cp1252"],
        ),
    ] = None,
    scheme: Annotated[
        str | None,
        Form(
            pattern=SCHEME_PATTERN,
            description="Correspondence table whose validated national codes are used.",
        ),
    ] = None,
    national_code_column: Annotated[
        str | None, Form(max_length=200, description="Column of the rows' national codes.")
    ] = None,
) -> BatchOut:
    """Queue a file for classification; poll GET /v1/batches/{id} for progress."""
    if (scheme is None) != (national_code_column is None):
        raise APIError(400, "scheme and national_code_column go together", code="invalid_input")
    filename = "".join(c for c in Path(file.filename or "").name if c.isprintable()) or "upload"
    try:
        fmt = detect_format(Path(filename), input_format)
    except InputError as exc:
        raise APIError(400, str(exc), code="unsupported_format") from None
    batch_id = str(uuid.uuid4())
    directory = settings.batches_dir / batch_id
    directory.mkdir(parents=True)
    source = input_path(directory, fmt)
    with source.open("wb") as handle:
        shutil.copyfileobj(file.file, handle, length=1 << 20)
    try:  # wrong columns or an unreadable file: refuse now, not in the worker
        if encoding and fmt in ("csv", "tsv", "jsonl"):
            transcode_to_utf8(source, encoding)  # the worker reads UTF-8
        InputReader(source, fmt, id_column, text_column, code_column=national_code_column).close()
    except DialectError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise APIError(400, str(exc), code="invalid_input") from None
    except InputError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        message = str(exc).replace(str(source), filename)
        if not message.startswith(filename):
            message = f"{filename}: {message}"
        raise APIError(400, message, code="invalid_input") from None
    batch = Batch(
        id=batch_id,
        state="queued",
        filename=filename[:255],
        input_format=fmt,
        id_column=id_column,
        text_column=text_column,
        scheme=scheme,
        national_code_column=national_code_column,
        top_k=top_k or settings.default_top_k,
        reject_reasons={},
        api_key_id=caller.key_id,
        agency=caller.agency,
    )
    session.add(batch)
    session.commit()
    return _out(batch)


@router.get(
    "/batches/{batch_id}", response_model=BatchOut, responses={**ERROR_RESPONSES, **NOT_FOUND}
)
def get_batch(batch_id: BatchId, session: SessionDep, caller: SubmitterDep) -> BatchOut:
    """State, rows done and total, rate, ETA and error counts."""
    return _out(_visible(session, batch_id, caller))


@router.get(
    "/batches/{batch_id}/results",
    response_model=None,
    responses={
        **ERROR_RESPONSES,
        **NOT_FOUND,
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}, XLSX_MEDIA_TYPE: {}}},
        409: {"model": ErrorResponse, "description": "The batch has not succeeded"},
        410: {"model": ErrorResponse, "description": "Its results were deleted"},
    },
)
def get_results(
    batch_id: BatchId,
    session: SessionDep,
    settings: SettingsDep,
    caller: SubmitterDep,
    result_format: Annotated[
        Literal["jsonl", "csv", "xlsx"],
        Query(alias="format", description="jsonl (default), csv or xlsx."),
    ] = "jsonl",
    titles: Annotated[
        TitleLanguage | None,
        Query(description="csv and xlsx: add each code's title in en, es or ko."),
    ] = None,
) -> FileResponse | StreamingResponse:
    """Every input row once, in input order (JSONL: the `iccs classify` record per row)."""
    batch = _visible(session, batch_id, caller)
    if batch.state != "succeeded":
        raise APIError(
            409,
            f"batch is {batch.state}; results exist once it has succeeded",
            code="batch_not_finished",
            details={"state": batch.state},
        )
    path = settings.batches_dir / batch.id / RESULTS_FILE
    if not path.is_file():
        raise APIError(410, "the results of this batch were deleted", code="results_gone")
    stem = Path(batch.filename).stem
    if result_format == "xlsx":
        return _workbook_response(path, batch.top_k, titles, f"{stem}.iccs.xlsx")
    if result_format == "csv":
        return StreamingResponse(
            csv_chunks(path, batch.top_k, titles),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.iccs.csv"'},
        )
    return FileResponse(path, media_type="application/x-ndjson", filename=f"{stem}.iccs.jsonl")


def _workbook_response(path: Path, top_k: int, titles: str | None, filename: str) -> FileResponse:
    """Build the workbook beside the results and delete it once sent (it holds no case text)."""
    handle, name = tempfile.mkstemp(prefix="results-", suffix=".xlsx", dir=path.parent)
    target = Path(name)
    try:
        write_results_workbook(path, target, top_k, titles)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        os.close(handle)
    return FileResponse(
        target,
        media_type=XLSX_MEDIA_TYPE,
        filename=filename,
        background=BackgroundTask(target.unlink, missing_ok=True),
    )


@router.delete(
    "/batches/{batch_id}",
    status_code=202,
    response_model=BatchOut,
    responses={
        **ERROR_RESPONSES,
        **NOT_FOUND,
        409: {"model": ErrorResponse, "description": "The batch has already finished"},
    },
)
def cancel_batch(
    batch_id: BatchId, session: SessionDep, settings: SettingsDep, caller: SubmitterDep
) -> BatchOut:
    """Cancel a job: at once while queued, at its next checkpoint while running."""
    batch = _visible(session, batch_id, caller)
    if batch.state in FINISHED_STATES:
        raise APIError(409, f"batch already {batch.state}", code="batch_finished")
    now = utcnow()
    session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.state == "queued")
        .values(state="cancelled", finished_at=now, updated_at=now, cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.state == "running")
        .values(cancel_requested=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(batch)
    if batch.state == "cancelled":  # no worker had it: the upload (case text) goes now
        shutil.rmtree(settings.batches_dir / batch.id, ignore_errors=True)
    return _out(batch)
