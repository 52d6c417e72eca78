"""The corpus tag labels (`datasets/corpus/tags.csv`): one row per corpus row with the four
disaggregating variables of `datasets/LABELLING.md` section 10."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from iccs.tags import TAGS

TAG_VALUES = TAGS  # one vocabulary: the labels use the values the tag model predicts
TAG_COLUMNS = ["id", "text", *TAG_VALUES, "tag_labeller"]
TAGS_FILE = "tags.csv"  # next to the corpus file


def load_tags(path: Path) -> pd.DataFrame:
    """Every column as text, like the corpus."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in TAG_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")
    return frame


def check_tags(corpus: pd.DataFrame, tags: pd.DataFrame) -> tuple[list[str], dict[str, Any]]:
    """Failures (each corpus row tagged exactly once, with its own text and valid values) and
    the counts per tag value and language."""
    failures: list[str] = []
    duplicated = tags.loc[tags["id"].duplicated(), "id"].tolist()
    if duplicated:
        failures.append(f"tags: {len(duplicated)} ids tagged twice, e.g. {duplicated[:3]}")
    corpus_ids, tag_ids = set(corpus["id"]), set(tags["id"])
    untagged = sorted(corpus_ids - tag_ids)
    if untagged:
        failures.append(f"tags: {len(untagged)} corpus rows without tags, e.g. {untagged[:3]}")
    unknown_ids = sorted(tag_ids - corpus_ids)
    if unknown_ids:
        failures.append(f"tags: {len(unknown_ids)} ids not in the corpus, e.g. {unknown_ids[:3]}")
    texts = corpus.set_index("id")["text"]
    shared = tags[tags["id"].isin(corpus_ids)].drop_duplicates("id")
    stale = shared.loc[shared["text"].to_numpy() != texts.loc[shared["id"]].to_numpy(), "id"]
    if len(stale):
        failures.append(
            f"tags: {len(stale)} rows whose text differs from the corpus, e.g. {stale[:3].tolist()}"
        )
    for tag, allowed in TAG_VALUES.items():
        wrong = sorted(set(tags[tag]) - set(allowed))
        if wrong:
            failures.append(f"tags: unknown {tag} values {wrong[:5]}")
    if (tags["tag_labeller"].str.strip() == "").any():
        failures.append("tags: rows without tag_labeller")

    language = tags["id"].map(corpus.set_index("id")["language"]).fillna("?")
    counts: dict[str, Any] = {
        tag: {
            value: tags.loc[tags[tag] == value].groupby(language).size().sort_index().to_dict()
            for value in TAG_VALUES[tag]
        }
        for tag in TAG_VALUES
    }
    counts["tag_labeller"] = tags["tag_labeller"].value_counts().sort_index().to_dict()
    return failures, counts
