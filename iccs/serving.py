"""Loading the model to serve and turning predictions into the public record shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccs.bundle import BundleError, champion_path, load_bundle
from iccs.classifier import ICCSClassifier, Prediction


def load_default_model(path: Path | None = None) -> tuple[ICCSClassifier, dict[str, Any]]:
    """The bundle at `path`, else ICCS_MODEL_PATH, else the champion under models/."""
    bundle = path or champion_path()
    if bundle is None:
        raise BundleError("no model: train one with `iccs train` (or `make model`)")
    return load_bundle(bundle)


def model_version(metadata: dict[str, Any]) -> str:
    return f"{metadata.get('name', 'iccs-classifier')}:{metadata.get('version', 'unknown')}"


def prediction_record(prediction: Prediction, version: str) -> dict[str, Any]:
    """The `iccs classify` / bulk output contract, without the id."""
    return {
        "suggestions": [
            {"code": s.code, "title": s.title, "level": s.level, "confidence": s.confidence}
            for s in prediction.suggestions
        ],
        "needs_review": prediction.needs_review,
        "model_version": version,
        "tags": [
            {"tag": t.tag, "value": t.value, "confidence": t.confidence} for t in prediction.tags
        ],
    }
