"""Deciding a text once on a large backlog: the issue's 12,086 queued records of 411 texts.

    python benchmarks/bench_review_groups.py [--items 12086] [--texts 411] [--database URL]

Fills a fresh SQLite database (or the given one) with flagged classifications, the most
frequent text holding half of them, then times the queue scan, the analyst's next item (with
its group's size and sources), and one decision applied to the whole group. No model is loaded:
the rows are written as the service would store them.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from service.api.review_views import review_detail
from service.api_keys import Principal, create_api_key
from service.config import ReviewSettings
from service.db import Database
from service.db.base import utcnow
from service.db.models import Classification
from service.reviews.decisions import Decision
from service.reviews.groups import decide_group
from service.reviews.queue import ReviewQueue


def fill(database: Database, items: int, texts: int) -> None:
    """Half the records share text 0 (in varying case); the rest spread over the others."""
    rng = random.Random(15)
    now = utcnow()
    suggestion = {"code": "050221", "title": "Theft", "level": "class", "confidence": 0.6}
    rows = []
    for i in range(items):
        n = 0 if i < items // 2 else 1 + rng.randrange(texts - 1)
        text = f"THEFT FROM MOTOR VEHICLE {n}" if i % 2 else f"theft from motor vehicle {n}"
        rows.append(
            {
                "id": uuid.uuid4(),
                "case_id": f"C{i}",
                "text": text,
                "language": "en",
                "suggestions": [suggestion],
                "top_code": "050221",
                "confidence": 0.6 - n / (10 * texts),
                "needs_review": True,
                "model_version": "bench",
                "taxonomy_version": "ICCS-1.0-2015",
                "source": "batch-bench",
                "created_at": now - timedelta(seconds=items - i),
            }
        )
    with database.session() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Classification), rows[start : start + 2000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=12086)
    parser.add_argument("--texts", type=int, default=411)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="iccs-bench-groups-")
    database = Database(args.database or f"sqlite:///{Path(folder) / 'bench.db'}")
    database.upgrade()
    fill(database, args.items, args.texts)
    with database.session() as session:
        key, _ = create_api_key(session, "analyst", "bench")
        session.flush()
        analyst = Principal(key.id, key.name, key.role, key.prefix)
    queue = ReviewQueue(ReviewSettings(qc_rate=0.0, double_coding_rate=0.05))

    timings: dict[str, float] = {}
    with database.sessionmaker() as session:
        started = time.perf_counter()
        queued = queue.sync(session, force=True)
        timings["queue scan"] = time.perf_counter() - started
        started = time.perf_counter()
        item = queue.next_for(session, analyst)
        assert item is not None
        detail = review_detail(session, item, analyst)
        timings["next item with its group"] = time.perf_counter() - started
        started = time.perf_counter()
        outcome = decide_group(session, item.id, analyst, Decision("recode", item.version, "0502"))
        timings["one decision for the group"] = time.perf_counter() - started
    load = os.getloadavg()[0]
    print(f"{queued} items queued, {args.texts} texts; group of {detail.group.size} records")
    print(f"decision applied to {outcome.applied_to} records (double-coded ones take a coding)")
    for name, seconds in timings.items():
        print(f"  {name:<28} {seconds * 1000:8.0f} ms")
    print(f"load (1 min) {load:.1f} on {os.cpu_count()} CPUs; database {database.backend}")


if __name__ == "__main__":
    main()
