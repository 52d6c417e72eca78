"""`iccs data validate`: the corpus checks that must hold before any model is trained on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iccs.hierarchy import NONE_CODE
from iccs.taxonomy import load_taxonomy
from iccs.text import normalize, tokens
from training.corpus import ORIGINS, SPLITS, load_corpus, test_split_fingerprint
from training.corpus_tags import check_tags, load_tags


@dataclass(frozen=True)
class Minimums:
    """The corpus issue's required counts."""

    rows: int = 22_000
    real: int = 13_000
    real_jurisdictions: int = 12
    real_english: int = 5000
    real_spanish: int = 2000
    real_korean: int = 4500
    synthetic_english: int = 2000
    spanish: int = 1500
    korean: int = 500
    none: int = 200
    leaf_share_with_5: float = 0.90
    test_rows: int = 2000  # the test split is frozen: new rows never join it


@dataclass
class ValidationReport:
    failures: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def validate_corpus(
    path: Path,
    minimums: Minimums | None = None,
    fingerprint_file: Path | None = None,
    tags_file: Path | None = None,
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
        "rows": (len(frame), minimums.rows),
        "real rows": (count(origin == "real"), minimums.real),
        "jurisdictions with real rows": (
            frame.loc[origin == "real", "jurisdiction"].nunique(),
            minimums.real_jurisdictions,
        ),
        "real Spanish texts": (count((lang == "es") & (origin == "real")), minimums.real_spanish),
        "real Korean texts": (count((lang == "ko") & (origin == "real")), minimums.real_korean),
        "NONE examples": (count(frame["iccs_code"] == NONE_CODE), minimums.none),
        "leaf codes with 5 examples": (
            leaf_with_5,
            round(minimums.leaf_share_with_5 * len(leaves)),
        ),
        "test rows": (count(frame["split"] == "test"), minimums.test_rows),
    }
    for name, (have, need) in checks.items():
        if have < need:
            fail(f"{name}: {have} < required {need}")
    test = frame[frame["split"] == "test"]
    if len(test) and (test["origin"] == "real").mean() <= 0.5:
        fail("the test split is not predominantly real texts")

    _check_folds(frame, fail)

    fingerprint = test_split_fingerprint(frame)
    if fingerprint_file is not None and fingerprint_file.is_file():
        frozen = fingerprint_file.read_text().split()[0]
        if frozen != fingerprint:
            fail(
                f"the frozen test split changed ({fingerprint_file} says {frozen[:12]}..., "
                f"the corpus gives {fingerprint[:12]}...)"
            )

    agreement_file = path.parent / "agreement_summary.json"
    kappa, kappa_by_language = None, {}
    if agreement_file.is_file():
        agreement = json.loads(agreement_file.read_text())
        kappa = agreement.get("cohen_kappa")
        kappa_by_language = {"en": kappa} if kappa is not None else {}
        for language, summary in agreement.get("round3", {}).get("by_language", {}).items():
            kappa_by_language[f"{language}_round3"] = summary.get("cohen_kappa")
            if language != "en":
                kappa_by_language[language] = summary.get("cohen_kappa")
    for language in ("en", "es", "ko"):
        if kappa_by_language.get(language) is None:
            fail(f"no double-coding agreement (kappa) for {language}")
    real = frame[origin == "real"]
    report.counts = {
        "rows": len(frame),
        "by_origin": frame["origin"].value_counts().sort_index().to_dict(),
        "by_language": frame["language"].value_counts().sort_index().to_dict(),
        "by_split": frame["split"].value_counts().sort_index().to_dict(),
        "none": checks["NONE examples"][0],
        "leaf_codes_with_5": leaf_with_5,
        "leaf_codes_total": len(leaves),
        "kappa": kappa,
        "kappa_by_language": kappa_by_language,
        "real_by_language": real["language"].value_counts().sort_index().to_dict(),
        "by_jurisdiction": {
            str(j): {
                "rows": len(part),
                "real": int((part["origin"] == "real").sum()),
                "by_language": part["language"].value_counts().sort_index().to_dict(),
                "by_origin": part["origin"].value_counts().sort_index().to_dict(),
            }
            for j, part in frame.groupby("jurisdiction")
        },
        "folds": frame.loc[frame["fold"] != "", "fold"].value_counts().sort_index().to_dict(),
    }
    if tags_file is not None and tags_file.is_file():
        tag_failures, report.counts["tags"] = check_tags(frame, load_tags(tags_file))
        report.failures.extend(tag_failures)
    return report


def _check_folds(frame: pd.DataFrame, fail: Callable[[str], object]) -> None:
    """Every real row has a jurisdiction and a fold; a text (or its variants: same normalised
    key) never sits in two folds of one jurisdiction."""
    real = frame["origin"] == "real"
    for column in ("jurisdiction", "fold"):
        missing = real & frame[column].isin(["", "none"])
        if missing.any():
            fail(
                f"{int(missing.sum())} real rows have no {column}, "
                f"e.g. {frame.loc[missing, 'id'].tolist()[:3]}"
            )
    folded = frame[real & (frame["fold"] != "")]
    words = folded["text"].map(lambda t: " ".join(tokens(t)))  # punctuation aside
    spread = folded.groupby([words, folded["jurisdiction"]])["fold"].nunique()
    crossing = spread[spread > 1]
    if len(crossing):
        fail(
            f"{len(crossing)} texts cross folds inside a jurisdiction, "
            f"e.g. {crossing.index[:3].tolist()}"
        )
