"""Every benchmark against the champion in one run, and each figure as a ratio to the model's
floor measured in the same run (absolute times move with the machine's load; ratios much less).

    python benchmarks/run_all.py [--readme README.md] [--quick]

The floor is `bench_model.py`: one text alone (p50) and distinct texts in batches (texts/s).
The service's latency divides by the single-text floor; its requests/s and the bulk engine's
rows/s divide by the batched floor. `--readme` writes each benchmark's table and the summary
into the README; `--quick` shortens the runs (for trying the script, not for reporting).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from readme_block import write_block

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> dict[str, Any]:
    """Run one benchmark, echo its output, return the JSON object it prints last."""
    command = [sys.executable, str(HERE / script), *args]
    print(f"== {script} {' '.join(args)}", flush=True)
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    print(done.stdout, end="", flush=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    return {}


def _relative(path: str) -> str:
    root = str(HERE.parent) + "/"
    return path[len(root) :] if path.startswith(root) else path


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}" if floor else "n/a"


def summary(model: dict[str, Any], service: dict[str, Any], bulk: dict[str, Any]) -> str:
    single, batched = model["single_text_ms_p50"], model["batch_texts_per_second"]
    rows = [
        ("model, one text alone, p50", f"{single} ms", "1.00 (floor)", "<= 10 ms"),
        ("model, one text alone, p99", f"{model['single_text_ms_p99']} ms", "", ""),
        ("model, batches of 500 distinct texts", f"{batched} texts/s", "1.00 (floor)", ">= 400/s"),
    ]
    for name, run_ in service.get("runs", {}).items():
        if name.startswith("100"):
            continue
        rows.append(
            (
                f"service, {name}: p50 / p99",
                f"{run_['p50_ms']} / {run_['p99_ms']} ms",
                f"{ratio(run_['p50_ms'], single)} / {ratio(run_['p99_ms'], single)} x floor",
                "p50 <= 15, p99 <= 60 ms" if "16" in name else "",
            )
        )
        rows.append(
            (
                f"service, {name}: throughput ({run_['errors']} errors)",
                f"{run_['rps']} req/s",
                f"{ratio(run_['rps'], batched)} of batched floor",
                ">= 400 req/s" if "16" in name else "",
            )
        )
    for case in bulk.get("cases", []):
        rows.append(
            (
                f"bulk, {case['label']}",
                f"{case['rows_per_s']:,.0f} rows/s",
                f"{ratio(case['rows_per_s'], batched)} x batched floor",
                ">= 50,000 rows/s" if "repetition" in case["label"] else "",
            )
        )
    peaks = [
        ("model process", model.get("peak_mib")),
        ("service (all workers)", service.get("server_peak_mib")),
        *[(f"bulk, {c['label']}", c["peak_mib"]) for c in bulk.get("cases", [])],
    ]
    for label, peak in peaks:
        if peak is not None:
            rows.append((f"peak memory, {label}", f"{peak:,.0f} MiB", "", ""))
    stored = service.get("stored")
    lines = [
        f"One run of `python benchmarks/run_all.py` on {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}; "
        f"1-minute load average {model.get('load_average', 0):.1f} before the run. "
        f"Model: {_relative(str(model.get('bundle', '?')))}.",
        "",
        "| figure | measured | ratio | target |",
        "|---|---:|---:|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    if stored:
        lines += [
            "",
            f"Service results stored: {stored['rows']:,} rows for {stored['answered']:,} "
            f"answered texts ({'all stored' if stored['ok'] else 'MISSING ROWS'}).",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    readme = ["--readme", str(args.readme)] if args.readme else []
    quick_service = ["--seconds", "3", "--batches", "3"] if args.quick else []
    quick_bulk = ["--rows", "50000", "--distinct-rows", "500"] if args.quick else []
    model = run("bench_model.py")
    service = run("bench_service.py", *readme, *quick_service)
    bulk = run("bench_bulk.py", *readme, *quick_bulk)
    run("bench_review_groups.py")  # the analysts' queue; its own figures, no floor to divide by
    if not model:
        sys.exit("the model benchmark failed; no floor to compare with")
    text = summary(model, service, bulk)
    print("\n" + text)
    if args.readme and not write_block(args.readme, "bench_summary", text):
        print(f"{args.readme} has no bench_summary block; summary not written")
    sys.exit(0 if service and bulk else 1)


if __name__ == "__main__":
    main()
