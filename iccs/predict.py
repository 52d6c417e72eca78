"""One path from texts to records: deduplicate on what the model sees, predict once, shape.

Every expert, the tag model and the decision memory see `normalize(text)`, and the blend is
chosen by the text's language (the caller's, else the guess from the normalised text): that
pair is the model's whole input, so texts that share it share one prediction. HTTP requests
(through the batcher), batch jobs, `iccs classify` and the Ray engine all call
`classify_texts`, so each gives the same record for the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from iccs.language import guess_language
from iccs.records import ClassificationRecord, Versions, record_from_prediction
from iccs.suggestions import Prediction
from iccs.text import normalize

ModelKey = tuple[str, str]  # (normalised text, language of the blend)


class Predictor(Protocol):
    """What turns texts into predictions: the classifier, or the classifier with a memory."""

    def predict_proba(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray: ...

    def suggestions_from_proba(self, class_proba: np.ndarray, top_k: int) -> list[Prediction]: ...

    def with_tags(
        self, predictions: list[Prediction], texts: Sequence[str]
    ) -> list[Prediction]: ...


def model_key(text: str, language: str | None = None) -> ModelKey:
    """What the model sees of a text: its normalised form and the language of its blend."""
    key = normalize(text)
    return key, language or guess_language(key)


def predictions(
    predictor: Predictor,
    texts: Sequence[str],
    languages: Sequence[str | None] | None,
    top_k: int | Sequence[int],
) -> list[Prediction]:
    """Ranked suggestions and tags per text, `top_k` (one, or one per text) suggestions each:
    one probability call, one shaping call per distinct `top_k`, one tag call."""
    if not texts:
        return []
    widths = [top_k] * len(texts) if isinstance(top_k, int) else list(top_k)
    proba = predictor.predict_proba(texts, languages)
    shaped: list[Prediction | None] = [None] * len(texts)
    for width in sorted(set(widths)):
        rows = [i for i, w in enumerate(widths) if w == width]
        for i, prediction in zip(
            rows, predictor.suggestions_from_proba(proba[rows], width), strict=True
        ):
            shaped[i] = prediction
    return predictor.with_tags([p for p in shaped if p is not None], texts)


def classify_texts(
    predictor: Predictor,
    texts: Sequence[str],
    languages: Sequence[str | None] | None = None,
    *,
    top_k: int | Sequence[int] = 3,
    versions: Versions,
) -> list[ClassificationRecord]:
    """One record per text, in input order; each distinct (model key, top_k) predicted once.

    `languages` (one per text, None to guess) choose the blend and the titles' language;
    `top_k` is one number or one per text (the batcher mixes requests).
    """
    widths = [top_k] * len(texts) if isinstance(top_k, int) else list(top_k)
    given = list(languages) if languages is not None else [None] * len(texts)
    if not (len(widths) == len(given) == len(texts)):
        raise ValueError("one language and one top_k per text")
    slots: dict[tuple[ModelKey, int], int] = {}
    firsts: list[int] = []  # the first text of each distinct (key, top_k)
    order: list[int] = []
    for i, (text, language, width) in enumerate(zip(texts, given, widths, strict=True)):
        slot = slots.setdefault((model_key(text, language), width), len(slots))
        if slot == len(firsts):
            firsts.append(i)
        order.append(slot)
    keys = list(slots)
    predicted = predictions(
        predictor,
        [texts[i] for i in firsts],
        [language for (_, language), _ in keys],
        [width for _, width in keys],
    )
    records = [
        record_from_prediction(prediction, versions, language)
        for ((_, language), _), prediction in zip(keys, predicted, strict=True)
    ]
    return [records[slot] for slot in order]
