"""Batch jobs over HTTP: upload a file, follow its progress, fetch the results, cancel.

A worker (`iccs worker`, or a thread inside the service in development mode) does the work;
this module only queues jobs, reads their state from the database and streams result files.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import update

from iccs.bulk import InputError
from iccs.bulk.formats import InputReader, detect_format
from iccs.bulk.writers import result_columns
from iccs.tags import TAGS
from service.api.deps import SessionDep, SettingsDep, SubmitterDep
from service.api.errors import ERROR_RESPONSES, APIError
from service.api.schemas.batches import BatchOut
from service.api_keys import Principal
from service.db.base import utcnow
from service.db.models import Batch
from service.db.models.batches import FINISHED_STATES
from service.jobs.config import batches_dir
from service.jobs.runner import RESULTS_FILE, input_path

router = APIRouter(prefix="/v1", tags=["batches"])
UPLOAD_FORMATS = ("csv", "tsv", "jsonl", "parquet")


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
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        results_url=f"/v1/batches/{batch.id}/results" if batch.state == "succeeded" else None,
    )


def _visible(session: SessionDep, batch_id: str, caller: Principal) -> Batch:
    """The job, if the caller submitted it or is an analyst or admin; else 404."""
    batch = session.get(Batch, batch_id)
    if batch is None or not (caller.has_role("analyst") or batch.api_key_id == caller.key_id):
        raise APIError(404, f"no batch {batch_id}", code="batch_not_found")
    return batch


@router.post(
    "/batches",
    status_code=202,
    response_model=BatchOut,
    responses={**ERROR_RESPONSES, 400: ERROR_RESPONSES[422]},
)
def create_batch(
    file: Annotated[UploadFile, File(description="CSV, TSV, JSONL or Parquet file.")],
    session: SessionDep,
    settings: SettingsDep,
    caller: SubmitterDep,
    id_column: Annotated[str, Form(max_length=200, description="Record id column.")] = "id",
    text_column: Annotated[str, Form(max_length=200, description="Text column.")] = "text",
    top_k: Annotated[int | None, Form(ge=1, le=20, description="Suggestions per row.")] = None,
    input_format: Annotated[
        Literal["csv", "tsv", "jsonl", "parquet"] | None,
        Form(alias="format", description="File format; default: from the file name."),
    ] = None,
) -> BatchOut:
    """Queue a file for classification; poll GET /v1/batches/{id} for progress."""
    filename = Path(file.filename or "upload").name
    try:
        fmt = detect_format(Path(filename), input_format)
    except InputError as exc:
        raise APIError(400, str(exc), code="unsupported_format") from None
    batch_id = str(uuid.uuid4())
    directory = batches_dir(settings) / batch_id
    directory.mkdir(parents=True)
    source = input_path(directory, fmt)
    with source.open("wb") as handle:
        shutil.copyfileobj(file.file, handle, length=1 << 20)
    try:  # wrong columns or an unreadable file: refuse now, not in the worker
        InputReader(source, fmt, id_column, text_column).close()
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
        top_k=top_k or settings.default_top_k,
        reject_reasons={},
        api_key_id=caller.key_id,
    )
    session.add(batch)
    session.commit()
    return _out(batch)


@router.get("/batches/{batch_id}", response_model=BatchOut, responses=ERROR_RESPONSES)
def get_batch(batch_id: str, session: SessionDep, caller: SubmitterDep) -> BatchOut:
    """State, rows done and total, rate, ETA and error counts."""
    return _out(_visible(session, batch_id, caller))


def _csv_lines(path: Path, top_k: int) -> Iterator[str]:
    """The JSONL results as CSV: id, codes and confidences, needs_review, model_version, tags."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", *result_columns(top_k), "rejected"])
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            record = json.loads(line)
            cells: list[object] = [record["id"]]
            suggestions = record["suggestions"]
            for i in range(top_k):
                cells += (
                    [suggestions[i]["code"], suggestions[i]["confidence"]]
                    if i < len(suggestions)
                    else ["", ""]
                )
            tags = {t["tag"]: t["value"] for t in record.get("tags", [])}
            cells += [
                "true" if record["needs_review"] else "false",
                record["model_version"],
                *[tags.get(tag, "") for tag in TAGS],
                record.get("rejected", ""),
            ]
            writer.writerow(cells)
            if number % 2000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/batches/{batch_id}/results",
    response_model=None,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        409: ERROR_RESPONSES[422],
    },
)
def get_results(
    batch_id: str,
    session: SessionDep,
    settings: SettingsDep,
    caller: SubmitterDep,
    result_format: Annotated[
        Literal["jsonl", "csv"], Query(alias="format", description="jsonl (default) or csv.")
    ] = "jsonl",
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
    path = batches_dir(settings) / batch.id / RESULTS_FILE
    if not path.is_file():
        raise APIError(410, "the results of this batch were deleted", code="results_gone")
    stem = Path(batch.filename).stem
    if result_format == "csv":
        return StreamingResponse(
            _csv_lines(path, batch.top_k),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.iccs.csv"'},
        )
    return FileResponse(path, media_type="application/x-ndjson", filename=f"{stem}.iccs.jsonl")


@router.delete(
    "/batches/{batch_id}",
    status_code=202,
    response_model=BatchOut,
    responses={**ERROR_RESPONSES, 409: ERROR_RESPONSES[422]},
)
def cancel_batch(
    batch_id: str, session: SessionDep, settings: SettingsDep, caller: SubmitterDep
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
        shutil.rmtree(batches_dir(settings) / batch.id, ignore_errors=True)
    return _out(batch)
