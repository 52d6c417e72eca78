"""Keys: production refuses development keys, a caller is authenticated before its body is
judged, and a revocation takes effect within the documented bound (ICCS_AUTH_CACHE_SECONDS)."""

from __future__ import annotations

from typing import Any

import pytest

from service.api_keys import create_api_key, revoke_keys
from service.app import StartupError, create_app
from tests.service.conftest import Service, ServiceFactory, create_keys, make_settings
from tests.service.test_auth import CLASSIFY, assert_error


def add_key(svc: Service, environment: str | None, role: str = "admin") -> str:
    with svc.db.session() as session:
        return create_api_key(session, role, "development", environment=environment)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("service_env", "key_env", "status"),
    [
        ("production", "development", 401),
        ("production", "production", 200),
        ("production", None, 200),  # made before environments were recorded
        ("development", "development", 200),
        ("test", "development", 200),
    ],
)
def test_production_refuses_development_keys(
    service_factory: ServiceFactory, service_env: str, key_env: str | None, status: int
) -> None:
    with service_factory(env=service_env) as svc:
        key = add_key(svc, key_env)
        response = svc.client.get("/v1/models/current", headers=bearer(key))
        assert response.status_code == status, response.text


def test_production_does_not_start_with_only_development_keys(
    tmp_path: Any, tiny_bundle: Any
) -> None:
    settings = make_settings(tmp_path, tiny_bundle, env="production")
    create_keys(settings, ())
    app = create_app(settings)
    with app.state.db.session() as session:
        create_api_key(session, "admin", "development", environment="development")
    from fastapi.testclient import TestClient

    with pytest.raises(StartupError), TestClient(app):
        pass


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"text": ', "application/json"),  # not JSON at all
        (b'{"text": 7, "top_k": 99}', "application/json"),
        (b"text=theft", "application/x-www-form-urlencoded"),
    ],
)
def test_no_key_is_401_before_the_body_is_judged(
    svc: Service, content: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type}
    assert_error(
        svc.client.post("/v1/classify", content=content, headers=headers), 401, "unauthorized"
    )
    bad_key = {**headers, "Authorization": "Bearer iccs_nope"}
    assert_error(
        svc.client.post("/v1/classify", content=content, headers=bad_key), 401, "unauthorized"
    )
    good = {**headers, **svc.headers()}
    assert_error(
        svc.client.post("/v1/classify", content=content, headers=good), 422, "validation_error"
    )


def test_upload_without_key_is_401_not_422(svc: Service) -> None:
    response = svc.client.post("/v1/batches", data={"id_column": "x"})  # no file either
    assert_error(response, 401, "unauthorized")


def test_revocation_takes_effect_within_the_auth_cache_bound(
    service_factory: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.auth

    now = [1000.0]
    monkeypatch.setattr(service.auth.time, "monotonic", lambda: now[0])
    with service_factory(auth_cache_seconds=30) as svc:
        headers = svc.headers("submitter")
        assert svc.client.post("/v1/classify", json=CLASSIFY, headers=headers).status_code == 200
        with svc.db.session() as session:
            prefix = svc.keys["submitter"][:12]
            assert revoke_keys(session, prefix) == 1
        now[0] += 29  # still trusted from the cache: the documented bound
        assert svc.client.post("/v1/classify", json=CLASSIFY, headers=headers).status_code == 200
        now[0] += 1.5
        response = svc.client.post("/v1/classify", json=CLASSIFY, headers=headers)
        assert_error(response, 401, "unauthorized")


def test_revocation_is_immediate_without_the_cache(svc: Service) -> None:
    assert svc.settings.auth_cache_seconds == 0
    headers = svc.headers("submitter")
    assert svc.client.post("/v1/classify", json=CLASSIFY, headers=headers).status_code == 200
    with svc.db.session() as session:
        revoke_keys(session, svc.keys["submitter"][:12])
    assert_error(
        svc.client.post("/v1/classify", json=CLASSIFY, headers=headers), 401, "unauthorized"
    )
