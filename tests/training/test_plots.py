"""The model card's plots on the tiny model: what they draw (bin counts, the threshold's point,
the confusion by section) and that the card embeds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iccs.classifier import ICCSClassifier
from iccs.taxonomy import Taxonomy
from tests.conftest import TINY_TEXTS
from training.evaluate import score
from training.metrics import ScoredRecords, reliability_table
from training.plots import (
    PLOT_FILES,
    plots_section,
    section_confusion,
    threshold_point,
    write_plots,
)

# Texts the tiny model did not train on, with their gold codes.
HELD_OUT = [
    ("pinched a bike from the rack", "050229"),
    ("punched a man outside a pub", "020112"),
    ("armed hold-up at a petrol station", "04013"),
    ("kicked in the door and took a laptop", "050121"),
    ("smashed a car window", "0504"),
    ("selling heroin on the street", "060121"),
    ("lost my keys", "NONE"),
]


def records(model: ICCSClassifier) -> ScoredRecords:
    rows = HELD_OUT + TINY_TEXTS[1::3]
    return score(model, [t for t, _ in rows], [c for _, c in rows])


def test_confusion_by_section_counts_every_record(tiny_model: ICCSClassifier) -> None:
    scored = records(tiny_model)
    labels, counts = section_confusion(scored)
    assert counts.sum() == len(scored.gold)
    assert labels[-1] == "NONE" or "NONE" not in labels
    section_right = sum(
        (g == "NONE" and p == "NONE") or (g != "NONE" and p[:2] == g[:2])
        for g, p in zip(scored.gold, scored.first, strict=True)
    )
    assert int(np.trace(counts)) == section_right


def test_threshold_point_is_what_auto_coding_at_it_gives(tiny_model: ICCSClassifier) -> None:
    scored = records(tiny_model)
    threshold = tiny_model.operating.review_threshold
    point = threshold_point(scored, threshold)
    admitted = scored.eligible & (scored.confidence >= threshold)
    assert point["auto_coded"] == int(admitted.sum())
    assert point["coverage"] == admitted.sum() / len(scored.gold)
    if admitted.any():
        assert point["precision"] == scored.correct[admitted].mean()
    nobody = threshold_point(scored, 1.5)
    assert nobody == {"threshold": 1.5, "auto_coded": 0, "coverage": 0.0, "precision": None}


def test_plots_are_written_and_the_card_embeds_them(
    tiny_model: ICCSClassifier, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    scored = records(tiny_model)
    table = reliability_table(scored.confidence, scored.right)
    assert sum(n for *_, n in table) == len(scored.gold)
    paths = write_plots(scored, tmp_path / "plots", "held out", 0.9)
    assert [p.name for p in paths] == list(PLOT_FILES)
    assert all(
        p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000 for p in paths
    )
    section = plots_section(tmp_path)
    for name in PLOT_FILES:
        assert f"(plots/{name})" in section
    assert plots_section(tmp_path / "elsewhere") == ""
