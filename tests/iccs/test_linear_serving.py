"""The stored linear heads and the prediction shapes the serving paths share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from iccs.classifier import Prediction, Suggestion
from iccs.hierarchy import NONE_CODE
from iccs.linear import LinearHead, log_softmax
from iccs.serving import prediction_record, validated_prediction


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


def test_a_validated_code_has_the_shape_of_a_prediction() -> None:
    prediction = validated_prediction("20111")  # a spreadsheet dropped the zero
    first = prediction.suggestions[0]
    assert (first.code, first.level, first.confidence) == ("020111", "class", 1.0)
    assert not prediction.needs_review
    assert validated_prediction(NONE_CODE).suggestions[0].code == NONE_CODE


def test_the_record_every_path_writes() -> None:
    prediction = Prediction([Suggestion("0401", "Robbery", "division", 0.8)], needs_review=True)
    assert prediction_record(prediction, "iccs-classifier:v1") == {
        "suggestions": [
            {"code": "0401", "title": "Robbery", "level": "division", "confidence": 0.8}
        ],
        "needs_review": True,
        "model_version": "iccs-classifier:v1",
        "tags": [],
    }
