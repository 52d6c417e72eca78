"""Which experts hold up in a jurisdiction the model never saw: a leave-one-jurisdiction-out
ablation over experts and their blends.

    python -m training.ablation [--corpus FILE] [--embedders a,b] [--cache DIR] [--out FILE]

For every LOJO unit it fits, once, the word+character TF-IDF SVM, a character-only TF-IDF SVM,
a logistic head per embedder and the nearest-neighbour memory (the product's experts, on the
last embedder's vectors). Every subset of
experts is then blended and calibrated on all units' held-out scores and scored on them: the
experts never saw the jurisdiction they score, but the few blend parameters are fitted on the
same held-out rows (the final model's report nests them; see `training.lojo`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.embedders import memoize_embedder
from iccs.paths import corpus_path
from training.corpus import data_version, load_corpus
from training.lojo import (
    HeldOutScores,
    cached_held_out_scores,
    calibrate_on,
    lojo_records,
)
from training.metrics import summarize
from training.pipeline import TrainingConfig, row_weights

logger = logging.getLogger(__name__)


def run(
    corpus: Path,
    embedders: list[str],
    cache: Path | None,
    out: Path | None,
    lojo_cache: Path | None = None,
) -> None:
    frame = load_corpus(corpus)
    pool = frame[frame["split"] != "test"].reset_index(drop=True)
    pool = pool[pool["iccs_code"] != ""].reset_index(drop=True)
    weights = row_weights(pool, TrainingConfig().taxonomy_weight)
    classes = sorted(set(pool["iccs_code"]))
    for name in embedders:
        memoize_embedder(name, cache)
    # every expert once per unit; blends are measured without a cascade
    base = ClassifierConfig(
        embedders=embedders, knn_embedder=embedders[-1] if embedders else None, cascade_experts=0
    )
    version = data_version(corpus)
    full = cached_held_out_scores(pool, base, classes, weights, lojo_cache, version)
    char_only = cached_held_out_scores(
        pool,
        replace(base, word_ngram_max=0, embedders=[], knn_embedder=None),
        classes,
        weights,
        lojo_cache,
        version,
    )
    names = ["tfidf word+char", *[f"LR {e}" for e in embedders]]
    names += ["kNN"] * bool(embedders) + ["tfidf char"]
    scores = [*full.scores, char_only.scores[0]]
    kinds = [*full.kinds, char_only.kinds[0]]
    results = []
    for size in (1, 2, 3):
        for combo in itertools.combinations(range(len(names)), size):
            if {0, len(names) - 1} <= set(combo):
                continue  # the two lexical variants together add nothing new
            held = HeldOutScores(
                classes, [kinds[i] for i in combo], full.frame, [scores[i] for i in combo]
            )
            model = ICCSClassifier(replace(base, embedders=[], knn_embedder=None))
            model.classes_ = classes
            model.experts = [_Stub(kinds[i]) for i in combo]  # type: ignore[misc]
            everyone = np.ones(len(held.frame), dtype=bool)
            calibrate_on(model, held, everyone)
            records = lojo_records(model, held, everyone)
            languages = held.frame["language"].to_numpy()
            row: dict[str, object] = {"experts": " + ".join(names[i] for i in combo)}
            for language in ("all", "en", "es", "ko"):
                mask = everyone if language == "all" else languages == language
                summary = summarize(records.subset(mask))
                row[f"{language} exact@1"] = round(_number(summary["exact_at_1"]), 3)
                row[f"{language} section"] = round(_number(summary["section_accuracy"]), 3)
                row[f"{language} ECE"] = round(_number(summary["ece"]), 3)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    table = pd.DataFrame(results)
    if out:
        table.to_csv(out, index=False)
    print(table.to_string(index=False))


def _number(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


class _Stub:
    """Stands in for a fitted expert where only its kind matters (calibration on scores)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = kind


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=corpus_path())
    parser.add_argument("--embedders", default="use-multilingual,e5-small-multilingual")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--lojo-cache", type=Path, default=None)
    args = parser.parse_args()
    embedders = [e for e in args.embedders.split(",") if e]
    run(args.corpus, embedders, args.cache, args.out, args.lojo_cache)
