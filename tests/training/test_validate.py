from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from iccs.cli import _register_plugins, app
from iccs.paths import corpus_path
from training.corpus import load_corpus
from training.validate import Minimums, validate_corpus

runner = CliRunner()
_register_plugins()
_NO_MINIMUMS = Minimums(**{name: 0 for name in Minimums.__dataclass_fields__})


def test_the_project_corpus_passes_and_prints_counts() -> None:
    result = runner.invoke(app, ["data", "validate"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output.strip().splitlines()[-1])
    assert counts["rows"] >= 22_000
    assert counts["by_origin"]["real"] >= 13_000
    assert counts["real_by_language"]["ko"] >= 4500
    assert counts["real_by_language"]["es"] >= 2000
    real_jurisdictions = [j for j, c in counts["by_jurisdiction"].items() if c["real"]]
    assert len(real_jurisdictions) >= 12
    assert counts["none"] >= 200
    assert counts["leaf_codes_with_5"] >= 0.9 * counts["leaf_codes_total"]
    assert counts["by_split"]["test"] >= 2000
    for language in ("en", "es", "ko"):
        assert 0.6 < counts["kappa_by_language"][language] <= 1.0
    assert counts["folds"]  # one per jurisdiction and source
    cyber = counts["tags"]["cyber"]
    cyber_related = sum(sum(cyber[v].values()) for v in ("cyber_dependent", "cyber_enabled"))
    assert cyber_related >= 400
    assert all(cyber["cyber_enabled"].get(language) for language in ("en", "es", "ko"))


def _tags(rows: list[dict[str, str]], **changed: dict[str, str]) -> list[dict[str, str]]:
    """One all-unknown tag row per corpus row; `changed` overrides values by row id."""
    tags = []
    for r in rows:
        tag_row = {"id": r["id"], "text": r["text"], "cyber": "unknown", "attempt": "unknown"}
        tag_row |= {"weapon": "unknown", "context": "unknown", "tag_labeller": "test"}
        tags.append(tag_row | changed.get(r["id"], {}))
    return tags


def test_tags_are_checked_against_the_corpus_and_counted(tmp_path: Path) -> None:
    rows = [_row(1, "hacking a server", "09031"), _row(2, "stabbed the victim", "020111")]
    tags_file = tmp_path / "tags.csv"
    good = _tags(rows, r1={"cyber": "cyber_dependent"}, r2={"weapon": "knife_or_sharp"})
    pd.DataFrame(good).to_csv(tags_file, index=False)
    report = validate_corpus(_tiny_corpus(tmp_path, rows), _NO_MINIMUMS, tags_file=tags_file)
    assert not [f for f in report.failures if f.startswith("tags:")]  # other checks need more rows
    assert report.counts["tags"]["cyber"]["cyber_dependent"] == {"en": 1}
    assert report.counts["tags"]["weapon"]["knife_or_sharp"] == {"en": 1}
    assert report.counts["tags"]["tag_labeller"] == {"test": 2}

    bad = _tags(rows, r1={"cyber": "online"}, r2={"text": "an older wording"})
    bad.append(bad[0] | {"id": "r9"})  # not in the corpus
    bad.append(bad[0])  # tagged twice
    pd.DataFrame(bad).to_csv(tags_file, index=False)
    rows.append(_row(3, "theft of a car", "050211"))  # not tagged
    report = validate_corpus(_tiny_corpus(tmp_path, rows), _NO_MINIMUMS, tags_file=tags_file)
    joined = " | ".join(report.failures)
    for reason in (
        "unknown cyber values ['online']",
        "text differs from the corpus",
        "ids not in the corpus",
        "tagged twice",
        "corpus rows without tags",
    ):
        assert reason in joined


def test_a_text_in_two_folds_of_one_jurisdiction_fails(tmp_path: Path) -> None:
    rows = [
        _row(1, "theft of a bicycle", "050229") | {"jurisdiction": "KR", "fold": "KR:a"},
        _row(2, "Theft of a bicycle.", "050229") | {"jurisdiction": "KR", "fold": "KR:b"},
        _row(3, "theft of a car", "050211") | {"jurisdiction": "PE", "fold": ""},
    ]
    report = validate_corpus(_tiny_corpus(tmp_path, rows), _NO_MINIMUMS)
    joined = " | ".join(report.failures)
    assert "cross folds inside a jurisdiction" in joined
    assert "real rows have no fold" in joined


def _tiny_corpus(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "corpus.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(i: int, text: str, code: str, split: str = "train") -> dict[str, str]:
    return {
        "id": f"r{i}",
        "text": text,
        "language": "en",
        "iccs_code": code,
        "origin": "real",
        "source": "test",
        "labeller": "test",
        "split": split,
    }


def test_broken_corpus_fails_with_reasons(tmp_path: Path) -> None:
    path = _tiny_corpus(
        tmp_path,
        [
            _row(1, "theft of a bicycle", "050229"),
            _row(2, "Theft of a bicycle", "0502", "test"),  # same text: other label, other split
            _row(3, "made up", "999999"),
        ],
    )
    report = validate_corpus(path, _NO_MINIMUMS)
    assert not report.ok
    joined = " | ".join(report.failures)
    assert "999999" in joined
    assert "different labels" in joined
    assert "more than one split" in joined


def test_cli_exits_non_zero_on_failure(tmp_path: Path) -> None:
    path = _tiny_corpus(tmp_path, [_row(1, "theft", "050229")])
    result = runner.invoke(app, ["data", "validate", "--corpus", str(path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert json.loads(result.output.strip().splitlines()[-1])["rows"] == 1


def test_changed_test_split_is_detected(tmp_path: Path) -> None:
    frame = load_corpus(corpus_path())
    test_row = frame.index[frame["split"] == "test"][0]
    frame.loc[test_row, "iccs_code"] = (
        "0101" if frame.loc[test_row, "iccs_code"] != "0101" else "0102"
    )
    path = tmp_path / "corpus.csv"
    frame.to_csv(path, index=False)
    fingerprint = corpus_path().parent / "test_split.sha256"
    report = validate_corpus(path, fingerprint_file=fingerprint)
    assert any("frozen test split changed" in f for f in report.failures)
