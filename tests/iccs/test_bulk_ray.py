"""The Ray engine in local mode gives the same output as the default engine."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from iccs.bulk import BulkJob, LocalSuggester, run_bulk

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

from iccs.bulk.ray_engine import RaySuggester  # noqa: E402

VERSION = "iccs-classifier:tiny-1"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_matches_the_default_engine(tmp_path: Path, tiny_model, local_ray) -> None:
    source = tmp_path / "in.csv"
    texts = ["theft of pedal cycle", "common assault", "possession of cannabis", "drink driving"]
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "unit"])
        for i in range(3000):
            writer.writerow([f"R{i}", f"{texts[i % 4]} {i % 500}" if i != 7 else "", f"u{i % 3}"])

    suggester = RaySuggester(tiny_model, workers=2, batch_size=100)
    suggester.window_rows = 1000  # several windows, each a Ray Data run over an actor pool
    assert suggester.workers == 2
    for suffix in ("jsonl", "parquet"):
        local, distributed = tmp_path / f"local.{suffix}", tmp_path / f"ray.{suffix}"
        run_bulk(BulkJob(source, local, VERSION, chunk_size=256), LocalSuggester(tiny_model))
        summary = run_bulk(BulkJob(source, distributed, VERSION, chunk_size=256), suggester)
        assert summary.rows == 3000 and summary.rejected == 1 and summary.distinct_texts == 500
        if suffix == "parquet":
            assert pq.read_table(distributed).equals(pq.read_table(local))
        else:
            assert distributed.read_bytes() == local.read_bytes()
    suggester.close()
    assert ray.is_initialized()  # it did not start Ray, so it leaves it running
