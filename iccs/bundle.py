"""A model bundle: one self-contained folder, `models/<name>/<version>/`.

    config.json     classifier config, classes, fitted blend and temperature, metadata
    vectorizers.joblib  the fitted TF-IDF vectorisers (vocabulary and idf)
    lexical.npz     the lexical expert's weights (sparse after pruning)
    semantic.npz    the embedding head's weights (the embedder itself is named in config.json)
    metrics.json    evaluation figures written by training
    MODEL_CARD.md   the generated model card

The vectorisers are pickled scikit-learn objects: load only bundles you or your registry produced.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import joblib

from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.linear import LinearHead
from iccs.paths import models_dir

BUNDLE_FORMAT = 1
CHAMPION_FILE = "CHAMPION"


class BundleError(RuntimeError):
    """A bundle that is missing, incomplete or of an unknown format."""


def save_bundle(
    model: ICCSClassifier, directory: Path, metadata: dict[str, Any] | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "format": BUNDLE_FORMAT,
        "config": asdict(model.config),
        "classes": model.classes_,
        "blend_weight": model.blend_weight,
        "temperature": model.temperature,
        "lexical_scale": model.lexical_scale,
        "blend": model.blend,
        "metadata": metadata or {},
    }
    if model.lexical is None:
        raise BundleError("cannot save an unfitted model")
    joblib.dump(
        {"word": model.word_vectorizer, "char": model.char_vectorizer},
        directory / "vectorizers.joblib",
        compress=3,
    )
    model.lexical.save(directory / "lexical.npz")
    if model.semantic is not None:
        model.semantic.save(directory / "semantic.npz")
    (directory / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
    return directory


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
    config = read_bundle_config(directory)
    model = ICCSClassifier(ClassifierConfig(**config["config"]))
    model.classes_ = list(config["classes"])
    model.blend_weight = float(config["blend_weight"])
    model.temperature = float(config["temperature"])
    model.lexical_scale = float(config.get("lexical_scale", 1.0))
    model.blend = {k: (float(w), float(t)) for k, (w, t) in config.get("blend", {}).items()}
    vectorizers = joblib.load(directory / "vectorizers.joblib")
    model.word_vectorizer, model.char_vectorizer = vectorizers["word"], vectorizers["char"]
    model.lexical = LinearHead.load(directory / "lexical.npz")
    semantic_path = directory / "semantic.npz"
    if model.config.embedder and semantic_path.is_file():
        model.semantic = LinearHead.load(semantic_path)
    elif model.config.embedder:
        raise BundleError(f"{directory} names embedder {model.config.embedder} but has no head")
    metadata = dict(config.get("metadata", {}))
    metadata.setdefault("version", directory.name)
    metadata.setdefault("name", directory.parent.name)
    return model, metadata


def champion_path(root: Path | None = None, name: str = "iccs-classifier") -> Path | None:
    """The bundle the `CHAMPION` pointer names, or None when no champion was promoted yet.

    ICCS_MODEL_PATH overrides it, so a deployment can pin a bundle without a registry.
    """
    override = os.environ.get("ICCS_MODEL_PATH")
    if override:
        return Path(override)
    base = (root or models_dir()) / name
    pointer = base / CHAMPION_FILE
    if not pointer.is_file():
        return None
    return base / pointer.read_text().strip()


def set_champion(directory: Path) -> None:
    (directory.parent / CHAMPION_FILE).write_text(directory.name + "\n")
