"""Prometheus metrics of one app: request latency, suggestions by section, confidence, review.

Share needing review, in PromQL:
`sum(rate(iccs_classifications_total{needs_review="true"}[5m]))
 / sum(rate(iccs_classifications_total[5m]))`.
With several workers set PROMETHEUS_MULTIPROC_DIR (an empty folder) so /metrics sums them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from iccs.codes import code_section

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0)


class ServiceMetrics:
    """The app's collectors, in their own registry so several apps can live in one process."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self._model_labels: tuple[str, str] | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_latency = Histogram(
            "iccs_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.suggestions = Counter(
            "iccs_suggestions",
            "First suggestions made, by ICCS section (NONE: no offence).",
            ["section"],
            registry=self.registry,
        )
        self.confidence = Histogram(
            "iccs_suggestion_confidence",
            "Confidence of the first suggestion.",
            buckets=CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.classifications = Counter(
            "iccs_classifications",
            "Texts classified, by whether they need review.",
            ["needs_review"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "iccs_model_info",
            "The model being served (value 1).",
            ["version", "taxonomy_version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.request_latency.labels(method, route, str(status)).observe(seconds)

    def observe_classifications(self, firsts: Iterable[tuple[str, float, bool]]) -> None:
        """One (top code, confidence, needs_review) per text."""
        for code, confidence, needs_review in firsts:
            self.suggestions.labels(code_section(code)).inc()
            self.confidence.observe(confidence)
            self.classifications.labels("true" if needs_review else "false").inc()

    def set_model(self, version: str, taxonomy_version: str) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # multi-process mode cannot clear label sets: the old model's series drops to 0
            if self._model_labels is not None:
                self.model_info.labels(*self._model_labels).set(0)
        else:
            self.model_info.clear()
        self.model_info.labels(version, taxonomy_version).set(1)
        self._model_labels = (version, taxonomy_version)

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
