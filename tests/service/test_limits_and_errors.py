from __future__ import annotations

import json

import pytest

from service.api.errors import APIError
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_auth import assert_error

SECRET = "the suspect J. Doe at 12 Elm Street"


def test_text_over_the_length_limit_is_413(service_factory: ServiceFactory) -> None:
    with service_factory(max_text_chars=50) as svc:
        ok = svc.client.post("/v1/classify", json={"text": "x" * 50}, headers=svc.headers())
        assert ok.status_code == 200
        response = svc.client.post(
            "/v1/classify",
            json={"items": [{"id": "a", "text": "ok"}, {"id": "b", "text": "x" * 51}]},
            headers=svc.headers(),
        )
        error = assert_error(response, 413, "text_too_long")
        assert error["details"] == {"max_chars": 50, "item_indexes": [1]}


def test_too_many_items_is_413(service_factory: ServiceFactory) -> None:
    with service_factory(max_items=3) as svc:
        items = [{"id": str(i), "text": "drink driving"} for i in range(4)]
        response = svc.client.post("/v1/classify", json={"items": items}, headers=svc.headers())
        error = assert_error(response, 413, "too_many_items")
        assert error["details"] == {"max_items": 3, "items": 4}
        response = svc.client.post("/v1/classify", json={"items": items[:3]}, headers=svc.headers())
        assert len(response.json()["results"]) == 3


def test_default_limits_match_the_issue(svc: Service) -> None:
    assert svc.settings.max_text_chars == 10_000
    assert svc.settings.max_items == 1_000


def test_body_over_the_size_limit_is_413(service_factory: ServiceFactory) -> None:
    with service_factory(max_body_bytes=2048) as svc:
        body = json.dumps({"text": "a" * 4000})
        response = svc.client.post(
            "/v1/classify",
            content=body,
            headers={**svc.headers(), "Content-Type": "application/json"},
        )
        error = assert_error(response, 413, "body_too_large")
        assert error["details"] == {"max_bytes": 2048}


def test_streamed_body_over_the_size_limit_is_413(service_factory: ServiceFactory) -> None:
    """No Content-Length (chunked upload): the limit is enforced while reading."""
    with service_factory(max_body_bytes=2048) as svc:

        def chunks():
            yield b'{"text": "'
            for _ in range(10):
                yield b"a" * 500
            yield b'"}'

        response = svc.client.post(
            "/v1/classify",
            content=chunks(),
            headers={**svc.headers(), "Content-Type": "application/json"},
        )
        assert_error(response, 413, "payload_too_large")


def test_rate_limit_is_429_with_retry_after(service_factory: ServiceFactory) -> None:
    with service_factory(rate_limit_per_minute=6, rate_limit_burst=2) as svc:
        headers = svc.headers()
        assert svc.client.get("/v1/taxonomy/01", headers=headers).status_code == 200
        assert svc.client.get("/v1/taxonomy/01", headers=headers).status_code == 200
        response = svc.client.get("/v1/taxonomy/01", headers=headers)
        error = assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 10
        assert 0 < error["details"]["retry_after_seconds"] <= 10
        # Limits are per key: another key is not affected.
        other = svc.client.get("/v1/taxonomy/01", headers=svc.headers("analyst"))
        assert other.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": SECRET, "items": [{"id": "1", "text": SECRET}]},
        {"text": "   "},
        {"text": SECRET, "top_k": 0},
        {"text": SECRET, "top_k": 21},
        {"text": SECRET, "colour": "red"},
        {"items": []},
        {"items": [{"text": SECRET}]},
        {"text": SECRET, "language": "English"},
        {"text": 42},
    ],
)
def test_validation_errors_are_422_without_echoing_the_text(svc: Service, body: dict) -> None:
    response = svc.client.post("/v1/classify", json=body, headers=svc.headers())
    error = assert_error(response, 422, "validation_error")
    assert isinstance(error["details"], list) and error["details"]
    assert all(set(d) == {"loc", "msg", "type"} for d in error["details"])
    assert SECRET not in response.text


def test_malformed_json_is_422(svc: Service) -> None:
    response = svc.client.post(
        "/v1/classify",
        content=b'{"text": ',
        headers={**svc.headers(), "Content-Type": "application/json"},
    )
    assert_error(response, 422, "validation_error")


def test_unknown_route_and_method_use_the_error_shape(svc: Service) -> None:
    assert_error(svc.client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(svc.client.get("/v1/classify", headers=svc.headers()), 405, "method_not_allowed")


def test_api_error_and_unexpected_errors_use_the_error_shape(
    service_factory: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with service_factory() as svc:

        @svc.app.get("/boom")
        def boom() -> None:
            raise RuntimeError(f"failed on {SECRET}")

        @svc.app.get("/conflict")
        def conflict() -> None:
            raise APIError(409, "already reviewed", details={"id": 7})

        # The test client raises what reaches the server, whose log line would quote the message.
        client = svc.client
        error = assert_error(client.get("/boom"), 500, "internal_error")
        assert SECRET not in json.dumps(error)
        assert SECRET not in caplog.text and "RuntimeError" in caplog.text
        error = assert_error(client.get("/conflict"), 409, "conflict")
        assert error["details"] == {"id": 7}


def test_case_text_is_never_logged(svc: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    svc.client.post("/v1/classify", json={"text": SECRET}, headers=svc.headers())
    svc.client.post(
        "/v1/classify", json={"items": [{"id": "1", "text": SECRET}]}, headers=svc.headers()
    )
    svc.client.post("/v1/classify", json={"text": SECRET, "top_k": 99}, headers=svc.headers())
    assert SECRET not in caplog.text
