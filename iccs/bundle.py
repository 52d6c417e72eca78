"""A model bundle: one self-contained folder, `models/<name>/<version>/`.

    config.json         classifier config, operating point, classes, fitted blend, metadata
    vectorizers.joblib  the lexical expert's TF-IDF vectorisers (vocabulary and idf)
    lexical.npz         the lexical expert's weights (sparse after pruning)
    semantic-*.npz      one logistic head per embedder (the embedder itself is named in config)
    evaluation.json     evaluation figures written by training (test split and LOJO)
    tags/               optional tag model (`iccs.tags`): config.json, vectorizer, weights
    MODEL_CARD.md       the generated model card

The classifier saves and loads itself (`ICCSClassifier.save` / `.load`); this module adds the
registry conventions: the champion pointer and errors that name the folder. The vectorisers are
pickled scikit-learn objects: load only bundles you or your registry produced.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iccs.classifier import BUNDLE_FORMAT, ICCSClassifier
from iccs.environment import core_settings
from iccs.paths import models_dir
from iccs.tags import TAGS_FOLDER, TagError, TagPredictor

CHAMPION_FILE = "CHAMPION"


class BundleError(RuntimeError):
    """A bundle that is missing, incomplete or of an unknown format."""


def save_bundle(
    model: ICCSClassifier, directory: Path, metadata: dict[str, Any] | None = None
) -> Path:
    try:
        model.save(directory, metadata)
    except ValueError as exc:
        raise BundleError(str(exc)) from None
    if model.tagger is not None:
        save_tags(directory, model.tagger)
    return directory


def save_tags(
    directory: Path, tagger: TagPredictor, metadata: dict[str, Any] | None = None
) -> Path:
    """Add or replace the bundle's tag model (codes untouched)."""
    read_bundle_config(directory)
    return tagger.save(directory / TAGS_FOLDER, metadata)


def read_bundle_config(directory: Path) -> dict[str, Any]:
    path = directory / "config.json"
    if not path.is_file():
        raise BundleError(f"no model bundle at {directory} (config.json missing)")
    config: dict[str, Any] = json.loads(path.read_text())
    if config.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"unsupported bundle format {config.get('format')!r} in {directory}")
    return config


def load_bundle(directory: Path) -> tuple[ICCSClassifier, dict[str, Any]]:
    """Load a bundle; returns the classifier and the bundle's metadata."""
    directory = Path(directory)
    read_bundle_config(directory)
    try:
        model, metadata = ICCSClassifier.load(directory)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise BundleError(f"{directory}: {exc}") from None
    if (directory / TAGS_FOLDER).is_dir():
        try:
            model.tagger, tag_metadata = TagPredictor.load(directory / TAGS_FOLDER)
        except TagError as exc:
            raise BundleError(str(exc)) from None
        metadata["tags"] = tag_metadata
        tag_test = (tag_metadata.get("metrics") or {}).get("test")
        if tag_test:  # the model-card figures the service shows (/v1/models/current)
            metadata["metrics"] = {**metadata.get("metrics", {}), "tags": tag_test}
    metadata.setdefault("version", directory.name)
    metadata.setdefault("name", directory.parent.name)
    return model, metadata


def champion_path(root: Path | None = None, name: str = "iccs-classifier") -> Path | None:
    """The bundle the `CHAMPION` pointer names, or None when no champion was promoted yet.

    ICCS_MODEL_PATH overrides it, so a deployment can pin a bundle without a registry.
    """
    override = core_settings().model_path
    if override is not None:
        return override
    base = (root or models_dir()) / name
    pointer = base / CHAMPION_FILE
    if not pointer.is_file():
        return None
    return base / pointer.read_text().strip()


def set_champion(directory: Path) -> None:
    (directory.parent / CHAMPION_FILE).write_text(directory.name + "\n")
