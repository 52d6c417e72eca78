"""Reading the labelled corpus (`datasets/corpus/iccs_corpus.csv`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

COLUMNS = [
    "id",
    "text",
    "language",
    "iccs_code",
    "origin",
    "source",
    "labeller",
    "split",
    "jurisdiction",
    "fold",
]
# Added in corpus round 3; older corpus files (and review exports) lack them.
OPTIONAL_COLUMNS = {"jurisdiction": "none", "fold": ""}
ORIGINS = ("real", "synthetic", "taxonomy")
SPLITS = ("train", "dev", "test")


def load_corpus(path: Path) -> pd.DataFrame:
    """Every column as text: codes keep their leading zeros, empty cells stay empty strings."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    for column, default in OPTIONAL_COLUMNS.items():
        if column not in frame.columns:
            frame[column] = default
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")
    return frame


def data_version(path: Path) -> str:
    """Content hash of the corpus file: names the data a model was trained on."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"sha256:{digest[:16]}"


def test_split_fingerprint(frame: pd.DataFrame) -> str:
    """Hash of the frozen test split (ids, texts and codes), checked by `iccs data validate`."""
    test = frame[frame["split"] == "test"].sort_values("id")
    payload = "\n".join(f"{r.id}\t{r.text}\t{r.iccs_code}" for r in test.itertuples())
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
