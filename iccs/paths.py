"""Where the project's data lives; every path can be overridden from the environment."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def taxonomy_dir() -> Path:
    return Path(os.environ.get("ICCS_TAXONOMY_DIR", PROJECT_ROOT / "datasets" / "iccs"))


def corpus_path() -> Path:
    return Path(
        os.environ.get("ICCS_CORPUS", PROJECT_ROOT / "datasets" / "corpus" / "iccs_corpus.csv")
    )


def models_dir() -> Path:
    return Path(os.environ.get("ICCS_MODELS_DIR", PROJECT_ROOT / "models"))
