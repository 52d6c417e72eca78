"""Dynamic batching and group commit: same answers as one-by-one, fewer model calls and commits."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from iccs.classifier import ICCSClassifier
from iccs.predict import classify_texts as classify_records
from iccs.records import ClassificationRecord, Versions
from service.batcher import SuggestionBatcher, classify_many
from service.classification import TextToClassify, classify_texts
from service.db import Database
from service.db.models import Classification
from service.model_holder import load_served_model
from service.writer import ClassificationWriter

TEXTS = [
    "theft of a pedal cycle from outside the station",
    "possession of cannabis for personal use",
    "drink driving over the prescribed limit",
    "lost wallet reported, no crime",
    "Robo con violencia de un teléfono celular",
    "음주운전",
]
VERSIONS = Versions("iccs-classifier:tiny", "ICCS-1.0-2015")


def alone(model: ICCSClassifier, texts: list[str], top_k: int = 3) -> list[ClassificationRecord]:
    """The records of one request, classified on its own."""
    return classify_records(model, texts, top_k=top_k, versions=VERSIONS)


class CountingClassifier:
    """Wraps a classifier and counts model calls (predict_proba)."""

    def __init__(self, inner: ICCSClassifier, delay: threading.Event | None = None) -> None:
        self.inner, self.calls, self.gate = inner, 0, delay

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def predict_proba(self, texts, languages=None):
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        return self.inner.predict_proba(texts, languages)


def test_one_call_for_many_requests_matches_each_alone(tiny_model: ICCSClassifier) -> None:
    jobs = [(TEXTS[:3], 3), (TEXTS[2:], 1), ([TEXTS[0]], 5)]
    requests = [(texts, top_k, [None] * len(texts)) for texts, top_k in jobs]
    counting = CountingClassifier(tiny_model)
    got = classify_many(counting, VERSIONS, requests)
    assert counting.calls == 1
    for (texts, top_k), records in zip(jobs, got, strict=True):
        assert records == alone(tiny_model, texts, top_k)
        assert all(len(r.suggestions) <= top_k for r in records)


def test_concurrent_requests_share_model_calls(tiny_model: ICCSClassifier) -> None:
    gate = threading.Event()
    counting = CountingClassifier(tiny_model, gate)
    batcher = SuggestionBatcher(max_texts=64)
    batcher.start()
    try:
        with ThreadPoolExecutor(12) as pool:
            futures = [
                pool.submit(
                    batcher.classify, counting, VERSIONS, [TEXTS[n % len(TEXTS)]], 1 + n % 3
                )
                for n in range(12)
            ]
            gate.set()  # the first call waited; everything queued meanwhile goes in one more
            results = [f.result() for f in futures]
    finally:
        batcher.stop()
    for n, got in enumerate(results):
        assert got == alone(tiny_model, [TEXTS[n % len(TEXTS)]], 1 + n % 3)
    assert counting.calls < 12


def test_large_requests_bypass_the_queue(tiny_model: ICCSClassifier) -> None:
    batcher = SuggestionBatcher(max_texts=2)
    batcher.start()
    batcher.stop()  # not running: everything runs in the caller's thread
    assert batcher.classify(tiny_model, VERSIONS, TEXTS, 2) == alone(tiny_model, TEXTS, 2)


def test_a_failing_model_call_fails_its_requests_not_the_worker(tiny_model) -> None:
    class Broken(CountingClassifier):
        def predict_proba(self, texts, languages=None):
            raise RuntimeError("model exploded")

    batcher = SuggestionBatcher()
    batcher.start()
    try:
        with pytest.raises(RuntimeError, match="exploded"):
            batcher.classify(Broken(tiny_model), VERSIONS, [TEXTS[0]], 3)
        assert batcher.classify(tiny_model, VERSIONS, [TEXTS[0]], 3) == alone(
            tiny_model, [TEXTS[0]]
        )
    finally:
        batcher.stop()


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'iccs.db'}")
    db.upgrade()
    return db


def rows_for(tiny_bundle: Path, count: int) -> list[Classification]:
    model = load_served_model(tiny_bundle)
    items = [TextToClassify(TEXTS[n % len(TEXTS)], case_id=f"c{n}") for n in range(count)]
    return classify_texts(model, items, 3)[1]


def test_group_commit_writes_everything_in_fewer_transactions(
    database: Database, tiny_bundle: Path
) -> None:
    rows = rows_for(tiny_bundle, 40)
    commits = []
    event.listen(database.engine, "commit", lambda _conn: commits.append(1))
    writer = ClassificationWriter(database.sessionmaker)
    writer.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda row: writer.write([row]), rows))
    finally:
        writer.stop()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Classification)) == 40
    assert len(commits) < 40


def test_a_bad_write_fails_alone(database: Database, tiny_bundle: Path) -> None:
    good, bad, later = rows_for(tiny_bundle, 3)
    writer = ClassificationWriter(database.sessionmaker)
    writer.write([good])  # not started: commits in the caller's thread
    bad.id = good.id  # duplicate primary key
    writer.start()
    try:
        with pytest.raises(IntegrityError):
            writer.write([bad])
        writer.write([later])
    finally:
        writer.stop()
    with database.session() as session:
        ids = set(session.scalars(select(Classification.id)))
    assert ids == {good.id, later.id}
    assert isinstance(later.id, uuid.UUID)
