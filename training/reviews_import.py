"""Analysts' decisions as training rows: `iccs train --include-reviews EXPORT.csv`.

The export (`GET /v1/reviews/export`) has the corpus columns and the decision's provenance.
Here every row becomes a corpus row with origin `real`, source `review`, labeller
`review:<analysts>` and split `train`, whatever the file says: reviewed items never enter the
frozen test split. Rows whose text is already in the corpus's dev or test split are dropped
(training on them would flatter the figures), and so are invalid codes; of several decisions on
one text, the latest counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iccs.hierarchy import NONE_CODE
from iccs.language import guess_language
from iccs.tags import TAGS
from iccs.taxonomy import CodeError, load_taxonomy
from iccs.text import normalize
from training.corpus import COLUMNS

REVIEW_ORIGIN = "real"
REVIEW_SOURCE = "review"


class ReviewExportError(ValueError):
    """The file given to --include-reviews is not a review export."""


@dataclass
class ReviewImport:
    """The training rows from one export, and what was left out and why."""

    path: Path
    rows: pd.DataFrame
    read: int
    invalid_codes: int = 0
    held_out_texts: int = 0
    duplicates: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    # `rows` with the analysts' tags (one column per tag, '' where unknown to the export):
    # only rows where at least one tag is known; training folds them into the tag model's data
    tag_rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*COLUMNS, *TAGS]))


def _code(raw: str) -> str | None:
    if raw.strip().upper() == NONE_CODE:
        return NONE_CODE
    try:
        return load_taxonomy().normalize(raw)
    except CodeError:
        return None


def load_review_rows(path: Path, corpus: pd.DataFrame) -> ReviewImport:
    """Corpus-format rows from a review export; `corpus` gives the dev and test texts."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = {"text", "iccs_code"} - set(frame.columns)
    if missing:
        raise ReviewExportError(
            f"{path}: not a review export (missing {', '.join(sorted(missing))})"
        )
    read = len(frame)
    frame = frame[frame["text"].str.strip() != ""].copy()
    frame["iccs_code"] = frame["iccs_code"].map(_code)
    invalid = int(frame["iccs_code"].isna().sum())
    frame = frame[frame["iccs_code"].notna()]

    key = frame["text"].map(normalize)
    held_out = set(corpus.loc[corpus["split"] != "train", "text"].map(normalize))
    in_held_out = key.isin(held_out)
    frame, key = frame[~in_held_out], key[~in_held_out]
    if "decided_at" in frame.columns:  # stable: file order breaks ties
        order = frame["decided_at"].sort_values(kind="stable").index
        frame, key = frame.loc[order], key.loc[order]
    latest = ~key.duplicated(keep="last")
    duplicates = int((~latest).sum())
    frame = frame[latest]

    def column(name: str, default: pd.Series) -> pd.Series:
        if name in frame.columns:
            return frame[name].where(frame[name] != "", default)
        return default

    ids = pd.Series([f"review-{i}" for i in range(len(frame))], index=frame.index)
    labellers = "review:" + column("decided_by", pd.Series("analyst", index=frame.index))
    rows = pd.DataFrame(
        {
            "id": column("id", ids),
            "text": frame["text"],
            "language": column("language", frame["text"].map(guess_language)),
            "iccs_code": frame["iccs_code"],
            "origin": REVIEW_ORIGIN,
            "source": REVIEW_SOURCE,
            "labeller": labellers,
            "split": "train",
            "jurisdiction": "none",
            "fold": "",
        },
        columns=COLUMNS,
    ).reset_index(drop=True)
    actions = frame["action"] if "action" in frame.columns else pd.Series(dtype=str)
    tagged = rows.copy()
    for tag, values in TAGS.items():
        given = frame[tag].to_numpy() if tag in frame.columns else [""] * len(frame)
        tagged[tag] = [value if value in values else "" for value in given]
    tagged = tagged[(tagged[list(TAGS)] != "").any(axis=1)].reset_index(drop=True)
    return ReviewImport(
        tag_rows=tagged,
        path=path,
        rows=rows,
        read=read,
        invalid_codes=invalid,
        held_out_texts=int(in_held_out.sum()),
        duplicates=duplicates,
        by_action=dict(sorted(Counter(actions).items())),
    )


def _figure(report: dict[str, Any] | None, name: str) -> float | None:
    if not report:
        return None
    overall = report["overall"]
    value = overall["autocoding"]["0.97"]["rate"] if name == "autocoding" else overall[name]
    return float(value)


FIGURES = (
    ("exact_at_1", "exact@1"),
    ("section_accuracy", "section accuracy"),
    ("macro_f1", "macro-F1"),
    ("autocoding", "auto-coded at the 97% threshold"),
    ("ece", "ECE (lower is better)"),
)


def learning_loop_section(
    imports: list[ReviewImport],
    champion: str | None,
    before: dict[str, dict[str, Any] | None],
    after: dict[str, dict[str, Any]],
) -> str:
    """The model card's before/after: the champion and this model on the same dev and test."""
    added = sum(len(i.rows) for i in imports)
    actions = Counter[str]()
    for i in imports:
        actions.update(i.by_action)
    action_text = ", ".join(f"{n} {a}" for a, n in sorted(actions.items())) or "no actions given"
    left_out = (
        f"{sum(i.held_out_texts for i in imports)} texts of the dev/test splits, "
        f"{sum(i.duplicates for i in imports)} earlier decisions on the same text, "
        f"{sum(i.invalid_codes for i in imports)} invalid codes"
    )
    lines = [
        "## Learning loop: analysts' decisions",
        f"- {added} reviewed items added to training from "
        f"{', '.join(f'`{i.path.name}`' for i in imports)} ({action_text}); origin `real`, "
        "source `review`, split `train`: none enters the frozen test split.",
        f"- Left out: {left_out}.",
    ]
    if champion is None:
        lines.append("- No champion to compare with: this is the first model.")
        return "\n".join(lines) + "\n"
    lines += [
        f"- Before: the champion `{champion}`; after: this model, on the same splits. "
        "Promotion still follows the rule (LOJO, or dev, exact@1 not worse).",
        "",
        "| split | figure | before | after | change |",
        "|---|---|---|---|---|",
    ]
    for split in [s for s in ("test", "dev") if s in after]:
        for key, label in FIGURES:
            old, new = _figure(before.get(split), key), _figure(after[split], key)
            change = f"{new - old:+.3f}" if old is not None and new is not None else "n/a"
            shown = [f"{v:.3f}" if v is not None else "n/a" for v in (old, new)]
            lines.append(f"| {split} | {label} | {shown[0]} | {shown[1]} | {change} |")
    return "\n".join(lines) + "\n"
