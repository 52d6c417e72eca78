from __future__ import annotations

import numpy as np
import pytest

from training.metrics import (
    ScoredRecords,
    autocoding_threshold,
    expected_calibration_error,
    summarize,
)


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    confidence = np.array([0.8] * 10)
    correct = np.array([True] * 8 + [False] * 2)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_ece_measures_overconfidence() -> None:
    confidence = np.array([0.9] * 10)
    correct = np.array([True] * 5 + [False] * 5)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.4)


def test_autocoding_threshold_reaches_the_target_precision() -> None:
    confidence = np.array([0.99, 0.98, 0.97, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, True, False, True, False])
    assert autocoding_threshold(confidence, correct, 0.95) == pytest.approx(0.9)
    assert autocoding_threshold(confidence, correct, 0.8) == pytest.approx(0.7)
    assert autocoding_threshold(np.array([0.5]), np.array([False]), 0.95) > 1.0


def test_ties_are_never_split() -> None:
    confidence = np.array([0.9, 0.9, 0.9, 0.5])
    correct = np.array([True, True, False, True])
    # Admitting 0.9 admits all three records at 0.9 (67%): no threshold reaches 95%.
    assert autocoding_threshold(confidence, correct, 0.95) > 1.0


def test_summary_levels_and_back_off() -> None:
    records = ScoredRecords(
        gold=["020111", "0502", "NONE", "050231"],
        ranked=[["0201", "020111"], ["0502"], ["NONE"], ["050229", "050231"]],
        confidence=np.array([0.9, 0.8, 0.95, 0.6]),
        level_argmax={
            "section": ["02", "05", "NONE", "05"],
            "division": ["0201", "0502", "NONE", "0502"],
            "group": ["02011", "05022", "NONE", "05022"],
            "class": ["020111", "050221", "NONE", "050229"],
        },
        eligible=np.array([False, True, False, True]),
    )
    out = summarize(records)
    assert out["exact_at_1"] == pytest.approx(0.5)  # 0502 and NONE
    assert out["exact_at_3"] == pytest.approx(1.0)
    assert out["section_accuracy"] == pytest.approx(1.0)
    # 0502 is not deep enough to count at group level; NONE counts at every level.
    assert out["group_accuracy"] == pytest.approx(2 / 3)
    assert out["class_accuracy"] == pytest.approx(2 / 3)
    # The backed-off 0201 is right for gold 020111: right = 3 of 4.
    assert records.right.tolist() == [True, True, True, False]
    assert out["backed_off_share"] == pytest.approx(0.25)
