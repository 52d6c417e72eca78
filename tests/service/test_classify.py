from __future__ import annotations

import uuid

from sqlalchemy import select

from service.db.models import ApiKey, Classification
from tests.service.conftest import Service


def test_single_text_returns_ranked_suggestions_with_paths_and_versions(svc: Service) -> None:
    response = svc.client.post(
        "/v1/classify",
        json={"text": "theft of a pedal cycle from outside the station", "case_id": "2025/17"},
        headers=svc.headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "iccs-classifier:tiny-1"
    assert body["taxonomy_version"] == "ICCS-1.0-2015"
    assert body["case_id"] == "2025/17" and body["id"] is None
    uuid.UUID(body["classification_id"])
    suggestions = body["suggestions"]
    assert len(suggestions) == 3
    confidences = [s["confidence"] for s in suggestions]
    assert confidences[1:] == sorted(confidences[1:], reverse=True)  # alternatives, ranked
    first = suggestions[0]
    assert first["code"] == "050229" and first["level"] == "class"
    assert [p["code"] for p in first["path"]] == ["05", "0502", "05022", "050229"]
    assert first["path"][0]["title"] == "Acts against property only"
    assert first["title"] == first["path"][-1]["title"]
    assert isinstance(body["needs_review"], bool) and isinstance(body["backed_off"], bool)


def test_a_fallback_is_a_broader_code_above_the_first_suggestion(svc: Service) -> None:
    texts = ["took something", "a man was hurt", "stolen", "damage and theft at the house"]
    body = svc.client.post(
        "/v1/classify",
        json={"items": [{"id": str(n), "text": t} for n, t in enumerate(texts)]},
        headers=svc.headers(),
    ).json()
    for result in body["results"]:
        fallback = result["fallback"]
        if fallback is not None:
            first = result["suggestions"][0]
            assert first["code"].startswith(fallback["code"]) and first["code"] != fallback["code"]
            assert fallback["confidence"] >= first["confidence"]
            assert [p["code"] for p in fallback["path"]] == [
                p["code"] for p in first["path"][: len(fallback["path"])]
            ]


def test_result_is_stored_for_review(svc: Service) -> None:
    text = "stabbed the victim in the arm with a knife causing serious injury"
    body = svc.client.post(
        "/v1/classify",
        json={"text": text, "case_id": "C-9", "language": "en"},
        headers=svc.headers(),
    ).json()
    with svc.db.session() as session:
        row = session.get(Classification, uuid.UUID(body["classification_id"]))
        assert row is not None
        key = session.get(ApiKey, row.api_key_id)
    assert row.text == text and row.case_id == "C-9" and row.language == "en"
    assert row.top_code == body["suggestions"][0]["code"]
    assert row.confidence == body["suggestions"][0]["confidence"]
    assert row.needs_review == body["needs_review"]
    assert row.suggestions == body["suggestions"]
    assert row.model_version == "iccs-classifier:tiny-1"
    assert row.taxonomy_version == "ICCS-1.0-2015"
    assert row.source == "api"
    assert key is not None and key.role == "submitter"
    assert row.created_at is not None


def test_list_of_texts_keeps_order_and_ids(svc: Service) -> None:
    items = [
        {"id": "a", "text": "drink driving over the prescribed limit"},
        {"id": "b", "text": "possession of cannabis for personal use", "case_id": "K1"},
        {"id": "c", "text": "drink driving over the prescribed limit"},
    ]
    response = svc.client.post(
        "/v1/classify", json={"items": items, "top_k": 2}, headers=svc.headers()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "iccs-classifier:tiny-1"
    results = body["results"]
    assert [r["id"] for r in results] == ["a", "b", "c"]
    assert results[1]["case_id"] == "K1"
    assert [r["suggestions"][0]["code"] for r in results] == ["020721", "060111", "020721"]
    assert all(len(r["suggestions"]) == 2 for r in results)
    assert all(r["model_version"] == body["model_version"] for r in results)
    ids = {r["classification_id"] for r in results}
    assert len(ids) == 3  # one stored row per item, duplicates included
    with svc.db.session() as session:
        stored = session.scalars(select(Classification.id)).all()
    assert {str(i) for i in stored} == ids


def test_spanish_request_gets_spanish_titles(svc: Service) -> None:
    body = svc.client.post(
        "/v1/classify",
        json={"text": "Conducir en estado de ebriedad", "language": "es"},
        headers=svc.headers(),
    ).json()
    first = body["suggestions"][0]
    assert first["code"] == "020721"
    assert first["path"][0]["title"].startswith("Actos")


def test_korean_text_is_stored_as_korean(svc: Service) -> None:
    body = svc.client.post("/v1/classify", json={"text": "음주운전"}, headers=svc.headers()).json()
    with svc.db.session() as session:
        row = session.get(Classification, uuid.UUID(body["classification_id"]))
    assert row is not None and row.language == "ko"


def test_no_offence_has_an_empty_path_and_needs_review(svc: Service) -> None:
    body = svc.client.post(
        "/v1/classify",
        json={"text": "lost wallet reported, no crime", "top_k": 1},
        headers=svc.headers(),
    ).json()
    first = body["suggestions"][0]
    assert first["code"] == "NONE" and first["path"] == [] and first["level"] == "none"
    assert body["needs_review"] is True


def test_openapi_documents_the_endpoints(svc: Service) -> None:
    spec = svc.client.get("/openapi.json").json()
    for path in [
        "/v1/classify",
        "/v1/taxonomy",
        "/v1/taxonomy/{code}",
        "/v1/taxonomy/search",
        "/v1/models/current",
        "/v1/models/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ]:
        assert path in spec["paths"], path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert svc.client.get("/docs").status_code == 200


def test_unreachable_database_is_503_and_returns_nothing(svc: Service, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from tests.service.test_auth import assert_error

    def fail(rows):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(svc.app.state.writer, "write", fail)
    response = svc.client.post(
        "/v1/classify", json={"text": "drink driving"}, headers=svc.headers()
    )
    error = assert_error(response, 503, "database_unavailable")
    assert "suggestions" not in response.text
    assert error["details"] == {"reason": "OperationalError"}  # a type, never the message
