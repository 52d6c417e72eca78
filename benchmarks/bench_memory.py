"""The decision memory's learning curve on jurisdictions the model never saw.

    python benchmarks/bench_memory.py [--readme README.md] [--plot docs/memory-curve.png]

Protocol (nothing reported is measured on rows the model or the mixing was fitted on):
- a fast model (TF-IDF expert only: `embedders=[]`, `knn_embedder=None`) is trained on the
  corpus without Argentina and the reported jurisdictions (every split), taxonomy rows
  included;
- Argentina is the calibration jurisdiction: the model's blend temperature and then the
  memory's mixing parameters (`iccs.memory.fit_mixing`) are fitted on its rows, the latter by
  importing 10/25/50% of them into the memory and scoring the rest;
- Ecuador, Peru, Uruguay, Chihuahua, India and the Philippines are the reported jurisdictions:
  for each share, a random part of their real rows is imported into the memory and exact@1,
  calibration error (ECE of the first suggestion) and the share that could be auto-coded at 97%
  precision are measured on the remaining rows, for the model alone and with the memory (three
  draws per share, averaged), with the share of remaining rows whose exact wording (after
  normalisation) was among the imported ones.
The trained model is cached under var/cache/bench-memory/ for reruns.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from readme_block import write_block

from iccs.calibration import calibration_error
from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.memory import DecisionMemory, MemoryRow, MixingParams, fit_mixing, mix_neighbours
from iccs.paths import PROJECT_ROOT, corpus_path
from iccs.text import normalize
from training.corpus import load_corpus
from training.pipeline import row_weights

CALIBRATION = "AR"
REPORTED = ("EC", "PE", "UY", "MX-CHH", "IN", "PH")
SHARES = (0.0, 0.10, 0.25, 0.50)
DRAWS = 3
CACHE = PROJECT_ROOT / "var" / "cache" / "bench-memory"


def train_model(corpus: pd.DataFrame) -> ICCSClassifier:
    held = {CALIBRATION, *REPORTED}
    if (CACHE / "config.json").is_file():
        model, metadata = ICCSClassifier.load(CACHE)
        if metadata.get("trained_without") == sorted(held):
            return model
    frame = corpus[corpus["split"].isin(("train", "dev")) & ~corpus["jurisdiction"].isin(held)]
    config = ClassifierConfig(embedders=[], knn_embedder=None, cascade_experts=0)
    model = ICCSClassifier(config)
    started = time.perf_counter()
    model.fit_experts(list(frame["text"]), list(frame["iccs_code"]), row_weights(frame, 0.5))
    print(f"trained on {len(frame)} rows in {time.perf_counter() - started:.0f} s", flush=True)
    calibration = real_rows(corpus, CALIBRATION)
    model.calibrate(list(calibration["text"]), list(calibration["iccs_code"]))
    model.save(CACHE, {"trained_without": sorted(held)})
    return model


def real_rows(corpus: pd.DataFrame, jurisdiction: str) -> pd.DataFrame:
    rows = corpus[(corpus["jurisdiction"] == jurisdiction) & (corpus["origin"] == "real")]
    return rows.reset_index(drop=True)


def split(n: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = round(share * n)
    return order[:cut], order[cut:]


def fitted_mixing(model: ICCSClassifier, rows: pd.DataFrame) -> MixingParams:
    """Mixing parameters from the calibration jurisdiction's simulated imports."""
    proba = model.predict_proba(list(rows["text"]))
    index = {c: i for i, c in enumerate(model.classes_)}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for share in SHARES[1:]:
        for draw in range(DRAWS):
            known, rest = split(len(rows), share, seed=100 + draw)
            memory = DecisionMemory(model, memory_rows(rows.iloc[known]))
            rest_rows = rows.iloc[rest]
            keep = np.array([c in index for c in rest_rows["iccs_code"]])
            sims, labels = memory.neighbours([normalize(t) for t in rest_rows["text"][keep]])
            gold = np.array([index[c] for c in rest_rows["iccs_code"][keep]])
            parts.append((proba[rest][keep], sims, labels, gold))
    proba_, sims_, labels_, gold_ = (np.concatenate([p[i] for p in parts]) for i in range(4))
    return fit_mixing(proba_, sims_, labels_, gold_)


def memory_rows(rows: pd.DataFrame) -> list[MemoryRow]:
    return [MemoryRow(t, c) for t, c in zip(rows["text"], rows["iccs_code"], strict=True)]


def scores(model: ICCSClassifier, proba: np.ndarray, gold: list[str]) -> dict[str, float]:
    predictions = model.suggestions_from_proba(proba, top_k=1)
    first = [p.suggestions[0] for p in predictions]
    exact = np.array([s.code == g for s, g in zip(first, gold, strict=True)])
    right = np.array(
        [
            g == s.code or (s.code != "NONE" and g.startswith(s.code))
            for s, g in zip(first, gold, strict=True)
        ]
    )
    confidence = np.array([s.confidence for s in first])
    return {
        "exact_at_1": float(exact.mean()),
        "ece": calibration_error(confidence, right),
        "auto_at_97": autocoding_at(confidence, exact, 0.97),
    }


def autocoding_at(confidence: np.ndarray, exact: np.ndarray, precision: float) -> float:
    """The largest share of rows whose most confident part is at least `precision` exact
    (the threshold is read off the scored rows: a measure of ranking, not a deployable
    threshold)."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(exact[order]) / np.arange(1, len(order) + 1)
    ends = np.r_[confidence[order][1:] != confidence[order][:-1], True]
    ok = np.flatnonzero((hits >= precision) & ends)
    return float((ok[-1] + 1) / len(order)) if ok.size else 0.0


def curve(
    model: ICCSClassifier, params: MixingParams, rows: pd.DataFrame
) -> list[dict[str, float]]:
    texts, gold = (
        list(rows["text"]),
        [model.taxonomy.normalize(c) if c != "NONE" else c for c in rows["iccs_code"]],
    )
    proba = model.predict_proba(texts)
    keys = [normalize(t) for t in texts]
    out = []
    for share in SHARES:
        runs = []
        for draw in range(DRAWS if share else 1):
            known, rest = split(len(rows), share, seed=draw)
            memory = DecisionMemory(model, memory_rows(rows.iloc[known]), params)
            sims, labels = memory.neighbours([keys[i] for i in rest])
            mixed = mix_neighbours(proba[rest], sims, labels, memory.params)
            rest_gold = [gold[i] for i in rest]
            imported = {keys[i] for i in known}
            seen = float(np.mean([keys[i] in imported for i in rest]))
            alone = scores(model, proba[rest], rest_gold)
            remembered = scores(model, mixed, rest_gold)
            runs.append({**{f"alone_{k}": v for k, v in alone.items()}, **remembered, "seen": seen})
        mean = {k: float(np.nanmean([r[k] for r in runs])) for k in runs[0]}
        out.append({"share": share, "rest": len(rows) - round(share * len(rows)), **mean})
    return out


def table(results: dict[str, list[dict[str, float]]], header: str) -> str:
    lines = [
        header,
        "",
        "| held out | imported | rows scored | same wording imported | exact@1 alone | "
        "exact@1 with memory | ECE alone | ECE with memory | auto-coded at 97% alone | "
        "auto-coded at 97% with memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, points in results.items():
        for p in points:
            lines.append(
                f"| {name} | {p['share']:.0%} | {p['rest']:.0f} | {p['seen']:.0%} | "
                f"{p['alone_exact_at_1']:.3f} | "
                f"{p['exact_at_1']:.3f} | {p['alone_ece']:.3f} | {p['ece']:.3f} | "
                f"{p['alone_auto_at_97']:.3f} | {p['auto_at_97']:.3f} |"
            )
    return "\n".join(lines)


def plot(results: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.8))
    for name, points in results.items():
        shares = [100 * p["share"] for p in points]
        line = ax.plot(
            shares, [p["exact_at_1"] for p in points], marker="o", label=f"{name}, memory"
        )
        ax.plot(
            shares,
            [p["alone_exact_at_1"] for p in points],
            linestyle="--",
            color=line[0].get_color(),
            label=f"{name}, model alone",
        )
    ax.set_xlabel("share of the jurisdiction's rows imported (%)")
    ax.set_ylabel("exact@1 on the remaining rows")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    corpus = load_corpus(corpus_path())
    started = time.perf_counter()
    model = train_model(corpus)
    params = fitted_mixing(model, real_rows(corpus, CALIBRATION))
    print(f"mixing fitted on {CALIBRATION}: {asdict(params)}", flush=True)
    results = {name: curve(model, params, real_rows(corpus, name)) for name in REPORTED}
    load = os.getloadavg()[0]
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, 1-minute load {load:.1f} after the run "
        f"({time.perf_counter() - started:.0f} s in all). Model: TF-IDF expert only, trained "
        f"without {CALIBRATION}, {', '.join(REPORTED)}; temperature and mixing "
        f"({asdict(params)}) fitted on {CALIBRATION}; {DRAWS} random imports per share, "
        "figures on the rows not imported."
    )
    text = table(results, header)
    print(text)
    if args.plot:
        plot(results, args.plot)
    if args.readme:
        write_block(args.readme, "bench_memory", text, append=True)


if __name__ == "__main__":
    main()
