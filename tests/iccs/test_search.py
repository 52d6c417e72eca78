"""Relevance search over the taxonomy, its Korean and legal terms and the corpus's texts."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from iccs.paths import taxonomy_dir
from iccs.search import analyze, build_index, load_search_index, search
from iccs.taxonomy import load_taxonomy


def codes(query: str, limit: int = 5) -> list[str]:
    return [hit.code for hit in search(query, limit=limit)]


@pytest.mark.parametrize(
    ("query", "prefix"),
    [
        ("shoplifting", "050231"),  # en
        ("theft of a motor vehicle", "05021"),
        ("burgl", "0501"),  # a word cut short
        ("robo con violencia", "0401"),  # es: the README's example
        ("ROBOS", "0401"),  # case, plural
        ("violación", "03011"),  # accents
        ("hurto en tienda", "050231"),
        ("폭행", "02011"),  # ko
        ("사기죄로 고소", "0701"),  # ko with particles attached
        ("절도", "050"),
    ],
)
def test_the_best_hit_is_the_expected_code(query: str, prefix: str) -> None:
    assert codes(query)[0].startswith(prefix), codes(query)


def test_robbery_outranks_everything_for_robo_con_violencia() -> None:
    hits = search("robo con violencia", limit=10, language="es")
    assert [h.code[:4] for h in hits[:2]] == ["0401", "0401"]
    assert hits[0].title == "Robo" and hits[0].score == 1.0
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_a_code_finds_itself_and_empty_queries_find_nothing() -> None:
    assert codes("020111")[0] == "020111"
    assert codes("ICCS020111")[0] == "020111"
    assert search("   ") == [] and search("...") == []


def test_titles_in_the_asked_language() -> None:
    assert search("shoplifting", language="es")[0].title == load_taxonomy().get("050231").title_es
    korean = search("shoplifting", language="ko")[0].title
    assert korean and korean != load_taxonomy().get("050231").title_en


def test_korean_is_indexed_as_character_bigrams() -> None:
    assert analyze("사기죄로") == ["사기", "기죄", "죄로"]
    assert analyze("Robos con Violencia") == ["robo", "con", "violencia"]


def test_corpus_texts_count_but_the_test_split_stays_out(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.csv"
    with corpus.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "language", "iccs_code", "split"])
        writer.writerow(["a", "zorblax offence", "en", "050231", "train"])
        writer.writerow(["b", "quuxwidget offence", "en", "0101", "test"])
    index = build_index(load_taxonomy(), taxonomy_dir(), corpus)
    assert index.search("zorblax")[0].code == "050231"
    assert index.search("zorblax")[0].matched == "zorblax offence"
    assert index.search("quuxwidget") == []
    without = build_index(load_taxonomy(), taxonomy_dir(), tmp_path / "missing.csv")
    assert without.search("shoplifting")[0].code == "050231"


def test_the_index_is_built_once() -> None:
    assert load_search_index() is load_search_index()
