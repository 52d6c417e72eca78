"""Labelling sources written together with their tags, and `corpus/tags.csv` kept in step with
the corpus.

`cyber_texts.csv` holds the project's cyber narratives and charge wordings (en, es, ko) with an
ICCS code and the four tags of `datasets/LABELLING.md` section 10. Its rows join train and dev
only (the test split is frozen) under one fold of their own, so that they can be held out.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from training.corpus_tags import TAG_COLUMNS, TAG_VALUES, TAGS_FILE
from training.data_prep.round3_corpus import read_rows as read_csv

# (file, id prefix) of the tagged sources; a later round adds files here.
TAGGED_FILES = (("cyber_texts.csv", "cy"),)
FOLD = "synthetic:cyber"
SOURCE_TAGGER = "author-agent"  # the author wrote each text with its tags


def tagged_rows(work: Path) -> tuple[list[dict[str, str]], dict[str, dict[str, str]]]:
    """Corpus rows of the tagged sources and their tag rows, by id."""
    rows: list[dict[str, str]] = []
    tags: dict[str, dict[str, str]] = {}
    for name, prefix in TAGGED_FILES:
        per_language: Counter[str] = Counter()
        for r in read_csv(work / name):
            language = r["language"]
            per_language[language] += 1
            rid = f"{prefix}-{language}-{per_language[language]:05d}"
            where = f"_{r['jurisdiction'].lower()}" if r.get("jurisdiction") else ""
            text = r["text"].strip()
            rows.append(
                {
                    "id": rid,
                    "text": text,
                    "language": language,
                    "iccs_code": r["iccs_code"].strip(),
                    "origin": "synthetic",
                    "source": f"project_cyber_{r['kind']}{where}",
                    "labeller": f"author-agent-{language}",
                    "jurisdiction": r.get("jurisdiction", "").upper() or "none",
                    "fold": FOLD,
                }
            )
            for tag, allowed in TAG_VALUES.items():
                if r[tag] not in allowed:
                    raise ValueError(f"{name}: {rid} has {tag}={r[tag]!r}")
            tags[rid] = {"id": rid, "text": text, **{t: r[t] for t in TAG_VALUES}}
            tags[rid]["tag_labeller"] = SOURCE_TAGGER
    return rows, tags


def write_tags(
    out: Path, kept: list[dict[str, str]], source_tags: dict[str, dict[str, str]]
) -> None:
    """One tag row per kept corpus row: the tagged sources' own tags, else the row already in
    `tags.csv`. A row with neither stays untagged, and `iccs data validate` reports it."""
    path = out / TAGS_FILE
    existing: dict[str, dict[str, str]] = {}
    if path.is_file():
        existing = {r["id"]: r for r in read_csv(path)}
    tagged = [source_tags.get(r["id"]) or existing.get(r["id"]) for r in kept]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=TAG_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(row for row in tagged if row is not None)
