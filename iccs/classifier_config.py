"""What defines a classifier apart from its weights: hyperparameters and the operating point.

Both are saved in the bundle's config.json; kept apart from `iccs.classifier` so that reading
or validating a configuration needs none of the model code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

DECISIONS = ("specific", "backoff")


@dataclass
class ClassifierConfig:
    """Hyperparameters: everything that defines how a model is trained (saved in the bundle)."""

    embedders: list[str] = field(
        default_factory=lambda: ["use-multilingual", "e5-small-multilingual"]
    )
    lexical_model: str = "svm"  # "svm" (LinearSVC margins) or "logreg"
    word_ngram_max: int = 2  # 0: character n-grams only
    char_ngram_min: int = 2
    char_ngram_max: int = 5
    max_word_features: int = 60_000
    max_char_features: int = 120_000
    lexical_c: float = 0.5
    semantic_c: float = 20.0
    max_iter: int = 300
    prune_below: float = 1e-3  # lexical weights smaller than this are dropped from the bundle
    decision: str = "specific"  # "specific": most probable code first; "backoff": walk down
    backoff_threshold: float = 0.5
    seed: int = 13
    blend_weights: list[float] | None = None  # one per expert; None = fit on held-out data
    knn_embedder: str | None = "e5-small-multilingual"  # nearest-neighbour memory; None = off
    # > 0: the first N experts decide alone where they are sure (the rest are slower)
    cascade_experts: int = 2
    temperature: float | None = None  # None = fit on held-out data

    def __post_init__(self) -> None:
        if not 0.5 <= self.backoff_threshold < 1.0:
            raise ValueError("backoff_threshold must be in [0.5, 1): it keeps the walk unique")
        if self.lexical_model not in {"svm", "logreg"}:
            raise ValueError(f"unknown lexical_model {self.lexical_model!r}")
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}")
        self.embedders = [e for e in self.embedders if e]
        self.knn_embedder = self.knn_embedder or None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClassifierConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown classifier settings {sorted(unknown)}")
        return cls(**raw)


@dataclass
class OperatingPoint:
    """Where review starts: chosen after training, apart from the hyperparameters."""

    review_threshold: float = 0.8
    target_precision: float = 0.97
    fitted_on: str = "default"
    cascade_threshold: float = 1.01  # first-stage confidence that skips the later experts
