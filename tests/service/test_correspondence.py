"""Correspondence tables over HTTP: draft, validate on /review, import, export, use, memory."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from service.config import MemorySettings
from service.db.models import Classification, CorrespondenceEntry
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_batches import submit, worker
from tests.service.test_reviews import decide, use_queue

NATIONAL = (
    "national_code,title,description\n"
    "140,Estafa informática,Transferencia no consentida de fondos mediante manipulación\n"
    "189,Robo con violencia,Sustracción de un teléfono celular con violencia\n"
    "200,Conducir en estado de ebriedad,\n"
)
VALIDATED = (
    "code,name,iccs\n"
    "A1,Hurto de celular en la vía pública sin violencia,050221\n"
    "A2,Abigeato agravado de ganado mayor,ICCS0502\n"
    "A3,Contravención de tránsito leve,NONE\n"
)


def upload(
    svc: Service, scheme: str, action: str, body: str, role: str = "admin", **form: str
) -> Any:
    return svc.client.post(
        f"/v1/correspondences/{scheme}/{action}",
        files={"file": ("table.csv", body.encode(), "text/csv")},
        data=form,
        headers=svc.headers(role),
    )


def progress(svc: Service) -> dict[str, dict[str, Any]]:
    response = svc.client.get("/v1/correspondences", headers=svc.headers("analyst"))
    assert response.status_code == 200, response.text
    return {p["scheme"]: p for p in response.json()["schemes"]}


def classify(svc: Service, **body: Any) -> dict[str, Any]:
    response = svc.client.post("/v1/classify", json=body, headers=svc.headers())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def csvc(service_factory: ServiceFactory) -> Iterator[Service]:
    with service_factory(memory=MemorySettings(refresh_seconds=0)) as service:
        use_queue(service, qc_rate=0.0)
        yield service


def test_draft_opens_a_mapping_project_in_the_review_queue(csvc: Service) -> None:
    assert upload(csvc, "EC-COIP", "draft", NATIONAL, role="analyst").status_code == 403
    response = upload(csvc, "EC-COIP", "draft", NATIONAL)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "scheme": "EC-COIP",
        "drafted": 3,
        "already_present": 0,
        "review_source": "correspondence:EC-COIP",
    }
    again = upload(csvc, "EC-COIP", "draft", NATIONAL).json()
    assert (again["drafted"], again["already_present"]) == (3 - 3, 3)
    page = csvc.client.get(
        "/v1/reviews", params={"batch": "correspondence:EC-COIP"}, headers=csvc.headers("analyst")
    ).json()
    items = page["items"]
    assert len(items) == 3
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences)  # most uncertain first
    assert progress(csvc)["EC-COIP"] == {
        "scheme": "EC-COIP",
        "total": 3,
        "validated": 0,
        "share_validated": 0.0,
    }
    # the retention purge deleted one draft's classification: drafting again re-queues it
    with csvc.db.sessionmaker() as session:
        session.execute(
            delete(Classification).where(Classification.id == uuid.UUID(items[0]["id"]))
        )
        session.commit()
    redraft = upload(csvc, "EC-COIP", "draft", NATIONAL).json()
    assert (redraft["drafted"], redraft["already_present"]) == (1, 2)
    assert progress(csvc)["EC-COIP"]["total"] == 3


def test_validating_on_review_updates_progress_export_and_the_memory(csvc: Service) -> None:
    upload(csvc, "EC-COIP", "draft", NATIONAL)
    items = csvc.client.get(
        "/v1/reviews", params={"batch": "correspondence:EC-COIP"}, headers=csvc.headers("analyst")
    ).json()["items"]
    fraud = next(i for i in items if i["text"].startswith("Estafa"))
    decided = decide(csvc, fraud, "recode", code="07011", comment="per statute art. 190")
    assert decided.status_code == 200, decided.text
    assert progress(csvc)["EC-COIP"]["validated"] == 1
    table = csvc.client.get("/v1/correspondences/EC-COIP", headers=csvc.headers("analyst")).json()
    rows = {r["national_code"]: r for r in table["rows"]}
    assert rows["140"] == {
        "national_code": "140",
        "title": "Estafa informática",
        "iccs_code": "07011",
        "level": "group",
        "iccs_title": rows["140"]["iccs_title"],
        "status": "validated",
        "validator": "test analyst",
        "comment": "per statute art. 190",
    }
    assert rows["189"]["status"] == "draft" and rows["189"]["iccs_code"]
    # the validated row is remembered: the same wording is now coded with it, confidently
    text = "Estafa informática. Transferencia no consentida de fondos mediante manipulación"
    result = classify(csvc, text=text)
    assert result["source"] == "model"
    assert result["suggestions"][0]["code"] == "07011"
    assert result["suggestions"][0]["confidence"] > 0.9


def test_import_is_all_or_nothing_with_row_numbers(csvc: Service) -> None:
    bad = VALIDATED.replace("ICCS0502", "99999").replace("NONE", "")
    columns = {"code_column": "code", "title_column": "name", "iccs_column": "iccs"}
    response = upload(csvc, "EC-COIP", "import", bad, **columns)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_table"
    assert [r["row"] for r in error["details"]] == [3, 4]
    assert progress(csvc) == {}
    missing = upload(csvc, "EC-COIP", "import", VALIDATED)
    assert missing.status_code == 422 and "missing columns" in missing.json()["error"]["message"]
    assert upload(csvc, "bad scheme!", "import", VALIDATED, **columns).status_code == 422
    ok = upload(csvc, "EC-COIP", "import", VALIDATED, **columns)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"scheme": "EC-COIP", "added": 3, "updated": 0}
    assert progress(csvc)["EC-COIP"]["validated"] == 3


def test_validated_national_codes_skip_the_model_and_the_queue(csvc: Service) -> None:
    columns = {"code_column": "code", "title_column": "name", "iccs_column": "iccs"}
    upload(csvc, "EC-COIP", "import", VALIDATED, **columns)
    one = classify(csvc, text="abigeato", scheme="EC-COIP", national_code="A2")
    assert one["source"] == "correspondence" and not one["needs_review"]
    assert [(s["code"], s["confidence"], s["level"]) for s in one["suggestions"]] == [
        ("0502", 1.0, "division")
    ]
    many = classify(
        csvc,
        scheme="EC-COIP",
        items=[
            {"id": "a", "text": "contravención", "national_code": "A3"},
            {"id": "b", "text": "drink driving", "national_code": "unknown"},
            {"id": "c", "text": "robo", "scheme": "OTHER", "national_code": "A1"},
        ],
    )["results"]
    assert many[0]["source"] == "correspondence" and many[0]["suggestions"][0]["code"] == "NONE"
    assert not many[0]["needs_review"]
    assert [r["source"] for r in many[1:]] == ["model", "model"]
    queued = csvc.client.get("/v1/reviews", headers=csvc.headers("analyst")).json()["items"]
    assert all(i["source"] != "correspondence" for i in queued)
    no_scheme = csvc.client.post(
        "/v1/classify", json={"text": "robo", "national_code": "A1"}, headers=csvc.headers()
    )
    assert no_scheme.status_code == 422


def test_export_as_csv_and_unknown_schemes(csvc: Service) -> None:
    columns = {"code_column": "code", "title_column": "name", "iccs_column": "iccs"}
    upload(csvc, "EC-COIP", "import", VALIDATED, **columns)
    response = csvc.client.get(
        "/v1/correspondences/EC-COIP", params={"format": "csv"}, headers=csvc.headers("analyst")
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "national_code,title,iccs_code,level,iccs_title,status,validator,comment"
    assert lines[1].startswith("A1,Hurto de celular en la vía pública sin violencia,050221,class,")
    assert lines[1].endswith(",validated,test admin,")
    missing = csvc.client.get("/v1/correspondences/XX", headers=csvc.headers("analyst"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "scheme_not_found"
    assert csvc.client.get("/v1/correspondences", headers=csvc.headers()).status_code == 403


def test_batch_rows_with_a_validated_national_code_skip_the_model(csvc: Service) -> None:
    columns = {"code_column": "code", "title_column": "name", "iccs_column": "iccs"}
    assert upload(csvc, "EC", "import", VALIDATED, **columns).status_code == 200
    content = b"case_id,offence,codigo\nC1,robo,A1\nC2,lost wallet reported,\nC3,x,A3\n"
    refused = csvc.client.post(
        "/v1/batches",
        files={"file": ("b.csv", content, "text/csv")},
        data={"id_column": "case_id", "text_column": "offence", "scheme": "EC"},
        headers=csvc.headers(),
    )
    assert refused.status_code == 400
    queued = submit(csvc, content, scheme="EC", national_code_column="codigo")
    assert worker(csvc).run_once() == "succeeded"
    response = csvc.client.get(f"/v1/batches/{queued['id']}/results", headers=csvc.headers())
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [r["source"] for r in records] == ["correspondence", "model", "correspondence"]
    assert [r["suggestions"][0]["code"] for r in (records[0], records[2])] == ["050221", "NONE"]
    assert not records[0]["needs_review"] and not records[2]["needs_review"]


@pytest.mark.postgres
def test_draft_validate_import_and_use_on_postgresql(
    service_factory: ServiceFactory, postgres_url: str
) -> None:
    with service_factory(
        database_url=postgres_url, memory=MemorySettings(refresh_seconds=0)
    ) as svc:
        try:
            _draft_validate_import_and_use(svc)
        finally:  # the schema is shared by the session's PostgreSQL tests: leave it as found
            with svc.db.sessionmaker() as session:
                session.execute(delete(CorrespondenceEntry))
                session.execute(
                    delete(Classification).where(Classification.source.startswith("corresp"))
                )
                session.commit()


def _draft_validate_import_and_use(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    assert upload(svc, "PG-DRAFT", "draft", NATIONAL).json()["drafted"] == 3
    items = svc.client.get(
        "/v1/reviews",
        params={"batch": "correspondence:PG-DRAFT"},
        headers=svc.headers("analyst"),
    ).json()["items"]
    assert decide(svc, items[0], "recode", code="0502").status_code == 200
    assert progress(svc)["PG-DRAFT"]["validated"] == 1
    columns = {"code_column": "code", "title_column": "name", "iccs_column": "iccs"}
    assert upload(svc, "PG-IMPORT", "import", VALIDATED, **columns).status_code == 200
    result = classify(svc, text="x", scheme="PG-IMPORT", national_code="A1")
    assert result["source"] == "correspondence"
    assert result["suggestions"][0]["code"] == "050221"
