from __future__ import annotations

import csv
from pathlib import Path

import pytest

from training.corpus_tags import TAGS_FILE
from training.data_prep.tagged_sources import FOLD, tagged_rows, write_tags

SOURCE_COLUMNS = ["text", "language", "iccs_code", "kind", "jurisdiction"]
TAGS = ["cyber", "attempt", "weapon", "context"]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _source_row(text: str, language: str, code: str, cyber: str) -> dict[str, str]:
    return {
        "text": text,
        "language": language,
        "iccs_code": code,
        "kind": "narrative",
        "jurisdiction": "",
        "cyber": cyber,
        "attempt": "completed",
        "weapon": "unknown",
        "context": "unknown",
    }


def test_tagged_source_rows_get_ids_fold_and_tags(tmp_path: Path) -> None:
    _write(
        tmp_path / "cyber_texts.csv",
        [
            _source_row("server files encrypted by ransomware", "en", "090322", "cyber_dependent"),
            _source_row("phishing text emptied the bank account", "en", "070112", "cyber_enabled"),
            _source_row("랜섬웨어로 서버가 암호화됨", "ko", "090322", "cyber_dependent"),
        ],
    )
    rows, tags = tagged_rows(tmp_path)
    assert [r["id"] for r in rows] == ["cy-en-00001", "cy-en-00002", "cy-ko-00001"]
    assert {r["fold"] for r in rows} == {FOLD}
    assert {r["origin"] for r in rows} == {"synthetic"}
    assert tags["cy-en-00002"]["cyber"] == "cyber_enabled"
    assert tags["cy-ko-00001"]["text"] == "랜섬웨어로 서버가 암호화됨"


def test_a_tag_outside_the_rules_stops_the_build(tmp_path: Path) -> None:
    _write(tmp_path / "cyber_texts.csv", [_source_row("hacked", "en", "09031", "online")])
    with pytest.raises(ValueError, match="cyber='online'"):
        tagged_rows(tmp_path)


def test_tags_follow_the_corpus(tmp_path: Path) -> None:
    earlier = {"id": "old-1", "text": "theft of a bicycle", "tag_labeller": "agent-reviewed"}
    earlier |= {"cyber": "not_cyber", "attempt": "unknown", "weapon": "unknown"}
    earlier["context"] = "unknown"
    dropped = earlier | {"id": "gone-1", "text": "no longer in the corpus"}
    _write(tmp_path / TAGS_FILE, [earlier, dropped])
    source = {"id": "cy-en-00001", "text": "hacked", "tag_labeller": "author-agent"}
    source |= dict.fromkeys(TAGS, "unknown") | {"cyber": "cyber_dependent"}
    kept = [{"id": "cy-en-00001"}, {"id": "old-1"}, {"id": "new-1"}]

    write_tags(tmp_path, kept, {"cy-en-00001": source})

    with (tmp_path / TAGS_FILE).open(encoding="utf-8") as f:
        written = {r["id"]: r for r in csv.DictReader(f)}
    assert list(written) == ["cy-en-00001", "old-1"]  # new-1 has no tags yet; gone-1 is dropped
    assert written["cy-en-00001"]["cyber"] == "cyber_dependent"
    assert written["old-1"]["tag_labeller"] == "agent-reviewed"
