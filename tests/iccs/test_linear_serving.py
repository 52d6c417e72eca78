"""The stored linear heads and the record shape the serving paths share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from iccs.hierarchy import NONE_CODE
from iccs.linear import LinearHead, log_softmax
from iccs.records import ClassificationRecord, Versions, record_from_prediction, validated_record
from iccs.suggestions import Prediction, Suggestion

VERSIONS = Versions("iccs-classifier:v1", "ICCS-1.0-2015")


class _Fitted:
    """What `LinearHead.from_estimator` reads of a scikit-learn estimator."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.coef_, self.intercept_ = coef, intercept


@pytest.mark.parametrize("prune_below", [0.0, 0.3])
def test_a_head_saves_and_loads_to_the_same_scores(tmp_path: Path, prune_below: float) -> None:
    rng = np.random.default_rng(3)
    fitted = _Fitted(rng.normal(size=(4, 6)), rng.normal(size=4))
    head = LinearHead.from_estimator(fitted, kind="softmax", prune_below=prune_below)
    assert sparse.issparse(head.coef) == (prune_below > 0)
    head.save(tmp_path / "head.npz")
    loaded = LinearHead.load(tmp_path / "head.npz")
    features = rng.normal(size=(3, 6))
    assert np.allclose(head.log_scores(features), loaded.log_scores(features), atol=1e-6)
    assert np.allclose(np.exp(loaded.log_scores(features)).sum(axis=1), 1.0, atol=1e-5)


def test_margins_stay_margins_and_log_softmax_is_stable() -> None:
    head = LinearHead(np.eye(2, dtype=np.float32), np.zeros(2, dtype=np.float32), "margin")
    assert np.allclose(head.log_scores(np.array([[3.0, -1.0]])), [[3.0, -1.0]])
    big = log_softmax(np.array([[1000.0, 0.0]]))
    assert np.isfinite(big).all() and np.isclose(big[0, 0], 0.0)


def test_a_validated_code_has_the_shape_of_a_record() -> None:
    record = validated_record("20111", VERSIONS, None)  # a spreadsheet dropped the zero
    first = record.first
    assert (first.code, first.level, first.confidence) == ("020111", "class", 1.0)
    assert [step.code for step in first.path] == ["02", "0201", "02011", "020111"]
    assert not record.needs_review and record.source == "correspondence"
    assert validated_record(NONE_CODE, VERSIONS, "es").first.code == NONE_CODE


def test_the_record_every_path_writes() -> None:
    prediction = Prediction([Suggestion("0401", "Robbery", "division", 0.8)], needs_review=True)
    record = record_from_prediction(prediction, VERSIONS, "en")
    assert record.to_dict() == {
        "suggestions": [
            {
                "code": "0401",
                "title": "Robbery",
                "level": "division",
                "path": [
                    {"code": "04", "title": record.first.path[0].title},
                    {"code": "0401", "title": "Robbery"},
                ],
                "confidence": 0.8,
            }
        ],
        "needs_review": True,
        "backed_off": False,
        "fallback": None,
        "tags": [],
        "model_version": "iccs-classifier:v1",
        "taxonomy_version": "ICCS-1.0-2015",
        "source": "model",
    }
    assert ClassificationRecord.from_json(record.to_json()) == record


def test_spanish_texts_get_spanish_titles() -> None:
    prediction = Prediction([Suggestion("0401", "Robbery", "division", 0.8)], needs_review=True)
    english = record_from_prediction(prediction, VERSIONS, "en").first
    spanish = record_from_prediction(prediction, VERSIONS, "es").first
    assert spanish.title != english.title and spanish.title == spanish.path[-1].title
