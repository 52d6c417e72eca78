"""`iccs data validate`: the corpus checks that must hold before any model is trained on it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iccs.hierarchy import NONE_CODE
from iccs.taxonomy import load_taxonomy
from iccs.text import normalize
from training.corpus import ORIGINS, SPLITS, load_corpus, test_split_fingerprint


@dataclass(frozen=True)
class Minimums:
    """The corpus issue's required counts."""

    real_english: int = 5000
    synthetic_english: int = 2000
    spanish: int = 1500
    korean: int = 500
    none: int = 200
    leaf_share_with_5: float = 0.90
    test_share: float = 0.15


@dataclass
class ValidationReport:
    failures: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def validate_corpus(
    path: Path, minimums: Minimums | None = None, fingerprint_file: Path | None = None
) -> ValidationReport:
    minimums = minimums or Minimums()
    report = ValidationReport()
    fail = report.failures.append
    frame = load_corpus(path)
    taxonomy = load_taxonomy()

    bad_codes = sorted({c for c in frame["iccs_code"] if c != NONE_CODE and c not in taxonomy})
    if bad_codes:
        fail(f"codes not in the taxonomy: {bad_codes[:10]}")
    non_canonical = sorted(
        {
            c
            for c in frame["iccs_code"]
            if c != NONE_CODE and c in taxonomy and taxonomy.normalize(c) != c
        }
    )
    if non_canonical:
        fail(f"codes not in canonical form: {non_canonical[:10]}")
    if frame["id"].duplicated().any():
        fail(f"duplicated ids: {frame.loc[frame['id'].duplicated(), 'id'].tolist()[:10]}")
    for column, allowed in (("origin", ORIGINS), ("split", SPLITS)):
        wrong = sorted(set(frame[column]) - set(allowed))
        if wrong:
            fail(f"unknown {column} values: {wrong}")
    if (frame["text"].str.strip() == "").any():
        fail("empty texts")

    key = frame["text"].map(normalize)
    labels_per_text = frame.groupby(key)["iccs_code"].nunique()
    conflicting = labels_per_text[labels_per_text > 1]
    if len(conflicting):
        fail(
            f"{len(conflicting)} identical texts carry different labels, e.g. "
            f"{conflicting.index[:3].tolist()}"
        )
    splits_per_text = frame.groupby(key)["split"].nunique()
    crossing = splits_per_text[splits_per_text > 1]
    if len(crossing):
        fail(
            f"{len(crossing)} texts appear in more than one split, e.g. "
            f"{crossing.index[:3].tolist()}"
        )

    leaves = [c.code for c in taxonomy.leaves()]
    per_code = frame["iccs_code"].value_counts()
    leaf_with_5 = sum(1 for c in leaves if per_code.get(c, 0) >= 5)
    sections = {c[:2] for c in frame["iccs_code"] if c != NONE_CODE}
    missing_sections = sorted({s.code for s in taxonomy.sections()} - sections)
    if missing_sections:
        fail(f"sections without examples: {missing_sections}")

    def count(mask: pd.Series) -> int:
        return int(mask.sum())

    lang, origin = frame["language"], frame["origin"]
    checks = {
        "real English texts": (count((lang == "en") & (origin == "real")), minimums.real_english),
        "synthetic English texts": (
            count((lang == "en") & (origin == "synthetic")),
            minimums.synthetic_english,
        ),
        "Spanish texts (not taxonomy)": (
            count((lang == "es") & (origin != "taxonomy")),
            minimums.spanish,
        ),
        "Korean texts": (count(lang == "ko"), minimums.korean),
        "NONE examples": (count(frame["iccs_code"] == NONE_CODE), minimums.none),
        "leaf codes with 5 examples": (
            leaf_with_5,
            round(minimums.leaf_share_with_5 * len(leaves)),
        ),
        "test rows": (count(frame["split"] == "test"), round(minimums.test_share * len(frame))),
    }
    for name, (have, need) in checks.items():
        if have < need:
            fail(f"{name}: {have} < required {need}")
    test = frame[frame["split"] == "test"]
    if len(test) and (test["origin"] == "real").mean() <= 0.5:
        fail("the test split is not predominantly real texts")

    fingerprint = test_split_fingerprint(frame)
    if fingerprint_file is not None and fingerprint_file.is_file():
        frozen = fingerprint_file.read_text().split()[0]
        if frozen != fingerprint:
            fail(
                f"the frozen test split changed ({fingerprint_file} says {frozen[:12]}..., "
                f"the corpus gives {fingerprint[:12]}...)"
            )

    agreement_file = path.parent / "agreement_summary.json"
    kappa = None
    if agreement_file.is_file():
        kappa = json.loads(agreement_file.read_text()).get("cohen_kappa")
    report.counts = {
        "rows": len(frame),
        "by_origin": frame["origin"].value_counts().sort_index().to_dict(),
        "by_language": frame["language"].value_counts().sort_index().to_dict(),
        "by_split": frame["split"].value_counts().sort_index().to_dict(),
        "none": checks["NONE examples"][0],
        "leaf_codes_with_5": leaf_with_5,
        "leaf_codes_total": len(leaves),
        "kappa": kappa,
    }
    return report
