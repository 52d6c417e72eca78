from __future__ import annotations

import shutil
import threading
from pathlib import Path

from iccs.bundle import set_champion
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_auth import assert_error

TEXT = {"text": "possession of cannabis for personal use"}


def registry_with(tiny_bundle: Path, root: Path, *versions: str) -> Path:
    """A models folder holding copies of the tiny bundle under the given versions."""
    for version in versions:
        target = root / "iccs-classifier" / version
        shutil.copytree(tiny_bundle, target)
        config = (target / "config.json").read_text().replace('"tiny-1"', f'"{version}"')
        (target / "config.json").write_text(config)
    return root


def test_current_model_reports_versions_and_metrics(svc: Service, tmp_path: Path) -> None:
    response = svc.client.get("/v1/models/current", headers=svc.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "iccs-classifier:tiny-1"
    assert body["version"] == "tiny-1" and body["data_version"] == "test"
    assert body["taxonomy_version"] == "ICCS-1.0-2015"
    assert body["review_threshold"] == 0.8
    assert isinstance(body["metrics"], dict)


def test_reload_switches_to_the_new_champion(
    service_factory: ServiceFactory, tiny_bundle: Path, tmp_path: Path
) -> None:
    models = registry_with(tiny_bundle, tmp_path / "models", "v1", "v2")
    set_champion(models / "iccs-classifier" / "v1")
    with service_factory(model_path=None, models_dir=models) as svc:
        first = svc.client.post("/v1/classify", json=TEXT, headers=svc.headers()).json()
        assert first["model_version"] == "iccs-classifier:v1"
        set_champion(models / "iccs-classifier" / "v2")
        # Nothing changes until an admin asks.
        again = svc.client.post("/v1/classify", json=TEXT, headers=svc.headers()).json()
        assert again["model_version"] == "iccs-classifier:v1"
        response = svc.client.post("/v1/models/reload", headers=svc.headers("admin"))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "previous_version": "iccs-classifier:v1",
            "model_version": "iccs-classifier:v2",
            "changed": True,
        }
        after = svc.client.post("/v1/classify", json=TEXT, headers=svc.headers()).json()
        assert after["model_version"] == "iccs-classifier:v2"
        current = svc.client.get("/v1/models/current", headers=svc.headers()).json()
        assert current["version"] == "v2"
        metrics = svc.client.get("/metrics").text
        assert 'iccs_model_info{taxonomy_version="ICCS-1.0-2015",version="iccs-classifier:v2"}' in (
            metrics
        )
        assert "iccs-classifier:v1" not in metrics


def test_failed_reload_keeps_serving_the_old_model(
    service_factory: ServiceFactory, tiny_bundle: Path, tmp_path: Path
) -> None:
    models = registry_with(tiny_bundle, tmp_path / "models", "v1", "broken")
    set_champion(models / "iccs-classifier" / "v1")
    with service_factory(model_path=None, models_dir=models) as svc:
        (models / "iccs-classifier" / "broken" / "config.json").write_text("{}")
        set_champion(models / "iccs-classifier" / "broken")
        response = svc.client.post("/v1/models/reload", headers=svc.headers("admin"))
        error = assert_error(response, 409, "reload_failed")
        assert error["details"]["serving"] == "iccs-classifier:v1"
        ok = svc.client.post("/v1/classify", json=TEXT, headers=svc.headers())
        assert ok.status_code == 200 and ok.json()["model_version"] == "iccs-classifier:v1"


def test_reload_drops_no_requests(
    service_factory: ServiceFactory, tiny_bundle: Path, tmp_path: Path
) -> None:
    models = registry_with(tiny_bundle, tmp_path / "models", "v1", "v2")
    set_champion(models / "iccs-classifier" / "v1")
    with service_factory(model_path=None, models_dir=models) as svc:
        statuses: list[int] = []
        versions: set[str] = set()
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                response = svc.client.post("/v1/classify", json=TEXT, headers=svc.headers())
                statuses.append(response.status_code)
                if response.status_code == 200:
                    versions.add(response.json()["model_version"])

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for version in ("v2", "v1", "v2"):
            set_champion(models / "iccs-classifier" / version)
            reload = svc.client.post("/v1/models/reload", headers=svc.headers("admin"))
            assert reload.status_code == 200
        stop.set()
        for thread in threads:
            thread.join()
    assert statuses and set(statuses) == {200}
    assert versions <= {"iccs-classifier:v1", "iccs-classifier:v2"}


def test_no_model_means_not_ready_and_503(service_factory: ServiceFactory, tmp_path: Path) -> None:
    with service_factory(model_path=None, models_dir=tmp_path / "empty") as svc:
        assert svc.client.get("/healthz").json() == {"status": "ok"}
        error = assert_error(svc.client.get("/readyz"), 503, "not_ready")
        assert "champion" in error["details"]["reason"]
        assert_error(
            svc.client.post("/v1/classify", json=TEXT, headers=svc.headers()),
            503,
            "model_unavailable",
        )
        assert_error(
            svc.client.post("/v1/models/reload", headers=svc.headers("admin")),
            409,
            "reload_failed",
        )


def test_reload_reaches_the_other_workers(tmp_path: Path, tiny_bundle: Path) -> None:
    """Two apps sharing the data folder stand for two worker processes."""
    import time

    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.service.conftest import create_keys, make_settings

    models = registry_with(tiny_bundle, tmp_path / "models", "v1", "v2")
    set_champion(models / "iccs-classifier" / "v1")
    settings = make_settings(
        tmp_path, tiny_bundle, model_path=None, models_dir=models, reload_poll_seconds=0.05
    )
    keys = create_keys(settings, ("admin",))
    headers = {"Authorization": f"Bearer {keys['admin']}"}
    first, second = create_app(settings), create_app(settings)
    with TestClient(first) as a, TestClient(second) as b:
        set_champion(models / "iccs-classifier" / "v2")
        assert a.post("/v1/models/reload", headers=headers).json()["model_version"].endswith("v2")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if b.get("/readyz").json()["model_version"].endswith("v2"):
                break
            time.sleep(0.05)
        assert b.get("/readyz").json()["model_version"] == "iccs-classifier:v2"
        assert 'version="iccs-classifier:v2"' in b.get("/metrics").text
        # The announcing worker does not reload a second time.
        assert first.state.reload_signal.check() is False
