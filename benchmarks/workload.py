"""The texts every benchmark draws from, so that the figures of one run compare with each other.

Real offence wording from the labelled corpus (charge titles, statute headings, short
narratives; en, es, ko), each text distinct, in a fixed shuffled order: the model's floor, the
service and the bulk engine then pay for the same kind of text. Falls back to taxonomy titles
where the corpus is absent.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from iccs.paths import corpus_path, taxonomy_dir  # noqa: E402

MAX_CHARS = 200  # what a police record system sends: titles and short narratives


def real_texts(count: int, seed: int = 11) -> list[str]:
    """Up to `count` distinct real texts of at most MAX_CHARS characters, shuffled."""
    corpus = corpus_path()
    texts: list[str] = []
    if corpus.is_file():
        with corpus.open(encoding="utf-8", newline="") as handle:
            texts = [
                row["text"]
                for row in csv.DictReader(handle)
                if row.get("origin") == "real" and 0 < len(row["text"]) <= MAX_CHARS
            ]
    if not texts:
        with (taxonomy_dir() / "iccs_v1.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts += [row["title_en"], row["title_es"]]
    texts = list(dict.fromkeys(texts))
    random.Random(seed).shuffle(texts)
    return texts[:count]
