"""The evaluation plots people cite: a reliability diagram with the records behind each point,
the coverage-precision curve with the review threshold marked, and a confusion matrix by ICCS
section. The tables they draw are computed apart, so tests check the figures, not the pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from iccs.hierarchy import NONE_CODE
from training.metrics import (
    TARGET_PRECISIONS,
    ScoredRecords,
    precision_coverage_curve,
    reliability_table,
)

PLOT_FILES = {
    "reliability.png": "Reliability diagram (first suggestion), with the records in each bin",
    "coverage_precision.png": "Coverage and precision of auto-coding, review threshold marked",
    "confusion_sections.png": "Confusion matrix by ICCS section (gold rows, first suggestion)",
}


def _section(code: str) -> str:
    return NONE_CODE if code == NONE_CODE else code[:2]


def section_confusion(records: ScoredRecords) -> tuple[list[str], np.ndarray]:
    """Sections (and NONE) seen in gold or first suggestions, and counts[gold, predicted]."""
    gold = [_section(g) for g in records.gold]
    predicted = [_section(p) for p in records.first]
    labels = sorted(set(gold) | set(predicted), key=lambda s: (s == NONE_CODE, s))
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=int)
    for g, p in zip(gold, predicted, strict=True):
        counts[index[g], index[p]] += 1
    return labels, counts


def threshold_point(records: ScoredRecords, threshold: float) -> dict[str, Any]:
    """What auto-coding at `threshold` gives: the share of all records auto-coded (eligible
    ones at or above it) and their exact precision."""
    admitted = records.eligible & (records.confidence >= threshold)
    n = int(admitted.sum())
    return {
        "threshold": threshold,
        "auto_coded": n,
        "coverage": n / len(records.gold) if records.gold else 0.0,
        "precision": float(records.correct[admitted].mean()) if n else None,
    }


def _reliability(records: ScoredRecords, out: Path, title: str, plt: Any) -> None:
    table = reliability_table(records.confidence, records.right)
    fig, (ax, bars) = plt.subplots(
        2, 1, figsize=(5.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([t[0] for t in table], [t[1] for t in table], "o-", label="model")
    for confidence, share, n in table:
        ax.annotate(f"{n}", (confidence, share), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=7, color="dimgrey")  # fmt: skip
    ax.set(ylabel="share right (gold is the code or below it)", ylim=(0, 1.05))
    ax.set_title(f"Reliability: {title} (n={len(records.gold)}; labels: records per bin)")
    ax.legend(loc="upper left")
    edges = np.linspace(0, 1, 16)
    counts, _ = np.histogram(records.confidence, bins=edges)
    bars.bar(edges[:-1], counts, width=edges[1] - edges[0], align="edge", color="#4e79a7")
    bars.set(xlabel="confidence of first suggestion", ylabel="records", xlim=(0, 1))
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _coverage_precision(
    records: ScoredRecords, out: Path, title: str, threshold: float | None, plt: Any
) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    eligible = records.eligible
    _, coverage, precision = precision_coverage_curve(
        records.confidence[eligible], records.correct[eligible]
    )
    coverage = coverage * eligible.mean()  # as a share of all records
    ax.plot(coverage, precision, label="auto-coding the most confident first")
    styles = ["dotted", "dashdot", "dashed"]
    for target, style in zip(TARGET_PRECISIONS, styles, strict=False):
        ax.axhline(target, ls=style, color="grey", lw=0.8, label=f"{target:.0%} precision")
    if threshold is not None:
        point = threshold_point(records, threshold)
        if point["precision"] is not None:
            ax.plot(point["coverage"], point["precision"], "o", color="#d1495b", zorder=3)
            ax.annotate(
                f"review threshold {threshold:.3f}:\n{point['coverage']:.1%} auto-coded at "
                f"{point['precision']:.1%} precision",
                (point["coverage"], point["precision"]),
                textcoords="offset points",
                xytext=(-10, -34),
                ha="right",
                fontsize=8,
                color="#d1495b",
            )
    low = float(precision.min()) if len(precision) else 0.5
    ax.set(
        xlabel="coverage (share of all records auto-coded)",
        ylabel="precision (exact code)",
        title=f"Coverage vs precision: {title} (n={len(records.gold)})",
        xlim=(0, 1),
        ylim=(min(0.5, low), 1.01),
    )
    ax.legend(loc="lower left", fontsize=8)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _confusion(records: ScoredRecords, out: Path, title: str, plt: Any) -> None:
    labels, counts = section_confusion(records)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    size = 0.45 * len(labels) + 2
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                colour = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(
        range(len(labels)),
        [f"{lbl} (n={int(r)})" for lbl, r in zip(labels, rows[:, 0], strict=True)],
    )
    ax.set(xlabel="section of the first suggestion", ylabel="gold section")
    ax.set_title(f"Confusion by section: {title}\n(counts; colour = share of the gold row)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the row")
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_plots(
    records: ScoredRecords, out_dir: Path, title: str, threshold: float | None = None
) -> list[Path]:
    """The three plots as PNG under `out_dir`; `threshold` is the model's review threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in PLOT_FILES]
    _reliability(records, paths[0], title, plt)
    _coverage_precision(records, paths[1], title, threshold, plt)
    _confusion(records, paths[2], title, plt)
    return paths


def plots_section(bundle: Path) -> str:
    """The model card's plots, embedded (those the bundle has)."""
    lines = ["## Plots", ""]
    for name, caption in PLOT_FILES.items():
        if (bundle / "plots" / name).is_file():
            lines += [f"{caption}:", "", f"![{caption}](plots/{name})", ""]
    return "\n".join(lines) if len(lines) > 2 else ""
