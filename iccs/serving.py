"""Loading the model to serve, and the versions its records carry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccs.bundle import BundleError, champion_path, load_bundle
from iccs.classifier import ICCSClassifier
from iccs.records import Versions
from iccs.taxonomy import TAXONOMY_VERSION


def load_default_model(path: Path | None = None) -> tuple[ICCSClassifier, dict[str, Any]]:
    """The bundle at `path`, else ICCS_MODEL_PATH, else the champion under models/."""
    bundle = path or champion_path()
    if bundle is None:
        raise BundleError("no model: train one with `iccs train` (or `make model`)")
    return load_bundle(bundle)


def model_version(metadata: dict[str, Any]) -> str:
    return f"{metadata.get('name', 'iccs-classifier')}:{metadata.get('version', 'unknown')}"


def taxonomy_version(metadata: dict[str, Any]) -> str:
    """The taxonomy a bundle was trained on (the current one for bundles that do not say)."""
    return str(metadata.get("taxonomy_version") or TAXONOMY_VERSION)


def model_versions(metadata: dict[str, Any]) -> Versions:
    return Versions(model_version(metadata), taxonomy_version(metadata))
