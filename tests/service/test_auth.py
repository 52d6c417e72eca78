from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from service.app import StartupError, create_app
from service.db.models import ApiKey
from tests.service.conftest import Service, ServiceFactory, make_settings

CLASSIFY = {"text": "theft of a pedal cycle from outside the station"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_no_key_is_401_with_bearer_challenge(svc: Service) -> None:
    response = svc.client.post("/v1/classify", json=CLASSIFY)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer iccs_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer", "iccs_abc"]
)
def test_wrong_key_or_scheme_is_401(svc: Service, header: str) -> None:
    response = svc.client.post("/v1/classify", json=CLASSIFY, headers={"Authorization": header})
    assert_error(response, 401, "unauthorized")


def test_every_v1_route_needs_a_key(svc: Service) -> None:
    for method, path in [
        ("GET", "/v1/taxonomy"),
        ("GET", "/v1/taxonomy/020111"),
        ("GET", "/v1/taxonomy/search?q=theft"),
        ("GET", "/v1/models/current"),
        ("POST", "/v1/models/reload"),
    ]:
        assert_error(svc.client.request(method, path), 401, "unauthorized")


def test_submitter_may_not_reload_the_model(svc: Service) -> None:
    response = svc.client.post("/v1/models/reload", headers=svc.headers("submitter"))
    error = assert_error(response, 403, "forbidden")
    assert error["details"] == {"role": "submitter", "required": "admin"}


def test_analyst_may_not_reload_but_may_classify(svc: Service) -> None:
    assert_error(
        svc.client.post("/v1/models/reload", headers=svc.headers("analyst")), 403, "forbidden"
    )
    response = svc.client.post("/v1/classify", json=CLASSIFY, headers=svc.headers("analyst"))
    assert response.status_code == 200


def test_admin_may_do_everything(svc: Service) -> None:
    assert svc.client.post("/v1/classify", json=CLASSIFY, headers=svc.headers("admin")).is_success
    assert svc.client.post("/v1/models/reload", headers=svc.headers("admin")).is_success


def test_keys_are_stored_hashed(svc: Service) -> None:
    with svc.db.session() as session:
        rows = session.scalars(select(ApiKey)).all()
    stored = {row.key_hash for row in rows}
    for key in svc.keys.values():
        assert key not in stored
        assert hashlib.sha256(key.encode()).hexdigest() in stored
        assert any(key.startswith(row.prefix) for row in rows)


def test_revoked_key_is_refused(svc: Service) -> None:
    from service.api_keys import revoke_keys

    headers = svc.headers("submitter")
    assert svc.client.get("/v1/taxonomy/01", headers=headers).status_code == 200
    with svc.db.session() as session:
        assert revoke_keys(session, svc.keys["submitter"][:12]) == 1
    assert_error(svc.client.get("/v1/taxonomy/01", headers=headers), 401, "unauthorized")


def test_cached_key_skips_the_database(service_factory: ServiceFactory) -> None:
    with service_factory(auth_cache_seconds=60) as svc:
        headers = svc.headers("submitter")
        assert svc.client.get("/v1/taxonomy/01", headers=headers).status_code == 200
        svc.db.dispose()  # drop pooled connections; a cache hit needs none
        svc.app.state.authenticator._session_factory = None  # would fail if called
        assert svc.client.get("/v1/taxonomy/01", headers=headers).status_code == 200


@pytest.mark.parametrize("env", ["production", "test"])
def test_refuses_to_start_without_keys_outside_development(tmp_path, tiny_bundle, env) -> None:
    from fastapi.testclient import TestClient

    app = create_app(make_settings(tmp_path, tiny_bundle, env=env))
    with pytest.raises(StartupError, match="no API keys"), TestClient(app):
        pass


def test_development_mode_starts_without_keys(tmp_path, tiny_bundle) -> None:
    from fastapi.testclient import TestClient

    app = create_app(make_settings(tmp_path, tiny_bundle, env="development"))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/classify", json=CLASSIFY).status_code == 401
