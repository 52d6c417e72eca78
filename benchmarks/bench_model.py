"""The model's floor on this machine: latency of one text, throughput of batches, bundle size,
load time, peak memory (and training time with `--train`).

    python benchmarks/bench_model.py [--model PATH] [--train]

Texts are the shared workload (`workload.py`: distinct real titles and short narratives), the
same the service and bulk benchmarks send, so their figures divide by these. `--train` retrains
the default configuration into a temporary folder (MLflow there too) and reports its wall time.
Prints one line per figure and a JSON object last.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import real_texts

from iccs.bundle import champion_path, load_bundle


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure_training() -> float:
    from training.pipeline import TrainingConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        os.environ["ICCS_MLFLOW_ARTIFACTS"] = f"{tmp}/artifacts"
        os.environ["ICCS_MODELS_DIR"] = f"{tmp}/models"
        started = time.perf_counter()
        train(TrainingConfig(), output_root=Path(tmp) / "models")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--train", action="store_true")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg()[0],
    }
    if args.train:
        figures["training_seconds"] = round(measure_training(), 1)
    bundle = args.model or champion_path()
    if bundle is None:
        raise SystemExit("no model: run `iccs train` first")
    started = time.perf_counter()
    model, _ = load_bundle(bundle)
    texts = real_texts(4000)
    model.warm_up()  # every embedder, as the service does at start-up
    model.suggest(texts[:8])
    figures["bundle"] = str(bundle)
    figures["bundle_mb"] = round(folder_size(bundle) / 2**20, 1)
    figures["load_and_warm_seconds"] = round(time.perf_counter() - started, 2)
    latencies = []
    for text in texts[100:400]:
        t0 = time.perf_counter()
        model.suggest([text], top_k=3)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    figures["single_text_ms_p50"] = round(statistics.median(latencies), 2)
    figures["single_text_ms_p99"] = round(latencies[int(0.99 * len(latencies)) - 1], 2)
    batch = texts[1000:3000]
    t0 = time.perf_counter()
    for i in range(0, len(batch), 500):
        model.suggest(batch[i : i + 500], top_k=3)
    figures["batch_texts_per_second"] = round(len(batch) / (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    model.suggest(texts[3000:3100], top_k=3)
    figures["hundred_texts_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    figures["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
