"""`iccs evaluate` for people: the headline figures as tables (the JSON stays on request).

Figures are shown with their n, so a share of a handful of texts is not read as a rate.
"""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

HEADLINE = (
    ("exact_at_1", "exact code, first suggestion"),
    ("exact_at_3", "exact code among the first three"),
    ("section_accuracy", "right section (level 1)"),
    ("division_accuracy", "right division (level 2)"),
    ("group_accuracy", "right group (level 3)"),
    ("class_accuracy", "right class (level 4)"),
    ("macro_f1", "macro F1 over codes"),
    ("ece", "calibration error (ECE, lower is better)"),
)
LOJO_COLUMNS = ("exact_at_1", "exact_at_3", "section_accuracy", "ece")


def _share(value: Any) -> str:
    number = float(value)
    return "–" if math.isnan(number) else f"{number:.1%}"


def headline_table(overall: dict[str, Any], title: str) -> Table:
    table = Table(title=f"{title} (n = {int(overall['n']):,})", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, label in HEADLINE:
        if key in overall:
            value = overall[key]
            table.add_row(label, f"{float(value):.3f}" if key == "ece" else _share(value))
    return table


def autocoding_table(overall: dict[str, Any]) -> Table:
    table = Table(
        title="Auto-coding: texts coded without review at a target precision",
        title_justify="left",
    )
    for name in ("target precision", "confidence threshold", "texts auto-coded", "precision"):
        table.add_column(name, justify="right")
    n = int(overall["n"])
    for target, row in sorted(overall["autocoding"].items()):
        rate = float(row["rate"])
        table.add_row(
            _share(target),
            f"{float(row['threshold']):.2f}",
            f"{_share(rate)} ({round(rate * n):,})",
            _share(row["precision"]),
        )
    return table


def lojo_table(pooled: dict[str, Any]) -> Table:
    table = Table(
        title="LOJO (pooled): each jurisdiction held out in turn, by language",
        title_justify="left",
    )
    table.add_column("language")
    table.add_column("n", justify="right")
    for key in LOJO_COLUMNS:
        table.add_column(key.replace("_", " "), justify="right")
    table.add_column("auto-coded at 97%", justify="right")
    for language, summary in pooled.items():
        table.add_row(
            language,
            f"{int(summary['n']):,}",
            *(
                f"{float(summary[k]):.3f}" if k == "ece" else _share(summary[k])
                for k in LOJO_COLUMNS
            ),
            _share(summary["autocoding"]["0.97"]["rate"]),
        )
    return table


def evaluation_tables(report: dict[str, Any], source: str) -> list[Table]:
    overall = report["overall"]
    tables = [headline_table(overall, source), autocoding_table(overall)]
    if report.get("lojo"):
        tables.append(lojo_table(report["lojo"]["pooled"]))
    return tables


def _finite(value: Any) -> Any:
    """NaN (a precision over no texts) as null, so the output is valid JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def evaluation_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The same figures as one JSON-ready object (`iccs evaluate --json`)."""
    overall = report["overall"]
    summary: dict[str, Any] = {
        "model": report.get("model"),
        "overall": {key: overall[key] for key in ("n", *dict(HEADLINE)) if key in overall},
        "autocoding": overall["autocoding"],
    }
    if report.get("lojo"):
        summary["lojo_pooled"] = {
            language: {k: v[k] for k in ("n", *LOJO_COLUMNS)}
            | {"autocoding_p97": v["autocoding"]["0.97"]["rate"]}
            for language, v in report["lojo"]["pooled"].items()
        }
    return dict(_finite(summary))
