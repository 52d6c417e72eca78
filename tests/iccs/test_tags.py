"""The tag model: scikit-learn contract, calibration, persistence, and its place in a bundle."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from iccs.bulk import BulkJob, LocalSuggester, run_bulk
from iccs.bundle import BundleError, load_bundle
from iccs.classifier import ICCSClassifier
from iccs.tags import TAGS, TagConfig, TagError, TagPredictor, check_value, fit_temperature
from tests.conftest import TINY_TEXTS, fit_tiny_tagger, tiny_tag_rows


def test_probabilities_cover_every_tag_and_sum_to_one(tiny_model: ICCSClassifier) -> None:
    tagger = tiny_model.tagger
    assert tagger is not None and tagger.tags == list(TAGS)
    proba = tagger.predict_proba(["stabbed his wife with a knife", "hacked an email account"])
    for tag, p in proba.items():
        assert p.shape == (2, len(tagger.classes_[tag]))
        assert np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()
        assert set(tagger.classes_[tag]) <= set(TAGS[tag])


def test_learns_its_labels_and_says_unknown_where_the_labels_do(
    tiny_model: ICCSClassifier,
) -> None:
    tagger = tiny_model.tagger
    assert tagger is not None
    texts, labels = tiny_tag_rows()
    predicted = tagger.predict(texts)
    for index, tag in enumerate(TAGS):
        said = [row[index].value for row in predicted]
        assert [row[index].tag for row in predicted] == [tag] * len(texts)
        right = np.mean([s == g for s, g in zip(said, labels[tag], strict=True)])
        assert right >= 0.8, tag  # trained on these texts: a sanity floor
    assert "unknown" in {row[3].value for row in predicted}  # an allowed answer
    assert all(0.0 < value.confidence <= 1.0 for row in predicted for value in row)


def test_temperature_softens_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 2000)
    logits = rng.normal(size=(2000, 3))
    logits[np.arange(2000), gold] += 1.0
    assert fit_temperature(logits * 5, gold) > 3  # the logits were 5x too sharp
    assert 0.7 < fit_temperature(logits, gold) < 1.4


def test_unknown_tags_and_values_are_refused() -> None:
    assert check_value("weapon", "firearm") == "firearm"
    with pytest.raises(TagError, match="unknown value"):
        check_value("weapon", "spoon")
    with pytest.raises(TagError, match="unknown tag"):
        check_value("colour", "red")
    with pytest.raises(TagError):
        TagPredictor().fit(["a text"], {"cyber": ["sometimes"]})


def test_sentence_vectors_can_join_the_character_ngrams(tmp_path: Path) -> None:
    texts, labels = tiny_tag_rows()
    config = TagConfig(
        max_features=4000, calibration_share=0.3, embedder="use-multilingual", word_ngram_max=0
    )
    tagger = TagPredictor(config).fit(texts, labels)
    assert tagger._coef.shape[0] == len(tagger.vectorizer.vocabulary_) + 512  # n-grams + USE
    tagger.save(tmp_path / "tags")
    loaded, _ = TagPredictor.load(tmp_path / "tags")
    assert loaded.config.embedder == "use-multilingual"
    for tag, p in tagger.predict_proba(texts[:6]).items():
        assert np.allclose(p, loaded.predict_proba(texts[:6])[tag], atol=1e-5)


def test_save_and_load_give_the_same_answers(tmp_path: Path) -> None:
    tagger = fit_tiny_tagger()
    tagger.save(tmp_path / "tags", {"labels": "tiny"})
    loaded, metadata = TagPredictor.load(tmp_path / "tags")
    texts = [t for t, _ in TINY_TEXTS[:8]]
    for tag, p in tagger.predict_proba(texts).items():
        assert np.allclose(p, loaded.predict_proba(texts)[tag], atol=1e-6)
    assert loaded.temperatures == tagger.temperatures and metadata == {"labels": "tiny"}


def test_bundle_loads_its_tag_model_and_bundles_without_one_still_load(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    model, metadata = load_bundle(tiny_bundle)
    assert model.tagger is not None and "tags" in metadata
    tagged = model.suggest(["common assault by beating"])[0]
    assert [t.tag for t in tagged.tags] == list(TAGS)

    bare = tmp_path / "iccs-classifier" / "bare"
    shutil.copytree(tiny_bundle, bare)
    shutil.rmtree(bare / "tags")
    model, metadata = load_bundle(bare)
    assert model.tagger is None and "tags" not in metadata
    assert model.suggest(["common assault by beating"])[0].tags == ()

    (bare / "tags").mkdir()
    (bare / "tags" / "config.json").write_text("{}")
    with pytest.raises(BundleError, match="tag model"):
        load_bundle(bare)


def test_the_batched_path_gives_the_same_tags_as_suggest(tiny_model: ICCSClassifier) -> None:
    texts = [t for t, _ in TINY_TEXTS[:6]]
    proba = tiny_model.predict_proba(texts)
    batched = tiny_model.with_tags(tiny_model.suggestions_from_proba(proba, 3), texts)
    assert [p.tags for p in batched] == [p.tags for p in tiny_model.suggest(texts)]


def test_bulk_outputs_carry_the_tags(tmp_path: Path, tiny_model: ICCSClassifier) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,stabbed the victim with a knife\n2,\n3,ransomware attack\n")
    for output in ("out.jsonl", "out.csv", "out.parquet"):
        job = BulkJob(input=source, output=tmp_path / output, model_version="m:1", top_k=1)
        run_bulk(job, LocalSuggester(tiny_model))
    expected = [t.value for t in tiny_model.suggest(["stabbed the victim with a knife"])[0].tags]
    with (tmp_path / "out.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [f"tag_{tag}" for tag in TAGS]
    assert [rows[0][c] for c in columns] == expected
    assert [rows[1][c] for c in columns] == ["", "", "", ""]  # rejected row: no tags
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [table[0][c] for c in columns] == expected and table[1]["tag_cyber"] is None
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [t["value"] for t in records[0]["tags"]] == expected and records[1]["tags"] == []


def test_rare_values_weigh_more_and_the_average_row_still_weighs_one() -> None:
    from iccs.tags import TagConfig, _class_weights

    gold = np.array(["not_cyber"] * 90 + ["cyber_enabled"] * 10)
    weights = _class_weights(gold, "sqrt")
    assert isinstance(weights, dict)
    assert weights["cyber_enabled"] == pytest.approx(3 * weights["not_cyber"])
    assert (90 * weights["not_cyber"] + 10 * weights["cyber_enabled"]) / 100 == pytest.approx(1)
    assert _class_weights(gold, "balanced") == "balanced" and _class_weights(gold, None) is None
    assert TagConfig(class_weight="none").class_weight is None
    with pytest.raises(ValueError, match="class_weight"):
        TagConfig(class_weight="heavy")


def test_the_cyber_threshold_moves_only_the_related_split(tmp_path: Path) -> None:
    from iccs.tags import related_choice

    classes = ["cyber_dependent", "cyber_enabled", "not_cyber", "unknown"]
    proba = np.array([[0.2, 0.15, 0.5, 0.15], [0.05, 0.1, 0.25, 0.6], [0.5, 0.3, 0.1, 0.1]])
    assert related_choice(proba, classes, 0.5).tolist() == [2, 3, 0]  # = most probable
    assert related_choice(proba, classes, 0.3).tolist() == [0, 3, 0]  # 0.35 related: dependent
    assert related_choice(proba, classes, 0.9).tolist() == [2, 3, 2]  # best of the others
    tagger = fit_tiny_tagger()
    texts = [t for t, _ in TINY_TEXTS[:8]]
    assert tagger.cyber_threshold is None
    tagger.cyber_threshold = 0.0  # any related mass, however small, says cyber-related
    said = {row[0].value for row in tagger.predict(texts)}
    assert said <= {"cyber_dependent", "cyber_enabled"}
    tagger.save(tmp_path / "tags")
    loaded, _ = TagPredictor.load(tmp_path / "tags")
    assert loaded.cyber_threshold == 0.0 and loaded.predict(texts) == tagger.predict(texts)


def test_word_ngrams_can_join_the_character_ngrams(tmp_path: Path) -> None:
    texts, labels = tiny_tag_rows()
    tagger = TagPredictor(TagConfig(max_features=4000, word_ngram_max=2)).fit(texts, labels)
    chars, words = tagger.vectorizer.chars, tagger.vectorizer.words
    assert tagger._coef.shape[0] == len(chars.vocabulary_) + len(words.vocabulary_)
    tagger.save(tmp_path / "tags")
    loaded, _ = TagPredictor.load(tmp_path / "tags")
    assert loaded.config.word_ngram_max == 2 and loaded.predict(texts) == tagger.predict(texts)


def test_fitting_sets_a_fallback_cyber_threshold_on_the_held_out_rows() -> None:
    texts = [f"phishing email stole the bank password of victim {i}" for i in range(20)]
    texts += [f"punched a man in the street outside bar {i}" for i in range(20)]
    labels = {"cyber": ["cyber_enabled"] * 20 + ["not_cyber"] * 20}
    config = TagConfig(max_features=2000, calibration_share=0.5, cyber_operating="min_pr")
    threshold = TagPredictor(config).fit(texts, labels).cyber_threshold
    assert threshold is not None and 0.05 <= threshold <= 0.95
    plain = TagConfig(max_features=2000, calibration_share=0.5, cyber_operating="")
    assert TagPredictor(plain).fit(texts, labels).cyber_threshold is None
    with pytest.raises(ValueError, match="cyber_operating"):
        TagConfig(cyber_operating="always")


def test_a_tag_model_saved_before_the_operating_point_loads_as_it_was(tmp_path: Path) -> None:
    tagger = fit_tiny_tagger()
    tagger.save(tmp_path / "tags")
    raw = json.loads((tmp_path / "tags" / "config.json").read_text())
    for key in ("word_ngram_max", "max_word_features", "cyber_operating"):
        raw["config"].pop(key)
    raw.pop("operating_point")
    (tmp_path / "tags" / "config.json").write_text(json.dumps(raw))
    loaded, _ = TagPredictor.load(tmp_path / "tags")
    assert loaded.config.word_ngram_max == 0 and loaded.config.cyber_operating == ""
    assert loaded.cyber_threshold is None  # the most probable value, as before


def test_only_the_word_ngram_tags_weigh_the_word_columns() -> None:
    texts, labels = tiny_tag_rows()
    tagger = TagPredictor(TagConfig(max_features=4000)).fit(texts, labels)
    chars = len(tagger.vectorizer.chars.vocabulary_)
    assert tagger.config.word_ngram_tags == ["cyber"]
    for tag, span in tagger._spans.items():
        word_weights = np.abs(tagger._coef[chars:, span]).sum()
        assert (word_weights > 0) == (tag == "cyber"), tag
