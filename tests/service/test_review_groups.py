"""Decide a text once: open items with the same normalised text form a group; one decision
applies to each of them (each audited), per-record rules (double coding, assignment, versions)
still hold, and the statistics count records and distinct texts apart."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from service.db.models import ReviewAuditEvent, ReviewItem
from service.reviews.queue import group_key, text_key
from tests.service.conftest import Service
from tests.service.test_reviews import add_key, classify, decide, queue_page, use_queue

# Spellings of one text (case, accents, spacing folded) that the tiny model sends to review.
SPELLINGS = ["took something", "TOOK  something", "Took sométhing"]
OTHERS = ["bad behaviour in the park", "window broken", "lost wallet reported, no crime"]


def groups_page(svc: Service, **params: Any) -> dict:
    response = svc.client.get("/v1/reviews/groups", params=params, headers=svc.headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json()


def next_item(svc: Service, headers: dict[str, str] | None = None) -> dict:
    response = svc.client.get("/v1/reviews/next", headers=headers or svc.headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json()


def spelled_items(svc: Service) -> list[dict]:
    items = queue_page(svc, limit=200)["items"]
    return [i for i in items if i["text"] in SPELLINGS]


def test_group_key_is_the_text_key_until_a_scheme_or_national_code_is_given() -> None:
    assert group_key("Took sométhing") == text_key("took  SOMETHING") == group_key("took something")
    with_code = group_key("took something", scheme="uk-ho", national_code="49/1")
    assert with_code != group_key("took something")
    assert with_code == group_key("TOOK something", scheme="UK-HO", national_code="49/1")
    assert with_code != group_key("took something", scheme="uk-ho", national_code="49/2")


def test_queue_by_group_shows_count_and_sources(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, SPELLINGS + OTHERS)
    spelled = spelled_items(svc)
    assert len(spelled) == 3 and len({i["id"] for i in spelled}) == 3
    with svc.db.session() as session:  # one of them came in a batch
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == uuid.UUID(spelled[0]["id"]))
            .values(source="batch-1")
        )
    page = groups_page(svc)
    assert page["items"] == queue_page(svc)["total"]
    assert page["total"] == len(page["groups"]) < page["items"]
    group = next(g for g in page["groups"] if g["items"] == 3)
    assert group["text"] in SPELLINGS and group["by_state"] == {"pending": 3}
    assert group["sources"] == [{"source": "api", "items": 2}, {"source": "batch-1", "items": 1}]
    assert page["groups"][0] == group  # three uncertain records outweigh one
    detail = svc.client.get(f"/v1/reviews/{group['item_id']}", headers=svc.headers("analyst"))
    assert detail.json()["group"]["size"] == 3
    assert detail.json()["group"]["key"] == group["key"]


def test_one_decision_settles_the_group_and_audits_each_item(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, SPELLINGS + OTHERS)
    start = next_item(svc)
    assert start["item"]["text"] in SPELLINGS and start["item"]["group"]["size"] == 3
    response = decide(svc, start["item"], "recode", code="050229", comment="one text")
    assert response.status_code == 200, response.text
    assert response.json()["applied_to"] == 3 and response.json()["group"]["size"] == 0
    spelled = queue_page(svc, state="decided", limit=200)["items"]
    assert sorted(i["text"] for i in spelled) == sorted(SPELLINGS)
    assert all(i["final_code"] == "050229" and i["version"] == 2 for i in spelled)
    with svc.db.session() as session:
        events = session.scalars(select(ReviewAuditEvent)).all()
        assert sorted(str(e.item_id) for e in events) == sorted(i["id"] for i in spelled)
        assert all(e.action == "recode" and e.code == "050229" for e in events)
        assert all(e.comment == "one text" and e.after["state"] == "decided" for e in events)
        assert all(e.before["version"] == 1 and e.after["version"] == 2 for e in events)
    after = next_item(svc)
    assert after["item"]["text"] not in SPELLINGS  # the same text does not come back
    assert after["queue"]["pending"] == start["queue"]["pending"] - 3
    assert after["progress"]["total"] == 3  # three records decided, each audited

    stats = svc.client.get("/v1/reviews/stats", headers=svc.headers("analyst")).json()
    assert stats["model_analyst_agreement"]["n"] == 3
    assert stats["model_analyst_agreement"]["texts"] == 1
    open_texts = {i["text"] for i in queue_page(svc, limit=200)["items"]}
    assert stats["queue"]["size"] == stats["queue"]["texts"] == len(open_texts) > 0


def test_scope_item_decides_that_item_only(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, SPELLINGS)
    item = next_item(svc)["item"]
    response = decide(svc, item, "not_an_offence", scope="item")
    assert response.json()["applied_to"] == 1
    assert queue_page(svc)["total"] == 2


def test_skip_and_escalate_apply_to_the_group(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, SPELLINGS + OTHERS[:1])
    first = next_item(svc)["item"]
    assert first["text"] in SPELLINGS
    assert decide(svc, first, "skip").json()["applied_to"] == 3
    assert next_item(svc)["item"]["text"] not in SPELLINGS  # skipped for me, all three
    _, bob = add_key(svc, "analyst", "bob")
    bobs = next_item(svc, bob)["item"]
    assert bobs["text"] in SPELLINGS and bobs["group"]["size"] == 3  # not for bob
    assert decide(svc, bobs, "escalate", bob).json()["applied_to"] == 3
    escalated = queue_page(svc, state="escalated")["items"]
    assert sorted(i["text"] for i in escalated) == sorted(SPELLINGS)
    admin = svc.headers("admin")
    chosen = next_item(svc, admin)["item"]
    assert chosen["state"] == "escalated" and chosen["group"]["size"] == 3
    settled = decide(svc, chosen, "recode", admin, code="0401")
    assert settled.json()["applied_to"] == 3
    assert queue_page(svc, state="escalated")["total"] == 0


def test_double_coding_stays_per_record(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0, double_coding_rate=1.0)
    classify(svc, SPELLINGS)
    first = next_item(svc)["item"]
    coded = decide(svc, first, "recode", code="050229").json()
    assert coded["applied_to"] == 3 and coded["state"] == "pending"
    assert all(i["codings"] == 1 for i in spelled_items(svc))
    assert next_item(svc)["item"] is None  # all three coded by me: a second coder must
    _, bob = add_key(svc, "analyst", "bob")
    second = next_item(svc, bob)["item"]
    assert second["group"]["size"] == 3 and second["my_coding"] is None
    assert decide(svc, second, "recode", bob, code="50229").json()["applied_to"] == 3
    decided = queue_page(svc, state="decided")["items"]
    assert len(decided) == 3
    assert all(i["final_by"] == "test analyst, bob" for i in decided)
    stats = svc.client.get("/v1/reviews/stats", headers=svc.headers("analyst")).json()
    assert stats["double_coding"]["pairs"] == 3 and stats["double_coding"]["kappa"] is None


def test_assigned_and_changed_items_are_left_alone(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, SPELLINGS)
    alice_id, alice = add_key(svc, "analyst", "alice")
    spelled = spelled_items(svc)
    assigned = svc.client.post(
        f"/v1/reviews/{spelled[0]['id']}/assign",
        json={"analyst_key_ids": [alice_id], "version": 1},
        headers=svc.headers("admin"),
    )
    assert assigned.status_code == 200
    mine = next_item(svc)["item"]
    assert mine["id"] != spelled[0]["id"] and mine["group"]["size"] == 2
    response = decide(svc, mine, "accept")
    assert response.json()["applied_to"] == 2
    still = svc.client.get(f"/v1/reviews/{spelled[0]['id']}", headers=alice).json()
    assert still["state"] == "pending" and still["group"]["size"] == 1
