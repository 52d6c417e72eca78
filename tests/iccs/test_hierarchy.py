from __future__ import annotations

import numpy as np
import pytest

from iccs.classifier import ICCSClassifier
from iccs.hierarchy import NONE_CODE, Hierarchy
from iccs.taxonomy import Taxonomy


@pytest.fixture(scope="module")
def hierarchy(taxonomy: Taxonomy) -> Hierarchy:
    # A label set mixing levels: 0201 (vague assault/threat), two of its leaves, a leaf division
    # (0907) and NONE.
    return Hierarchy(["0201", "020111", "020112", "0907", NONE_CODE], taxonomy)


def test_vague_labels_spread_onto_their_descendants(hierarchy: Hierarchy) -> None:
    class_proba = np.array([[0.4, 0.3, 0.1, 0.1, 0.1]])
    terminal = hierarchy.terminal_proba(class_proba)
    assert hierarchy.terminals == ["020111", "020112", "0907", NONE_CODE]
    # 0201's 0.4 goes 3:1 to its leaves, as their own probabilities are.
    np.testing.assert_allclose(terminal[0], [0.6, 0.2, 0.1, 0.1])
    assert terminal.sum() == pytest.approx(1.0)


def test_every_parent_is_the_sum_of_its_children(hierarchy: Hierarchy) -> None:
    rng = np.random.default_rng(0)
    class_proba = rng.dirichlet(np.ones(5), size=50)
    nodes = hierarchy.node_proba(class_proba)
    col = {n: i for i, n in enumerate(hierarchy.nodes)}
    np.testing.assert_allclose(
        nodes[:, col["02011"]], nodes[:, col["020111"]] + nodes[:, col["020112"]]
    )
    np.testing.assert_allclose(nodes[:, col["0201"]], nodes[:, col["02011"]])
    np.testing.assert_allclose(nodes[:, col["02"]], nodes[:, col["0201"]])
    np.testing.assert_allclose(nodes[:, col["09"]], nodes[:, col["0907"]])
    sections = [col[n] for n in ("02", "09", NONE_CODE)]
    np.testing.assert_allclose(nodes[:, sections].sum(axis=1), 1.0)


def test_backs_off_to_the_deepest_confident_ancestor(hierarchy: Hierarchy) -> None:
    nodes = hierarchy.node_proba(np.array([[0.0, 0.48, 0.45, 0.04, 0.03]]))[0]
    decision = hierarchy.decide(nodes, threshold=0.5)
    assert decision.code == "02011" and decision.backed_off
    assert decision.confidence == pytest.approx(0.93)
    confident = hierarchy.decide(
        hierarchy.node_proba(np.array([[0.0, 0.91, 0.05, 0.02, 0.02]]))[0], 0.5
    )
    assert confident.code == "020111" and not confident.backed_off


def test_nothing_confident_returns_the_best_terminal_unconfident(hierarchy: Hierarchy) -> None:
    nodes = hierarchy.node_proba(np.array([[0.0, 0.3, 0.0, 0.35, 0.35]]))[0]
    decision = hierarchy.decide(nodes, threshold=0.5)
    assert decision.code in {"0907", NONE_CODE} and decision.confidence == pytest.approx(0.35)


def test_model_suggestions_are_ranked_and_consistent(tiny_model: ICCSClassifier) -> None:
    predictions = tiny_model.suggest(
        ["stole a handbag from the victim's shoulder", "lost wallet, no crime", "xyzzy"], top_k=3
    )
    for prediction in predictions:
        confidences = [s.confidence for s in prediction.suggestions]
        assert confidences == sorted(confidences, reverse=True)
        assert 1 <= len(prediction.suggestions) <= 3
        assert all(0.0 <= c <= 1.0 for c in confidences)
        codes = [s.code for s in prediction.suggestions]
        assert len(set(codes)) == len(codes)
    first = predictions[0].suggestions[0]
    assert first.code.startswith("05") and first.level in {"division", "group", "class"}


def test_predict_proba_is_a_distribution_over_classes(tiny_model: ICCSClassifier) -> None:
    proba = tiny_model.predict_proba(["drink driving", "robbery at knifepoint"])
    assert proba.shape == (2, len(tiny_model.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
