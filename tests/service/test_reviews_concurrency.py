"""Concurrent decisions (exactly one wins; the others get 409), and the whole review workflow on
PostgreSQL (dialect-specific insert, trigger, date grouping)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DatabaseError

from service.api_keys import Principal
from service.db import Database
from service.db.models import ReviewAuditEvent, ReviewCoding, ReviewItem
from service.reviews.decisions import Decision, decide
from service.reviews.errors import ReviewError
from service.reviews.groups import decide_group
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_reviews import TEXTS, add_key, classify, queue_page, use_queue


def race(database: Database, item_id: uuid.UUID, codes: list[str]) -> list[str]:
    """Analysts 1..n decide the same item at the same moment; 'ok' or the error code each."""
    barrier = threading.Barrier(len(codes))

    def one(analyst: int) -> str:
        principal = Principal(1000 + analyst, f"analyst {analyst}", "analyst", "iccs_test")
        with database.sessionmaker() as session:
            barrier.wait()
            try:
                decide(session, item_id, principal, Decision("recode", 1, codes[analyst]))
            except ReviewError as exc:
                return exc.code
            return "ok"

    with ThreadPoolExecutor(len(codes)) as pool:
        return list(pool.map(one, range(len(codes))))


def test_concurrent_decisions_one_wins_the_others_get_409(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, TEXTS)
    item = queue_page(svc)["items"][0]
    item_id = uuid.UUID(item["id"])
    codes = ["050229", "020111", "0907", "NONE"]
    outcomes = race(svc.db, item_id, codes)
    assert sorted(outcomes) == ["ok", "stale_version", "stale_version", "stale_version"]
    winner = codes[outcomes.index("ok")]
    with svc.db.session() as session:
        stored = session.get(ReviewItem, item_id)
        assert stored is not None
        assert stored.final_code == winner and stored.version == 2
        events = session.scalars(
            select(ReviewAuditEvent).where(ReviewAuditEvent.item_id == item_id)
        ).all()
        assert [e.code for e in events] == [winner]  # no trace of an overwrite


def test_concurrent_blind_codings_both_count(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0, double_coding_rate=1.0)
    classify(svc, TEXTS)
    item_id = uuid.UUID(queue_page(svc)["items"][0]["id"])
    assert race(svc.db, item_id, ["050229", "050229"]) == ["ok", "ok"]
    with svc.db.session() as session:
        stored = session.get(ReviewItem, item_id)
        assert stored is not None and stored.state == "decided" and stored.codings == 2
        assert stored.final_code == "050229"
        assert len(session.scalars(select(ReviewCoding.id)).all()) == 2


def test_concurrent_group_decisions_decide_each_item_once(svc: Service) -> None:
    """Two analysts decide two items of one group at once: every item ends decided once."""
    use_queue(svc, qc_rate=0.0)
    spellings = ["took something", "TOOK something", "Took  something", "took SOMETHING"] * 2
    classify(svc, spellings)
    items = [i for i in queue_page(svc, limit=200)["items"] if i["same_text"] == len(spellings)]
    assert len(items) == len(spellings)
    barrier = threading.Barrier(2)

    def one(analyst: int) -> int | str:
        principal = Principal(2000 + analyst, f"analyst {analyst}", "analyst", "iccs_test")
        item_id = uuid.UUID(items[analyst]["id"])
        with svc.db.sessionmaker() as session:
            barrier.wait()
            try:
                code = ["050229", "0502"][analyst]
                return decide_group(
                    session, item_id, principal, Decision("recode", 1, code)
                ).applied_to
            except ReviewError as exc:
                return exc.code

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(one, range(2)))
    applied = [o for o in outcomes if isinstance(o, int)]
    # The one who came second either decided its own item first (then the rest was taken) or
    # found it decided by the group decision (409).
    assert sum(applied) == len(spellings)
    with svc.db.session() as session:
        stored = session.scalars(select(ReviewItem)).all()
        assert all(i.state == "decided" for i in stored if i.group_key == stored[0].group_key)
        decided_events = session.scalars(
            select(ReviewAuditEvent.item_id).where(ReviewAuditEvent.action == "recode")
        ).all()
        assert sorted(decided_events) == sorted(uuid.UUID(i["id"]) for i in items)


@pytest.mark.postgres
def test_review_workflow_on_postgres(service_factory: ServiceFactory, postgres_url: str) -> None:
    with service_factory(database_url=postgres_url) as svc:
        assert svc.db.backend == "postgresql"
        use_queue(svc, qc_rate=0.0)
        results = classify(svc, TEXTS)
        mine = {r["classification_id"] for r in results if r["needs_review"]}
        items = [i for i in queue_page(svc, limit=200)["items"] if i["id"] in mine]
        assert {i["id"] for i in items} == mine
        queue_page(svc, limit=200)  # a second scan inserts nothing twice

        first, second, third = items[:3]
        headers = svc.headers("analyst")
        ok = svc.client.post(
            f"/v1/reviews/{first['id']}/decision",
            json={"action": "recode", "code": "050229", "version": 1},
            headers=headers,
        )
        assert ok.status_code == 200 and ok.json()["final_code"] == "050229"
        stale = svc.client.post(
            f"/v1/reviews/{first['id']}/decision",
            json={"action": "accept", "version": 1},
            headers=headers,
        )
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"

        bob_id, bob = add_key(svc, "analyst", "bob")
        carol_id, carol = add_key(svc, "analyst", "carol")
        assigned = svc.client.post(
            f"/v1/reviews/{second['id']}/assign",
            json={"analyst_key_ids": [bob_id, carol_id], "version": 1},
            headers=svc.headers("admin"),
        )
        assert assigned.status_code == 200, assigned.text
        for who in (bob, carol):
            response = svc.client.post(
                f"/v1/reviews/{second['id']}/decision",
                json={"action": "not_an_offence", "version": 2},
                headers=who,
            )
            assert response.status_code == 200, response.text
        assert response.json()["final_by"] == "bob, carol"

        outcomes = race(svc.db, uuid.UUID(third["id"]), ["0907", "020111", "050229"])
        assert sorted(outcomes) == ["ok", "stale_version", "stale_version"]

        with pytest.raises(DatabaseError, match="append-only"), svc.db.session() as session:
            session.execute(update(ReviewAuditEvent).values(comment="rewritten"))

        for path in ("/v1/reviews/stats", "/v1/reviews/dashboard"):
            response = svc.client.get(path, headers=headers)
            assert response.status_code == 200, response.text
        board: dict[str, Any] = response.json()
        assert sum(board["by_day"][-1]["categories"].values()) >= len(TEXTS)
        assert svc.client.get(
            "/v1/reviews/dashboard/agreement.csv", params={"code": "05"}, headers=headers
        ).text.startswith("code,title,decided")

        # A text decided once on PostgreSQL: the group listing and the set-based update.
        classify(svc, ["Bad behaviour in the PARK", "bad  behaviour in the park"])
        groups = svc.client.get("/v1/reviews/groups", headers=headers).json()["groups"]
        pair = next(g for g in groups if g["items"] >= 2)
        item = svc.client.get(f"/v1/reviews/{pair['item_id']}", headers=headers).json()
        decided = svc.client.post(
            f"/v1/reviews/{item['id']}/decision",
            json={"action": "not_an_offence", "version": item["version"]},
            headers=headers,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["applied_to"] == pair["items"]
        export = svc.client.get("/v1/reviews/export", headers=svc.headers("admin"))
        assert export.status_code == 200
        assert first["id"] in export.text and second["id"] in export.text
