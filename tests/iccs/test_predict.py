"""`classify_texts`: one prediction per distinct model key, records in input order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from iccs.classifier import ICCSClassifier
from iccs.predict import classify_texts, model_key
from iccs.records import Versions

VERSIONS = Versions("iccs-classifier:tiny", "ICCS-1.0-2015")


class RowCounting:
    """The tiny model, counting the texts its probabilities are asked for."""

    def __init__(self, inner: ICCSClassifier) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def predict_proba(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        self.texts += texts
        return self.inner.predict_proba(texts, languages)


def test_texts_the_model_sees_alike_are_predicted_once(tiny_model: ICCSClassifier) -> None:
    texts = [
        "Robo con violencia de un teléfono celular",
        "common assault by beating",
        "ROBO CON VIOLENCIA DE UN TELEFONO  CELULAR",
        "  Common Assault by beating",
        "poss w/i to supply heroin",
        "possess with intent to supply heroin",
    ]
    counting = RowCounting(tiny_model)
    records = classify_texts(counting, texts, top_k=2, versions=VERSIONS)
    assert counting.texts == [texts[0], texts[1], texts[4]]  # the first spelling of each
    assert records[0] == records[2] and records[1] == records[3] and records[4] == records[5]
    assert records == classify_texts(tiny_model, texts[::-1], top_k=2, versions=VERSIONS)[::-1]


def test_the_language_is_part_of_the_key(tiny_model: ICCSClassifier) -> None:
    text = "common assault by beating"
    assert model_key(text) == (text, "en") == model_key(text.upper(), "en")
    counting = RowCounting(tiny_model)
    guessed, given = classify_texts(counting, [text, text], [None, "es"], versions=VERSIONS)
    assert len(counting.texts) == 2  # a client's language may choose another blend
    assert guessed.first.title == tiny_model.taxonomy.get(guessed.first.code).title("en")
    es_title = tiny_model.taxonomy.get(given.first.code).title("es")
    assert given.first.title == es_title and given.model_version == VERSIONS.model


def test_one_call_serves_several_widths(tiny_model: ICCSClassifier) -> None:
    texts = ["common assault by beating", "drink driving over the prescribed limit"]
    counting = RowCounting(tiny_model)
    mixed = classify_texts(counting, texts, top_k=[1, 3], versions=VERSIONS)
    assert len(counting.texts) == 2
    assert mixed[0] == classify_texts(tiny_model, texts[:1], top_k=1, versions=VERSIONS)[0]
    assert mixed[1] == classify_texts(tiny_model, texts[1:], top_k=3, versions=VERSIONS)[0]
    assert len(mixed[0].suggestions) == 1
