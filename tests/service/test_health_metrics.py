from __future__ import annotations

import re

from tests.service.conftest import Service


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (labels in any order)."""
    for line in metrics.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    raise AssertionError(f"no sample {name} {labels}")


def test_liveness_and_readiness(svc: Service) -> None:
    assert svc.client.get("/healthz").json() == {"status": "ok"}
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "model_version": "iccs-classifier:tiny-1",
        "taxonomy_version": "ICCS-1.0-2015",
    }


def test_metrics_cover_latency_sections_confidence_and_review(svc: Service) -> None:
    texts = [
        "theft of a pedal cycle from outside the station",
        "possession of cannabis for personal use",
        "lost wallet reported, no crime",
    ]
    items = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    body = svc.client.post("/v1/classify", json={"items": items}, headers=svc.headers()).json()
    svc.client.post("/v1/classify", json={"text": texts[0]}, headers=svc.headers())
    svc.client.post("/v1/classify", json={"text": texts[0]})  # 401
    review = sum(r["needs_review"] for r in body["results"])

    response = svc.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    metrics = response.text
    latency = "iccs_http_request_duration_seconds_count"
    assert sample(metrics, latency, method="POST", route="/v1/classify", status="200") == 2
    assert sample(metrics, latency, method="POST", route="/v1/classify", status="401") == 1
    assert (
        sample(
            metrics,
            "iccs_http_request_duration_seconds_bucket",
            le="0.015",
            route="/v1/classify",
            status="200",
        )
        >= 0
    )
    assert sample(metrics, "iccs_suggestions_total", section="05") == 2
    assert sample(metrics, "iccs_suggestions_total", section="06") == 1
    assert sample(metrics, "iccs_suggestions_total", section="NONE") == 1
    assert sample(metrics, "iccs_suggestion_confidence_count") == 4
    assert 0 < sample(metrics, "iccs_suggestion_confidence_sum") <= 4
    first_review = int(
        svc.client.post("/v1/classify", json={"text": texts[2]}, headers=svc.headers()).json()[
            "needs_review"
        ]
    )
    metrics = svc.client.get("/metrics").text
    flagged = sample(metrics, "iccs_classifications_total", needs_review="true")
    assert flagged == review + first_review
    assert flagged + sample(metrics, "iccs_classifications_total", needs_review="false") == 5
    assert sample(metrics, "iccs_model_info", version="iccs-classifier:tiny-1") == 1


def test_unmatched_paths_do_not_explode_label_cardinality(svc: Service) -> None:
    for n in range(3):
        svc.client.get(f"/random-{n}")
    metrics = svc.client.get("/metrics").text
    assert "random-" not in metrics
    name = "iccs_http_request_duration_seconds_count"
    assert sample(metrics, name, route="unmatched", status="404") == 3
