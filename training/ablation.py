"""Measure each part of the model alone and blended, and each offline embedder, on the dev split.

    python -m training.ablation [--corpus FILE] [--embedders a,b,c]

Prints one table row per variant. Embeddings are cached under var/cache/ so reruns are quick.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.embedders import cache_embedder_on_disk
from iccs.paths import PROJECT_ROOT, corpus_path
from training.corpus import load_corpus
from training.evaluate import evaluate_frame

EMBEDDERS = ("use-multilingual", "e5-small-multilingual", "all-minilm-l6-v2")


def run(
    corpus: Path, embedders: list[str], split: str = "dev", with_logreg: bool = False
) -> list[dict[str, object]]:
    frame = load_corpus(corpus)
    train, dev = frame[frame["split"] == "train"], frame[frame["split"] == split]
    weights = np.where(train["origin"] == "taxonomy", 0.5, 1.0)
    cache_dir = PROJECT_ROOT / "var" / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in embedders:
        cache_embedder_on_disk(name, cache_dir / f"embeddings-{name}.npz")
    base = ClassifierConfig()
    variants: list[tuple[str, ClassifierConfig]] = [
        ("lexical svm", replace(base, embedder=None)),
    ]
    if with_logreg:  # minutes, not seconds, on 2 cores
        variants.append(
            (
                "lexical logreg",
                replace(base, embedder=None, lexical_model="logreg", lexical_c=20.0, max_iter=100),
            )
        )
    for name in embedders:
        variants.append((f"semantic {name}", replace(base, embedder=name, blend_weight=0.0)))
        variants.append((f"blend svm + {name}", replace(base, embedder=name)))
    rows = []
    for label, config in variants:
        started = time.perf_counter()
        model = ICCSClassifier(config).fit(
            train["text"].tolist(),
            train["iccs_code"].tolist(),
            sample_weight=weights,
            dev_texts=dev["text"].tolist(),
            dev_codes=dev["iccs_code"].tolist(),
        )
        seconds = time.perf_counter() - started
        report, _ = evaluate_frame(model, dev)
        overall, by = report["overall"], report["by"]
        row = {"variant": label, "fit_s": round(seconds, 1), "blend": round(model.blend_weight, 2)}
        for key in ("exact_at_1", "exact_at_3", "section_accuracy", "class_accuracy", "ece"):
            row[key] = round(float(overall[key]), 3)
        for lang in ("en", "es", "ko"):
            summary = by.get(f"language={lang}", {})
            row[f"{lang}_exact"] = (
                round(float(summary["exact_at_1"]), 3) if summary.get("n") else None
            )
        row["autocoding_97"] = round(overall["autocoding"]["0.97"]["rate"], 3)
        rows.append(row)
        print(" | ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return rows


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=corpus_path())
    parser.add_argument("--embedders", default=",".join(EMBEDDERS))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--with-logreg", action="store_true")
    args = parser.parse_args()
    run(args.corpus, [e for e in args.embedders.split(",") if e], args.split, args.with_logreg)


if __name__ == "__main__":
    main()
