"""Turning calibrated class probabilities into ranked suggestions (the `Prediction` shape).

Kept apart from the classifier's fitting and scoring: this is the one place that decides the
first suggestion, its alternatives, the broader fallback and the review flag, for the model
alone and for the model with a decision memory (`iccs.memory`) alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from iccs.codes import code_level, code_title
from iccs.hierarchy import NONE_CODE
from iccs.tags import TagValue
from iccs.taxonomy import Taxonomy

if TYPE_CHECKING:
    from iccs.classifier import ICCSClassifier


@dataclass(frozen=True)
class Suggestion:
    code: str
    title: str
    level: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    suggestions: list[Suggestion]
    needs_review: bool
    backed_off: bool = False  # the first suggestion is the back-off walk's broader code
    fallback: Suggestion | None = None  # the broader code a reviewer may settle for
    tags: tuple[TagValue, ...] = ()  # one value per tag; empty when the bundle has no tag model


def suggestions_from_proba(
    model: ICCSClassifier, class_proba: np.ndarray, top_k: int
) -> list[Prediction]:
    """One prediction per row of `class_proba` (columns = `model.classes_`)."""
    h = model.hierarchy
    subtree = h.subtree_proba(class_proba)
    spread = h.node_proba(class_proba) if model.config.decision == "backoff" else subtree
    return [
        _prediction(model, class_proba[i], subtree[i], spread[i], top_k)
        for i in range(len(class_proba))
    ]


def _prediction(
    model: ICCSClassifier,
    proba: np.ndarray,
    subtree: np.ndarray,
    spread: np.ndarray,
    top_k: int,
) -> Prediction:
    h, taxonomy = model.hierarchy, model.taxonomy
    walk = h.decide(spread, model.config.backoff_threshold)
    order = np.argsort(-proba, kind="stable")
    if model.config.decision == "backoff":
        first, first_conf, backed_off = walk.code, walk.confidence, walk.backed_off
    else:
        first = model.classes_[order[0]]
        first_conf, backed_off = float(subtree[h.class_node[order[0]]]), False
    chosen = {first: first_conf}
    above = set(taxonomy.ancestors(first)) if first != NONE_CODE else set()
    for i in order:
        if len(chosen) >= top_k:
            break
        code = model.classes_[i]
        if code not in above:
            chosen.setdefault(code, float(subtree[h.class_node[i]]))
    # alternatives by confidence; the first stays first (most probable exact code)
    ranked = [(first, first_conf), *sorted(list(chosen.items())[1:], key=lambda kv: -kv[1])]
    suggestions = [_suggestion(taxonomy, c, p) for c, p in ranked]
    fallback = None
    if walk.code != first and walk.backed_off and walk.code in above:
        fallback = _suggestion(taxonomy, walk.code, walk.confidence)
    needs_review = first_conf < model.operating.review_threshold or backed_off or first == NONE_CODE
    return Prediction(suggestions, bool(needs_review), bool(backed_off), fallback)


def _suggestion(taxonomy: Taxonomy, code: str, confidence: float) -> Suggestion:
    return Suggestion(
        code=code,
        title=code_title(taxonomy, code),
        level=code_level(taxonomy, code),
        confidence=round(min(confidence, 1.0), 4),
    )
