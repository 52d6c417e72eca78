from __future__ import annotations

from tests.service.conftest import Service
from tests.service.test_auth import assert_error


def test_listing_has_every_code(svc: Service, taxonomy) -> None:
    body = svc.client.get("/v1/taxonomy", headers=svc.headers()).json()
    assert body["version"] == "ICCS-1.0-2015"
    assert len(body["categories"]) == len(taxonomy)
    assert body["categories"][0]["level"] == "section"


def test_code_detail_in_both_languages(svc: Service) -> None:
    response = svc.client.get("/v1/taxonomy/ICCS020111", headers=svc.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "020111" and body["level"] == "class"
    assert body["title"] == {"en": "Serious assault", "es": "Agresión grave"}
    assert "serious bodily injury" in body["description"]["en"]
    assert body["description"]["es"]
    assert body["inclusions"]["en"] and body["inclusions"]["es"]
    assert [p["code"] for p in body["path"]] == ["02", "0201", "02011", "020111"]
    assert body["children"] == []


def test_code_detail_lists_children_and_accepts_a_dropped_zero(svc: Service) -> None:
    body = svc.client.get("/v1/taxonomy/2011", headers=svc.headers()).json()
    assert body["code"] == "02011"
    assert [c["code"] for c in body["children"]] == ["020111", "020112"]
    assert body["exclusions"]["en"] is not None


def test_unknown_code_is_404(svc: Service) -> None:
    error = assert_error(
        svc.client.get("/v1/taxonomy/999999", headers=svc.headers()), 404, "unknown_code"
    )
    assert error["details"] == {"code": "999999"}


def test_search_in_english_and_spanish(svc: Service) -> None:
    body = svc.client.get("/v1/taxonomy/search?q=shoplifting", headers=svc.headers()).json()
    assert body["query"] == "shoplifting"
    assert body["results"][0]["code"] == "050231"
    assert body["results"][0]["level"] == "class"
    body = svc.client.get(
        "/v1/taxonomy/search",
        params={"q": "robo", "language": "es", "limit": 3},
        headers=svc.headers(),
    ).json()
    assert len(body["results"]) == 3
    assert body["results"][0]["title"] == "Robo"


def test_search_ranks_by_relevance_in_three_languages(svc: Service) -> None:
    def first(q: str, language: str = "en") -> dict:
        params = {"q": q, "language": language, "limit": 5}
        response = svc.client.get("/v1/taxonomy/search", params=params, headers=svc.headers())
        assert response.status_code == 200, response.text
        return dict(response.json()["results"][0])

    robbery = first("robo con violencia", "es")
    assert robbery["code"].startswith("0401") and robbery["score"] == 1.0
    assert "robo" in robbery["matched"].lower()
    assert first("burglary of a dwelling")["code"].startswith("0501")
    assert first("사기", "ko")["code"].startswith("0701")
    assert "사기" in first("사기", "ko")["title"]  # the Korean title


def test_search_needs_a_query(svc: Service) -> None:
    assert_error(
        svc.client.get("/v1/taxonomy/search", headers=svc.headers()), 422, "validation_error"
    )
    assert_error(
        svc.client.get("/v1/taxonomy/search?q=", headers=svc.headers()), 422, "validation_error"
    )
