"""The model card's tags section, replaceable on its own (`iccs tags train` leaves the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccs.tags import TAGS

START, END = "<!-- tags:start -->", "<!-- tags:end -->"


def _pct(value: object) -> str:
    if not isinstance(value, int | float) or value != value:
        return "n/a"
    return f"{100 * float(value):.1f}%"


def _rows(name: str, report: dict[str, Any]) -> list[str]:
    rows = []
    for tag in TAGS:
        for language, s in report.get(tag, {}).items():
            cyber = s.get("cyber_related")
            related = (
                f"{_pct(cyber['precision'])} / {_pct(cyber['recall'])} (n={cyber['n']})"
                if cyber
                else ""
            )
            rows.append(
                f"| {name} | {tag} | {language} | {s['n']} | {_pct(s.get('accuracy'))} | "
                f"{_pct(s.get('macro_f1'))} | {related} |"
            )
    return rows


def _threshold_note(threshold: object) -> list[str]:
    if not isinstance(threshold, int | float):
        return []
    return [
        f"Cyber-related operating point: a text is cyber-related when P(cyber_dependent) + "
        f"P(cyber_enabled) >= {float(threshold):.2f}, the threshold that maximises min(precision, "
        "recall) on the pooled leave-one-jurisdiction-out rows; the LOJO cyber rows below "
        "decide each held-out unit with the threshold chosen on the other units (nested).",
        "",
    ]


def card_section(metrics: dict[str, Any] | None) -> str:
    """Markdown between markers: figures per tag and language on test and pooled LOJO."""
    if not metrics:
        body = "## Tags\n\nNo tag model in this bundle: classifications carry no tags.\n"
        return f"{START}\n{body}{END}\n"
    lojo = metrics.get("lojo") or {}
    rows = _rows("test", metrics["test"]) + _rows("LOJO pooled", lojo.get("pooled", {}))
    values = "; ".join(f"`{tag}`: {', '.join(values)}" for tag, values in TAGS.items())
    body = "\n".join(
        [
            "## Tags",
            "",
            f"Each text also gets four tags ({values}), from a character n-gram model per tag "
            "(`cyber` also on word 1-2-grams by default) with a temperature fitted on held-out "
            "rows (`iccs/tags.py`). `unknown` is a value "
            "the model predicts like any other (the text does not settle the tag), and it counts "
            "in accuracy and macro-F1 as such. Cyber-related precision/recall treat "
            "`cyber_dependent` and `cyber_enabled` as one positive class. Tags never change "
            "the code.",
            "",
            f"Trained on {metrics['rows']['train']} rows ({metrics['rows']['reviews']} from "
            f"review exports); test split {metrics['rows']['test']} rows.",
            "",
            *_threshold_note(metrics.get("cyber_threshold")),
            "| split | tag | language | n | accuracy | macro-F1 | cyber-related precision / "
            "recall |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    return f"{START}\n{body}{END}\n"


def replace_card_section(card: Path, metrics: dict[str, Any] | None) -> None:
    """Put the section in the card, in place of an older one, else at the end."""
    text = card.read_text() if card.is_file() else ""
    section = card_section(metrics)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    card.write_text(text)
