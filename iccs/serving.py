"""Loading the model to serve and turning predictions into the public record shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccs.bundle import BundleError, champion_path, load_bundle
from iccs.classifier import ICCSClassifier, Prediction, Suggestion
from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import load_taxonomy

CORRESPONDENCE_SOURCE = "correspondence"  # answers taken from a validated correspondence table


def load_default_model(path: Path | None = None) -> tuple[ICCSClassifier, dict[str, Any]]:
    """The bundle at `path`, else ICCS_MODEL_PATH, else the champion under models/."""
    bundle = path or champion_path()
    if bundle is None:
        raise BundleError("no model: train one with `iccs train` (or `make model`)")
    return load_bundle(bundle)


def model_version(metadata: dict[str, Any]) -> str:
    return f"{metadata.get('name', 'iccs-classifier')}:{metadata.get('version', 'unknown')}"


def validated_prediction(code: str) -> Prediction:
    """A code validated in a correspondence table, in the model's prediction shape: one
    suggestion, confidence 1, no review."""
    if code == NONE_CODE:
        return Prediction([Suggestion(NONE_CODE, NONE_TITLE, "none", 1.0)], needs_review=False)
    category = load_taxonomy().get(code)
    suggestion = Suggestion(category.code, category.title_en, category.level_name, 1.0)
    return Prediction([suggestion], needs_review=False)


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
