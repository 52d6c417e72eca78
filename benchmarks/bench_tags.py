"""Tag model speed: what tags add per text to a classification (target: at most ~1 ms).

    python benchmarks/bench_tags.py --model BUNDLE

The bundle needs a `tags/` folder (`iccs tags train --model BUNDLE`). Measures the tag model
alone on corpus texts: single texts (p50, p95) and batches of 500 (per text). Prints one JSON
object with the machine's load, since other work on the CPUs inflates the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from iccs.bundle import load_bundle
from iccs.paths import corpus_path
from training.corpus import load_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args()
    model, _ = load_bundle(args.model)
    if model.tagger is None:
        raise SystemExit(f"{args.model} has no tag model: run `iccs tags train` first")
    texts = load_corpus(corpus_path())["text"].tolist()[:5000]
    model.tagger.predict(texts[:10])  # warm-up
    single = []
    for text in texts[:1000]:
        started = time.perf_counter()
        model.tagger.predict([text])
        single.append(1000 * (time.perf_counter() - started))
    started = time.perf_counter()
    for i in range(0, len(texts), 500):
        model.tagger.predict(texts[i : i + 500])
    batched = 1000 * (time.perf_counter() - started) / len(texts)
    print(
        json.dumps(
            {
                "single_text_ms_p50": round(statistics.median(single), 3),
                "single_text_ms_p95": round(statistics.quantiles(single, n=20)[18], 3),
                "batched_ms_per_text": round(batched, 4),
                "cores": os.cpu_count(),
                "load_average_1min": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
