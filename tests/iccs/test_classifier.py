"""The classifier's contract: same text same answer, most specific code first, honest save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iccs.calibration import Blend, fit_blend, nll, weight_grid
from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.taxonomy import Taxonomy
from tests.conftest import TINY_TEXTS, tiny_training_rows

VARIANTS = [
    ("ROBBERY OF A MOBILE PHONE AT KNIFEPOINT", "robbery of a mobile phone at knifepoint"),
    ("Robo con violencia de un teléfono celular", "ROBO CON VIOLENCIA DE UN TELEFONO CELULAR"),
    ("  theft   of a pedal cycle ", "Theft of a pedal cycle"),
    ("휴대전화 절도", "휴대전화  절도"),
]


def _fit_with_use(taxonomy: Taxonomy, dev_step: int, **settings: object) -> ICCSClassifier:
    """A tiny model with the real multilingual embedder (USE ships in its package)."""
    texts, codes = tiny_training_rows(taxonomy)
    config = ClassifierConfig(
        embedders=["use-multilingual"],
        max_word_features=5000,
        max_char_features=8000,
        **{"knn_embedder": None, **settings},
    )
    dev = TINY_TEXTS[::dev_step]
    return ICCSClassifier(config).fit(
        texts, codes, dev_texts=[t for t, _ in dev], dev_codes=[c for _, c in dev]
    )


@pytest.fixture(scope="module")
def semantic_model(taxonomy: Taxonomy) -> ICCSClassifier:
    return _fit_with_use(taxonomy, dev_step=3)


@pytest.mark.parametrize(("one", "other"), VARIANTS)
def test_case_accent_and_spacing_variants_get_the_same_answer(
    semantic_model: ICCSClassifier, one: str, other: str
) -> None:
    first, second = semantic_model.suggest([one, other], top_k=3)
    assert [(s.code, s.confidence) for s in first.suggestions] == [
        (s.code, s.confidence) for s in second.suggestions
    ]
    assert first.needs_review == second.needs_review


def test_answers_do_not_depend_on_batch_order(semantic_model: ICCSClassifier) -> None:
    texts = [t for t, _ in TINY_TEXTS[:12]]
    forward = semantic_model.suggest(texts)
    backward = semantic_model.suggest(texts[::-1])[::-1]
    assert forward == backward


def test_the_first_suggestion_is_the_most_probable_code(tiny_model: ICCSClassifier) -> None:
    texts = [t for t, _ in TINY_TEXTS]
    proba = tiny_model.predict_proba(texts)
    predictions = tiny_model.suggest(texts, top_k=3)
    for row, prediction in zip(proba, predictions, strict=True):
        assert prediction.suggestions[0].code == tiny_model.classes_[int(np.argmax(row))]
        assert not prediction.backed_off
        codes = [s.code for s in prediction.suggestions]
        assert len(codes) == len(set(codes))
        # a fallback is always a broader code above the first suggestion
        if prediction.fallback is not None:
            assert codes[0].startswith(prediction.fallback.code)
            assert prediction.fallback.confidence >= tiny_model.config.backoff_threshold


def test_predict_returns_labels_from_classes(tiny_model: ICCSClassifier) -> None:
    labels = tiny_model.predict([t for t, _ in TINY_TEXTS])
    assert set(labels) <= set(tiny_model.classes_)
    right = sum(p == gold for p, (_, gold) in zip(labels, TINY_TEXTS, strict=True))
    assert right >= 0.7 * len(TINY_TEXTS)  # trained on these texts: a sanity floor


def test_backoff_policy_replaces_an_unconfident_first_suggestion(
    tiny_model: ICCSClassifier,
) -> None:
    vague = ["something happened to somebody somewhere"]
    tiny_model.config.decision = "backoff"
    try:
        (prediction,) = tiny_model.suggest(vague)
    finally:
        tiny_model.config.decision = "specific"
    first = prediction.suggestions[0]
    assert prediction.backed_off == (first.code not in tiny_model.hierarchy.terminals)


def test_save_and_load_round_trip(semantic_model: ICCSClassifier, tmp_path: Path) -> None:
    semantic_model.save(tmp_path / "bundle", {"note": "test"})
    loaded, metadata = ICCSClassifier.load(tmp_path / "bundle")
    texts = [t for t, _ in TINY_TEXTS]
    assert metadata["note"] == "test"
    assert metadata["taxonomy_version"] == semantic_model.taxonomy.version
    assert loaded.classes_ == semantic_model.classes_
    assert loaded.operating == semantic_model.operating
    np.testing.assert_allclose(
        loaded.predict_proba(texts), semantic_model.predict_proba(texts), rtol=1e-5, atol=1e-6
    )


def test_client_language_chooses_the_blend(semantic_model: ICCSClassifier) -> None:
    blend = semantic_model.blend
    semantic_model.blend = Blend(
        blend.scales, {"en": ([1.0, 0.0], 1.0), "es": ([0.0, 1.0], 1.0), "other": ([0.5, 0.5], 1.0)}
    )
    try:
        text = ["theft of a pedal cycle"]
        as_english = semantic_model.predict_proba(text, ["en"])
        as_spanish = semantic_model.predict_proba(text, ["es"])
        guessed = semantic_model.predict_proba(text)
    finally:
        semantic_model.blend = blend
    assert not np.allclose(as_english, as_spanish)
    np.testing.assert_allclose(guessed, as_english)  # guessed as English


def test_weight_grid_covers_the_simplex() -> None:
    grid = weight_grid(3, 0.5)
    assert all(abs(sum(w) - 1.0) < 1e-9 for w in grid)
    assert len(grid) == 6


def test_blend_fit_is_no_worse_than_either_expert_alone() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 600)
    strong, weak = rng.normal(size=(600, 5)), rng.normal(size=(600, 5))
    strong[np.arange(600), y] += 3.0
    weak[np.arange(600), y] += 1.0
    languages = ["en"] * 600

    def loss(scores: list[np.ndarray]) -> float:
        blend = fit_blend(scores, ["margin"] * len(scores), y, languages)
        return nll(blend.logits(blend.normalized(scores), languages), y)

    both = loss([strong, weak])
    assert both <= loss([strong]) + 1e-6
    assert both <= loss([weak]) + 1e-6


def test_fallback_is_the_deepest_confident_code_above_an_uncertain_first(
    tiny_model: ICCSClassifier,
) -> None:
    proba = np.full((1, len(tiny_model.classes_)), 0.0)
    share = {"050221": 0.35, "050229": 0.30, "050231": 0.25}
    for code, p in share.items():
        proba[0, tiny_model.classes_.index(code)] = p
    others = [i for i, c in enumerate(tiny_model.classes_) if c not in share]
    proba[0, others] = 0.10 / len(others)
    (prediction,) = tiny_model.suggestions_from_proba(proba, top_k=3)
    first = prediction.suggestions[0]
    assert first.code == "050221" and not prediction.backed_off
    assert first.confidence == pytest.approx(0.35, abs=0.01)
    assert prediction.fallback is not None
    assert prediction.fallback.code == "05022"  # theft of personal property: 0.65
    assert prediction.fallback.confidence == pytest.approx(0.65, abs=0.01)


def test_cascade_lets_the_first_experts_decide_where_they_are_sure(taxonomy: Taxonomy) -> None:
    model = _fit_with_use(taxonomy, dev_step=2, cascade_experts=1)
    assert model.first_stage is not None
    probe = [t for t, _ in TINY_TEXTS]
    scores = model.expert_scores(probe)
    languages = model.languages(probe)
    np.testing.assert_allclose(
        model.predict_proba(probe), model.proba_from_scores(scores, languages), atol=1e-6
    )
    # with the gate shut every text goes through every expert: the full blend
    model.operating.cascade_threshold = 1.01
    np.testing.assert_allclose(
        model.predict_proba(probe), model.blend.proba(scores, languages), atol=1e-6
    )
    # with the gate open the lexical expert alone answers
    model.operating.cascade_threshold = 0.0
    np.testing.assert_allclose(
        model.predict_proba(probe), model.first_stage.proba(scores[:1], languages), atol=1e-6
    )


def test_nearest_neighbour_memory_recalls_training_wordings(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    texts, codes = tiny_training_rows(taxonomy)
    config = ClassifierConfig(
        embedders=["use-multilingual"],
        knn_embedder="use-multilingual",
        max_word_features=5000,
        max_char_features=8000,
    )
    model = ICCSClassifier(config).fit_experts(texts, codes)
    knn = model.experts[-1]
    assert knn.name == "knn:use-multilingual" and knn.kind == "margin"
    probe = [t for t, _ in TINY_TEXTS[:10]]
    scores = knn.scores([" ".join(t.lower().split()) for t in probe])
    assert scores.shape == (len(probe), len(model.classes_))
    # a training text is its own nearest neighbour: similarity 1 for its own class
    for row, (_, code) in zip(scores, TINY_TEXTS[:10], strict=True):
        assert row[model.classes_.index(code)] == pytest.approx(1.0, abs=1e-2)
    model.save(tmp_path / "bundle")
    loaded, _ = ICCSClassifier.load(tmp_path / "bundle")
    np.testing.assert_allclose(
        loaded.expert_scores(probe)[-1], model.expert_scores(probe)[-1], atol=1e-5
    )
