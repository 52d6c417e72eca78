"""The decision memory: remembered decisions move predictions, unrelated texts stay put."""

from __future__ import annotations

import numpy as np

from iccs.classifier import ICCSClassifier
from iccs.memory import (
    DecisionMemory,
    MemoryRow,
    MixingParams,
    RememberingClassifier,
    fit_mixing,
    mix_neighbours,
)
from iccs.text import normalize

# A national title the tiny model has never seen; analysts say it is an online fraud (07011).
UNSEEN = "Estafa informática mediante transferencia no consentida"


def test_an_empty_memory_changes_nothing(tiny_model: ICCSClassifier) -> None:
    texts = ["theft of a pedal cycle", UNSEEN, "음주운전"]
    remembering = RememberingClassifier(tiny_model, DecisionMemory(tiny_model))
    assert np.allclose(remembering.predict_proba(texts), tiny_model.predict_proba(texts))


def test_a_remembered_decision_is_used_for_the_same_and_similar_wordings(
    tiny_model: ICCSClassifier,
) -> None:
    before = tiny_model.suggest([UNSEEN])[0]
    assert before.suggestions[0].code != "07011"
    memory = DecisionMemory(tiny_model, [MemoryRow(UNSEEN, "ICCS07011")])
    remembering = RememberingClassifier(tiny_model, memory)
    same, similar = remembering.suggest(
        [UNSEEN.upper() + "  ", "Estafa informática mediante transferencia bancaria"]
    )
    assert same.suggestions[0].code == "07011"
    assert same.suggestions[0].confidence > 0.9 and not same.needs_review
    assert similar.suggestions[0].code == "07011"
    assert similar.suggestions[0].confidence < same.suggestions[0].confidence


def test_unrelated_texts_keep_the_models_answer(tiny_model: ICCSClassifier) -> None:
    memory = DecisionMemory(tiny_model, [MemoryRow(UNSEEN, "07011")])
    texts = ["drink driving over the prescribed limit", "possession of cannabis"]
    mixed = RememberingClassifier(tiny_model, memory).predict_proba(texts)
    alone = tiny_model.predict_proba(texts)
    assert (mixed.argmax(1) == alone.argmax(1)).all()
    assert np.abs(mixed - alone).max() < 0.05


def test_conflicting_decisions_share_the_memory_weight(tiny_model: ICCSClassifier) -> None:
    memory = DecisionMemory(tiny_model, [MemoryRow(UNSEEN, "07011"), MemoryRow(UNSEEN, "0502")])
    proba = RememberingClassifier(tiny_model, memory).predict_proba([UNSEEN])[0]
    index = {c: i for i, c in enumerate(tiny_model.classes_)}
    assert abs(proba[index["07011"]] - proba[index["0502"]]) < 0.05
    assert proba[index["07011"]] > 0.3


def test_codes_map_to_the_deepest_class_the_model_knows(tiny_model: ICCSClassifier) -> None:
    memory = DecisionMemory(tiny_model)
    index = {c: i for i, c in enumerate(tiny_model.classes_)}
    assert memory.class_of("050229") == index["050229"]
    assert memory.class_of("NONE") == index["NONE"]
    assert memory.class_of("not a code") is None
    assert memory.class_of("ICCS20111") == index["020111"]
    unmodelled = next(
        c.code
        for c in tiny_model.taxonomy
        if not any(a in index for a in (c.code, *tiny_model.taxonomy.ancestors(c.code)))
    )
    assert memory.class_of(unmodelled) is None
    assert memory.replace([MemoryRow("x", "999999"), MemoryRow(" ", "0501")]) == 0


def test_neighbours_are_the_most_similar_rows_in_order(tiny_model: ICCSClassifier) -> None:
    rows = [MemoryRow(f"theft number {i} of item {i * 7}", "0502") for i in range(30)]
    memory = DecisionMemory(tiny_model, rows, MixingParams(neighbours=3))
    sims, labels = memory.neighbours([normalize("theft number 12 of item 84")])
    assert sims[0, 0] > 0.99 and (np.diff(sims[0]) <= 0).all()
    assert (labels == tiny_model.classes_.index("0502")).all()
    few = DecisionMemory(tiny_model, rows[:1], MixingParams(neighbours=3))
    sims, labels = few.neighbours(["anything"])
    assert list(labels[0, 1:]) == [-1, -1] and list(sims[0, 1:]) == [0.0, 0.0]


def test_fit_mixing_trusts_a_memory_that_is_right_and_not_one_that_is_wrong() -> None:
    rng = np.random.default_rng(0)
    n, classes = 400, 6
    proba = rng.dirichlet(np.ones(classes), size=n)
    gold = rng.integers(0, classes, size=n)
    sims = np.sort(rng.uniform(0.5, 1.0, size=(n, 3)), axis=1)[:, ::-1]
    right = np.repeat(gold[:, None], 3, axis=1)
    wrong = (right + 1) % classes
    trusted = fit_mixing(proba, sims, right, gold, neighbours=3)
    distrusted = fit_mixing(proba, sims, wrong, gold, neighbours=3)
    rows = np.arange(n)
    assert mix_neighbours(proba, sims, right, trusted)[rows, gold].mean() > 0.8
    assert distrusted.weight(np.array([0.9]))[0] < trusted.weight(np.array([0.9]))[0]
    assert distrusted.weight(np.array([0.9]))[0] < 0.3
