"""What schema fuzzing found, pinned: bounded numbers, strict date-times, offsets on every
timestamp, the full Allow header, unknown query parameters refused, documented statuses."""

from __future__ import annotations

import pytest

from tests.service.conftest import Service
from tests.service.test_auth import CLASSIFY, assert_error


@pytest.mark.parametrize(
    "query",
    [
        "/v1/reviews?offset=9223372036854775808",
        "/v1/reviews?offset=-1",
        "/v1/reviews/audit?actor_key_id=99999999999999999999",
        "/v1/reviews/audit?offset=1000000001",
        "/v1/reviews/export?since=0.5",
        "/v1/reviews/export?since=2026-01-31",  # a date, not a date-time
        "/v1/reviews/export?since=2026-01-31T00:00:00",  # no offset
        "/v1/reviews?limt=5",  # a typo is refused, not ignored
        "/v1/reviews?batch=%00",
    ],
)
def test_out_of_range_or_malformed_query_is_422(svc: Service, query: str) -> None:
    assert_error(svc.client.get(query, headers=svc.headers("admin")), 422, "validation_error")


@pytest.mark.parametrize("since", ["2026-01-31T00:00:00Z", "2026-01-31T09:30:00+09:00"])
def test_rfc3339_since_is_accepted(svc: Service, since: str) -> None:
    response = svc.client.get(
        "/v1/reviews/export", params={"since": since}, headers=svc.headers("admin")
    )
    assert response.status_code == 200, response.text


def test_huge_ids_in_bodies_are_422(svc: Service) -> None:
    body = {"analyst_key_ids": [2**63], "version": 1}
    item = "00000000-0000-0000-0000-000000000001"
    response = svc.client.post(
        f"/v1/reviews/{item}/assign", json=body, headers=svc.headers("admin")
    )
    assert_error(response, 422, "validation_error")
    decision = {"action": "skip", "version": 2**63}
    response = svc.client.post(
        f"/v1/reviews/{item}/decision", json=decision, headers=svc.headers("admin")
    )
    assert_error(response, 422, "validation_error")


def test_stored_timestamps_carry_their_utc_offset_on_sqlite(svc: Service) -> None:
    classified = svc.client.post("/v1/classify", json=CLASSIFY, headers=svc.headers()).json()
    detail = svc.client.get(
        f"/v1/classifications/{classified['classification_id']}", headers=svc.headers()
    ).json()
    assert detail["created_at"].endswith(("Z", "+00:00")), detail["created_at"]


def test_405_lists_every_method_of_the_path(svc: Service) -> None:
    response = svc.client.put("/v1/batches/some-id", headers=svc.headers())
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) >= {"GET", "DELETE"}


def test_text_and_items_together_is_422_and_the_document_says_so(svc: Service) -> None:
    body = {"text": "theft", "items": [{"id": "1", "text": "theft"}]}
    assert_error(
        svc.client.post("/v1/classify", json=body, headers=svc.headers()), 422, "validation_error"
    )
    schema = svc.client.get("/openapi.json").json()["components"]["schemas"]["ClassifyRequest"]
    assert [branch["required"] for branch in schema["oneOf"]] == [["text"], ["items"]]


def test_error_statuses_are_documented(svc: Service) -> None:
    paths = svc.client.get("/openapi.json").json()["paths"]
    assert {"404", "409", "410"} <= set(paths["/v1/batches/{batch_id}/results"]["get"]["responses"])
    assert {"400", "503"} <= set(paths["/v1/classify"]["post"]["responses"])
    assert "404" in paths["/v1/batches/{batch_id}"]["delete"]["responses"]


def test_a_parquet_upload_without_rows_succeeds_empty(svc: Service) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.service.test_batches import worker

    buffer = io.BytesIO()
    empty = pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    pq.write_table(empty, buffer)
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("empty.parquet", buffer.getvalue(), "application/octet-stream")},
        headers=svc.headers(),
    )
    assert response.status_code == 202, response.text
    assert worker(svc).run_once() == "succeeded"
    batch = svc.client.get(f"/v1/batches/{response.json()['id']}", headers=svc.headers()).json()
    assert (batch["state"], batch["rows_total"], batch["rows_done"]) == ("succeeded", 0, 0)
    results = svc.client.get(f"/v1/batches/{batch['id']}/results", headers=svc.headers())
    assert results.status_code == 200 and results.text == ""
    zero_bytes = svc.client.post(
        "/v1/batches",
        files={"file": ("empty.parquet", b"", "application/octet-stream")},
        headers=svc.headers(),
    )
    assert_error(zero_bytes, 400, "invalid_input")  # not a Parquet file at all


@pytest.mark.postgres
@pytest.mark.parametrize(
    "path",
    [
        "/v1/batches/a%00b",
        "/v1/batches/a%00b/results",
        "/v1/batches/a%00b/reviews",
        "/v1/reviews?batch=a%00b",
        "/v1/reviews/audit?action=a%00b",
    ],
)
def test_nul_in_paths_and_queries_is_422_on_postgres(
    service_factory, postgres_url: str, path: str
) -> None:
    with service_factory(database_url=postgres_url) as svc:
        response = svc.client.get(path, headers=svc.headers("admin"))
    assert_error(response, 422, "validation_error")
