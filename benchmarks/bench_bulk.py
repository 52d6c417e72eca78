"""Bulk classification benchmark: rows/s and peak memory of `iccs classify`, end to end.

Generates a backlog drawn from the corpus with realistic repetition (about 30,000 distinct texts,
Zipf-distributed frequencies), then times the real command in a child process (start-up and
model loading included) and reads its peak resident memory from the kernel.

    python benchmarks/bench_bulk.py                       # 1,000,000 rows, default engine
    python benchmarks/bench_bulk.py --ray                 # also the Ray engine in local mode
    python benchmarks/bench_bulk.py --readme README.md    # write the figures into the README

Model: the champion under models/ when there is one, else the tests' tiny model trained here
(TF-IDF only, no embedder), which the output says. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_block import write_block  # noqa: E402
from workload import real_texts  # noqa: E402

from iccs.bundle import champion_path  # noqa: E402
from iccs.paths import corpus_path, taxonomy_dir  # noqa: E402

_PREFIXES = ["", "suspect ", "alleged ", "attempted ", "report of ", "investigation: ", "re: "]
_SUFFIXES = [
    "",
    " x2",
    " (repeat)",
    " - victim known to suspect",
    " at residential address",
    " in public place",
    " on licensed premises",
    " near school",
    " overnight",
    " - no injury",
    " - damage caused",
    " (domestic)",
]
_CASES = [str, str.upper, str.lower, str.title]


def base_texts() -> list[str]:
    """Texts from the labelled corpus if present, else taxonomy titles, inclusions, index terms."""
    texts: list[str] = []
    corpus = corpus_path()
    if corpus.is_file():
        with corpus.open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    else:
        with (taxonomy_dir() / "iccs_v1.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts += [row["title_en"], row["title_es"]]
                for column in ("inclusions_en", "inclusions_es"):
                    texts += [t.strip() for t in row[column].split(";") if t.strip()]
        with (taxonomy_dir() / "iccs_v1_index.csv").open(encoding="utf-8", newline="") as handle:
            texts += [row["term"] for row in csv.DictReader(handle)]
    return list(dict.fromkeys(t for t in texts if t))


def distinct_texts(count: int, seed: int) -> list[str]:
    """`count` distinct texts: the base texts, then variants of them (prefix, suffix, case)."""
    rng = np.random.default_rng(seed)
    base = base_texts()
    texts = list(dict.fromkeys(base))[:count]
    seen = set(texts)
    while len(texts) < count:
        text = base[rng.integers(len(base))]
        variant = _CASES[rng.integers(len(_CASES))](
            _PREFIXES[rng.integers(len(_PREFIXES))] + text + _SUFFIXES[rng.integers(len(_SUFFIXES))]
        )
        if variant not in seen:
            seen.add(variant)
            texts.append(variant)
    return texts


def write_backlog(path: Path, rows: int, distinct: int | None, seed: int = 7) -> int:
    """A CSV backlog; `distinct=None` makes every row's text different. Returns distinct count."""
    rng = np.random.default_rng(seed)
    if distinct is None:  # the model benchmark's texts, so rows/s compares with its floor
        base = real_texts(rows)
        picks = [
            text if i < len(base) else f"{text} #{i}"
            for i, text in enumerate(base * (rows // len(base) + 1))
        ][:rows]
    else:
        pool = distinct_texts(distinct, seed)
        weights = 1.0 / np.arange(1, len(pool) + 1) ** 1.0  # Zipf: a few titles dominate
        order = rng.choice(len(pool), size=rows, p=weights / weights.sum())
        picks = [pool[i] for i in order]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "offence_text", "recorded"])
        for i, text in enumerate(picks):
            writer.writerow([f"C{i:08d}", text, f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}"])
    return len(set(picks))


def ensure_model(workdir: Path) -> tuple[Path, str]:
    champion = champion_path()
    if champion is not None and (champion / "config.json").is_file():
        return (
            champion,
            f"champion {champion.relative_to(ROOT) if ROOT in champion.parents else champion}",
        )
    from iccs.bundle import save_bundle
    from iccs.classifier import ClassifierConfig, ICCSClassifier
    from iccs.taxonomy import load_taxonomy
    from tests.conftest import TINY_TEXTS, tiny_training_rows

    texts, codes = tiny_training_rows(load_taxonomy())
    config = ClassifierConfig(
        embedders=[], knn_embedder=None, max_word_features=5000, max_char_features=8000
    )
    dev = TINY_TEXTS[::3]
    model = ICCSClassifier(config).fit(
        texts, codes, dev_texts=[t for t, _ in dev], dev_codes=[c for _, c in dev]
    )
    bundle = workdir / "models" / "iccs-classifier" / "tiny-bench"
    save_bundle(model, bundle, {"name": "iccs-classifier", "version": "tiny-bench"})
    return bundle, "tiny test model (TF-IDF only; no champion under models/)"


def run_classify(source: Path, output: Path, model: Path, extra: list[str]) -> dict[str, float]:
    """Run `iccs classify` in a child process; wall time and the child's peak RSS."""
    command = [
        sys.executable, "-m", "iccs.cli", "classify", str(source), "--output", str(output),
        "--id-column", "case_id", "--text-column", "offence_text", "--model", str(model), *extra,
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        stderr = log.read()
    if child.returncode != 0:
        raise SystemExit(f"iccs classify failed:\n{stderr[-3000:]}")
    match = re.search(r"classified ([\d,]+) rows \(([\d,]+) distinct", stderr)
    assert match, stderr
    rows = int(match.group(1).replace(",", ""))
    return {
        "rows": rows,
        "classified": int(match.group(2).replace(",", "")),
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_mib": usage.ru_maxrss / 1024,  # KiB on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=30_000)
    parser.add_argument("--distinct-rows", type=int, default=5_000,
                        help="rows of the all-distinct backlog (model-bound)")  # fmt: skip
    parser.add_argument("--ray", action="store_true", help="also run the Ray engine (local)")
    parser.add_argument("--readme", type=Path, help="write the figures into this README")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_bulk_") as tmp:
        work = Path(tmp)
        model, model_note = ensure_model(work)
        repeated, unique = work / "backlog.csv", work / "distinct.csv"
        n_distinct = write_backlog(repeated, args.rows, args.distinct)
        write_backlog(unique, args.distinct_rows, None)
        print(f"model: {model_note}")
        print(f"backlog: {args.rows:,} rows, {n_distinct:,} distinct texts (Zipf s=1)")
        cases = [
            ("default engine, all texts distinct", unique, []),
            ("default engine, realistic repetition", repeated, []),
        ]
        if args.ray:
            cases += [
                ("Ray engine (local, 2 CPUs), all texts distinct", unique, ["--engine", "ray"]),
                ("Ray engine (local, 2 CPUs), realistic repetition", repeated, ["--engine", "ray"]),
            ]
        lines = [
            f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, "
            f"{_memory_gib():.0f} GiB, Python {platform.python_version()}; model: {model_note}; "
            f"input CSV, output JSONL, top-3, wall time of the whole command (start-up and model "
            "load included). Peak memory is the command's peak resident set (for Ray: the "
            "driver process only). Load: the machine's 1-minute load average after the case; "
            "above the core count, other work shared the CPUs and the figures understate it.",
            "",
            "| case | rows | texts classified | seconds | rows/s | peak memory | load (1 min) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        measured = []
        for label, source, extra in cases:
            figures = run_classify(source, work / "out.jsonl", model, extra)
            measured.append({"label": label, **figures, "load": os.getloadavg()[0]})
            row = (
                f"| {label} | {figures['rows']:,} | {figures['classified']:,} | "
                f"{figures['seconds']:.1f} | {figures['rows_per_s']:,.0f} | "
                f"{figures['peak_mib']:,.0f} MiB | {os.getloadavg()[0]:.1f} |"
            )
            print(row, flush=True)
            lines.append(row)
    table = "\n".join(lines)
    print("\n" + table)
    print(json.dumps({"model": model_note, "cases": measured}))
    if args.readme:
        if write_block(args.readme, "bench_bulk", table):
            print(f"figures written into {args.readme}")
        else:
            print(f"{args.readme} has no bench_bulk block; nothing written")


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


if __name__ == "__main__":
    main()
