"""Review queue and decisions: what enters the queue, its order, decisions, 409, double coding,
the audit trail and the final code of a record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from service.api_keys import create_api_key
from service.config import ReviewSettings
from service.db.models import Classification, ReviewAuditEvent, ReviewItem
from service.reviews.queue import ReviewQueue, sample_fraction
from tests.service.conftest import Service

# With the tiny model: the first eight are auto-coded, the others need review (low confidence,
# back-off or NONE).
TEXTS = [
    "theft of a pedal cycle from outside the station",
    "common assault by beating",
    "possession of cannabis for personal use",
    "Robo con violencia de un teléfono celular",
    "drink driving over the prescribed limit",
    "graffiti sprayed on the school wall",
    "an argument about a fence",
    "person acting strangely",
    "took something",
    "a man was hurt",
    "damage and theft at the house",
    "stolen",
    "bad behaviour in the park",
    "fraud",
    "window broken",
    "lost wallet reported, no crime",
    "missing person report for elderly man",
]


def use_queue(svc: Service, **settings: Any) -> ReviewQueue:
    """Give the app a queue with test settings (scans on every call)."""
    values: dict[str, Any] = {"sync_interval_seconds": 0, "double_coding_rate": 0.0}
    queue = ReviewQueue(ReviewSettings(**{**values, **settings}))
    svc.app.state.review_queue = queue
    return queue


def add_key(svc: Service, role: str, name: str) -> tuple[int, dict[str, str]]:
    with svc.db.session() as session:
        row, key = create_api_key(session, role, name)
        session.flush()
        key_id = row.id
    return key_id, {"Authorization": f"Bearer {key}"}


def classify(svc: Service, texts: list[str], language: str | None = None) -> list[dict]:
    body: dict[str, Any] = {"items": [{"id": str(i), "text": t} for i, t in enumerate(texts)]}
    if language:
        body["language"] = language
    response = svc.client.post("/v1/classify", json=body, headers=svc.headers())
    assert response.status_code == 200, response.text
    return response.json()["results"]


def queue_page(svc: Service, role: str = "analyst", **params: Any) -> dict:
    response = svc.client.get("/v1/reviews", params=params, headers=svc.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


def decide(
    svc: Service, item: dict, action: str, headers: dict[str, str] | None = None, **body: Any
) -> Any:
    return svc.client.post(
        f"/v1/reviews/{item['id']}/decision",
        json={"action": action, "version": item["version"], **body},
        headers=headers or svc.headers("analyst"),
    )


@pytest.fixture
def rsvc(svc: Service) -> Iterator[Service]:
    use_queue(svc, qc_rate=0.0)
    yield svc


def test_flagged_records_enter_the_queue_with_their_reason(rsvc: Service) -> None:
    results = classify(rsvc, TEXTS)
    flagged = {r["classification_id"]: r for r in results if r["needs_review"]}
    assert flagged and len(flagged) < len(results)  # the tiny model is sure of some
    page = queue_page(rsvc, limit=200)
    assert page["total"] == len(flagged)
    assert {i["id"] for i in page["items"]} == set(flagged)
    for item in page["items"]:
        result = flagged[item["id"]]
        first = result["suggestions"][0]
        assert item["model_code"] == first["code"] and item["state"] == "pending"
        expected = (
            "no_offence"
            if first["code"] == "NONE"
            else ("back_off" if result["backed_off"] else "low_confidence")
        )
        assert item["reason"] == expected
    # Scanning again queues nothing twice.
    assert queue_page(rsvc, limit=200)["total"] == len(flagged)


def test_qc_sample_and_section_threshold_queue_auto_coded_records(svc: Service) -> None:
    results = classify(svc, TEXTS * 3)
    auto = [r for r in results if not r["needs_review"]]
    use_queue(svc, qc_rate=0.3)
    page = queue_page(svc, reason="qc_sample", limit=200)
    sampled = {
        r["classification_id"]
        for r in auto
        if sample_fraction(uuid.UUID(r["classification_id"]), "qc") < 0.3
    }
    assert sampled, "30% of the auto-coded records should give a sample"
    assert {i["id"] for i in page["items"]} == sampled

    # A stricter threshold for one section queues its auto-coded records below it.
    threshold = 0.99
    unsure = [r for r in auto if r["suggestions"][0]["confidence"] < threshold]
    # a section with an unsure record that the QC sample (random ids) did not already take
    candidates = [r for r in unsure if r["classification_id"] not in sampled]
    assert candidates, "some auto-coded record outside the QC sample is below 99%"
    section = candidates[0]["suggestions"][0]["code"][:2]
    use_queue(svc, qc_rate=0.0, section_thresholds={section: threshold})
    strict = queue_page(svc, reason="section_threshold", limit=200)
    expected = {
        r["classification_id"]
        for r in unsure
        if r["suggestions"][0]["code"].startswith(section) and r["classification_id"] not in sampled
    }
    assert expected and {i["id"] for i in strict["items"]} == expected


def test_unknown_section_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ICCS section"):
        ReviewSettings(section_thresholds={"99": 0.9})


def test_queue_puts_frequent_uncertain_texts_first_and_filters(rsvc: Service) -> None:
    classify(rsvc, ["took something"] * 5 + TEXTS)
    classify(rsvc, ["dispute over money"], language="es")
    items = queue_page(rsvc, limit=200)["items"]
    scores = [i["same_text"] * (1 - i["confidence"]) for i in items]
    assert scores == sorted(scores, reverse=True)
    assert items[0]["same_text"] >= 5
    section = items[-1]["section"]
    assert all(i["section"] == section for i in queue_page(rsvc, section=section)["items"])
    cut = sorted(i["confidence"] for i in items)[len(items) // 2]
    low = queue_page(rsvc, max_confidence=cut, limit=200)["items"]
    assert low and all(i["confidence"] <= cut for i in low)
    assert len(low) < len(items) or len({i["confidence"] for i in items}) == 1
    spanish = queue_page(rsvc, language="es")["items"]
    assert spanish and all(i["language"] == "es" for i in spanish)
    assert queue_page(rsvc, batch="no-such-batch")["total"] == 0
    first_page = queue_page(rsvc, limit=2)
    second_page = queue_page(rsvc, limit=2, offset=2)
    assert [i["id"] for i in first_page["items"] + second_page["items"]] == [
        i["id"] for i in items[:4]
    ]
    assert rsvc.client.get("/v1/reviews", headers=rsvc.headers("submitter")).status_code == 403


def test_item_shows_text_suggestions_and_their_definitions(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    item = queue_page(rsvc)["items"][0]
    response = rsvc.client.get(f"/v1/reviews/{item['id']}", headers=rsvc.headers("analyst"))
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["text"] in TEXTS and detail["version"] == 1
    assert 1 <= len(detail["suggestions"]) <= 3
    coded = [s for s in detail["suggestions"] if s["code"] != "NONE"]
    assert coded, "some candidate is an ICCS code"
    for s in coded:
        assert s["definition"] and s["path"][-1]["code"] == s["code"]
        assert isinstance(s["inclusions"], list) and isinstance(s["exclusions"], list)
    assert any(s["inclusions"] or s["exclusions"] for s in coded)
    missing = rsvc.client.get(f"/v1/reviews/{uuid.uuid4()}", headers=rsvc.headers("analyst"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "review_not_found"


def test_decisions_set_the_final_code_and_write_the_audit_trail(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    items = queue_page(rsvc, limit=200)["items"]
    assert len(items) >= 4
    accepted, recoded, none, escalated = items[:4]

    response = decide(rsvc, accepted, "accept", code=accepted["model_code"], comment="ok")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "decided" and body["final_code"] == accepted["model_code"]
    assert body["final_by"] == "test analyst" and body["version"] == 2

    assert decide(rsvc, recoded, "recode", code="20111").json()["final_code"] == "020111"
    assert decide(rsvc, none, "not_an_offence").json()["final_code"] == "NONE"
    escalation = decide(rsvc, escalated, "escalate", comment="which weapon?").json()
    assert escalation["state"] == "escalated" and escalation["final_code"] is None

    # Escalated items are settled by an admin.
    refused = decide(rsvc, {**escalated, "version": 2}, "recode", code="020111")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "needs_admin"
    settled = decide(
        rsvc, {**escalated, "version": 2}, "recode", rsvc.headers("admin"), code="020111"
    )
    assert settled.status_code == 200 and settled.json()["final_by"] == "test admin"

    trail = rsvc.client.get(
        f"/v1/reviews/{escalated['id']}/audit", headers=rsvc.headers("analyst")
    ).json()
    assert [e["action"] for e in trail] == ["escalate", "recode"]
    assert trail[0]["comment"] == "which weapon?" and trail[0]["actor_name"] == "test analyst"
    assert trail[0]["before"]["state"] == "pending" and trail[0]["after"]["state"] == "escalated"
    assert trail[1]["after"]["final_code"] == "020111" and trail[1]["actor_role"] == "admin"
    assert trail[1]["model_version"] == "iccs-classifier:tiny-1"

    everything = rsvc.client.get("/v1/reviews/audit", headers=rsvc.headers("admin")).json()
    assert everything["total"] == 5
    assert [e["action"] for e in everything["events"]][-1] == "accept"  # newest first
    assert rsvc.client.get("/v1/reviews/audit", headers=rsvc.headers("analyst")).status_code == 403
    assert queue_page(rsvc, state="decided")["total"] == 4


def test_invalid_codes_and_actions_are_refused(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    item = queue_page(rsvc)["items"][0]
    bad = decide(rsvc, item, "recode", code="999999")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_code"
    assert decide(rsvc, item, "recode").status_code == 422
    foreign = decide(rsvc, item, "accept", code="011")
    assert foreign.json()["error"]["code"] == "not_a_suggestion"
    assert decide(rsvc, item, "approve").status_code == 422
    assert decide(rsvc, item, "accept", headers=rsvc.headers("submitter")).status_code == 403
    # Nothing was changed by the refused decisions.
    assert decide(rsvc, item, "accept").json()["version"] == 2


def test_a_decision_on_a_stale_version_gets_409_not_an_overwrite(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    item = queue_page(rsvc)["items"][0]
    _, other = add_key(rsvc, "analyst", "bob")
    first = decide(rsvc, item, "recode", code="050229")
    assert first.status_code == 200
    late = decide(rsvc, item, "recode", other, code="020111")  # decided on version 1
    assert late.status_code == 409
    error = late.json()["error"]
    assert error["code"] == "stale_version"
    assert error["details"] == {"current_version": 2, "your_version": 1}
    again = decide(rsvc, {**item, "version": 2}, "recode", other, code="020111")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"
    detail = rsvc.client.get(f"/v1/reviews/{item['id']}", headers=rsvc.headers("analyst")).json()
    assert detail["final_code"] == "050229" and detail["final_by"] == "test analyst"


def test_skip_moves_on_without_changing_the_item(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    headers = rsvc.headers("analyst")
    first = rsvc.client.get("/v1/reviews/next", headers=headers).json()
    assert first["analyst"] == {"name": "test analyst", "role": "analyst"}
    item = first["item"]
    skipped = decide(rsvc, item, "skip")
    assert skipped.status_code == 200 and skipped.json()["version"] == item["version"]
    after = rsvc.client.get("/v1/reviews/next", headers=headers).json()
    assert after["item"]["id"] != item["id"]
    assert after["queue"]["pending"] == first["queue"]["pending"]
    # Another analyst still gets the skipped item first.
    _, other = add_key(rsvc, "analyst", "bob")
    assert rsvc.client.get("/v1/reviews/next", headers=other).json()["item"]["id"] == item["id"]


def test_next_reports_queue_size_and_own_progress(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    headers = rsvc.headers("analyst")
    start = rsvc.client.get("/v1/reviews/next", headers=headers).json()
    assert start["progress"] == {"today": 0, "total": 0}
    decide(rsvc, start["item"], "accept")
    after = rsvc.client.get("/v1/reviews/next", headers=headers).json()
    assert after["progress"] == {"today": 1, "total": 1}
    assert after["queue"]["pending"] == start["queue"]["pending"] - 1


def test_double_coding_agreement_decides_and_disagreement_escalates(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0, double_coding_rate=1.0)
    classify(svc, TEXTS)
    items = queue_page(svc, limit=200)["items"]
    assert all(i["required_codings"] == 2 for i in items)
    agree, disagree = items[0], items[1]
    _, bob = add_key(svc, "analyst", "bob")

    first = decide(svc, agree, "recode", code="050229")
    assert first.json()["state"] == "pending" and first.json()["version"] == 1
    assert first.json()["codings"] == 1 and first.json()["my_coding"] == "050229"
    again = decide(svc, agree, "recode", code="050229")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_coded"
    # Blind: bob sees neither the first code nor the audit trail yet.
    seen = svc.client.get(f"/v1/reviews/{agree['id']}", headers=bob).json()
    assert seen["my_coding"] is None and seen["codings_detail"] is None
    assert svc.client.get(f"/v1/reviews/{agree['id']}/audit", headers=bob).status_code == 403
    second = decide(svc, agree, "recode", bob, code="50229")  # same version: not stale
    assert second.status_code == 200
    assert second.json()["state"] == "decided" and second.json()["final_code"] == "050229"
    assert second.json()["final_by"] == "test analyst, bob"

    decide(svc, disagree, "recode", code="050229")
    split = decide(svc, disagree, "recode", bob, code="020111").json()
    assert split["state"] == "escalated" and split["final_code"] is None
    admin_view = svc.client.get(
        f"/v1/reviews/{disagree['id']}", headers=svc.headers("admin")
    ).json()
    assert [c["code"] for c in admin_view["codings_detail"]] == ["050229", "020111"]
    settled = decide(svc, split, "recode", svc.headers("admin"), code="050229")
    assert settled.json()["state"] == "decided"


def test_admin_assigns_an_item_to_two_analysts(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    item = queue_page(rsvc)["items"][0]
    bob_id, bob = add_key(rsvc, "analyst", "bob")
    carol_id, carol = add_key(rsvc, "analyst", "carol")
    admin = rsvc.headers("admin")
    path = f"/v1/reviews/{item['id']}/assign"
    body = {"analyst_key_ids": [bob_id, carol_id], "version": 1}
    assert rsvc.client.post(path, json=body, headers=rsvc.headers("analyst")).status_code == 403
    unknown = rsvc.client.post(path, json={**body, "analyst_key_ids": [9999]}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_analyst"
    assigned = rsvc.client.post(path, json=body, headers=admin)
    assert assigned.status_code == 200, assigned.text
    item = assigned.json()
    assert item["assignees"] == [bob_id, carol_id] and item["required_codings"] == 2
    assert item["version"] == 2
    assert rsvc.client.post(path, json=body, headers=admin).status_code == 409  # stale now

    outsider = decide(rsvc, item, "accept")
    assert outsider.status_code == 403 and outsider.json()["error"]["code"] == "not_assigned"
    next_for_bob = rsvc.client.get("/v1/reviews/next", headers=bob).json()["item"]
    assert next_for_bob["id"] == item["id"]
    next_for_other = rsvc.client.get("/v1/reviews/next", headers=rsvc.headers("analyst"))
    assert next_for_other.json()["item"]["id"] != item["id"]
    decide(rsvc, item, "recode", bob, code="0502")
    done = decide(rsvc, item, "recode", carol, code="0502").json()
    assert done["state"] == "decided" and done["final_by"] == "bob, carol"
    actions = [
        e["action"]
        for e in rsvc.client.get(f"/v1/reviews/{item['id']}/audit", headers=admin).json()
    ]
    assert actions == ["assign", "recode", "recode"]


def test_classification_shows_the_final_code_and_who_set_it(rsvc: Service) -> None:
    results = classify(rsvc, TEXTS)
    auto = next(r for r in results if not r["needs_review"])
    flagged = next(r for r in results if r["needs_review"])
    submitter = rsvc.headers("submitter")
    path = "/v1/classifications/{}"
    mine = rsvc.client.get(path.format(auto["classification_id"]), headers=submitter).json()
    assert mine["final_code"] == auto["suggestions"][0]["code"]
    assert mine["final_code_set_by"] == "model" and mine["review"] is None
    pending = rsvc.client.get(path.format(flagged["classification_id"]), headers=submitter).json()
    assert pending["final_code"] is None and pending["review"]["state"] == "pending"
    item = {"id": flagged["classification_id"], "version": 1}
    decide(rsvc, item, "recode", code="0907")
    decided = rsvc.client.get(path.format(flagged["classification_id"]), headers=submitter).json()
    assert decided["final_code"] == "0907" and decided["final_code_set_by"] == "test analyst"
    assert decided["review"]["state"] == "decided" and decided["text"] in TEXTS
    # Another submitter cannot read it; an unknown id is 404.
    _, stranger = add_key(rsvc, "submitter", "other")
    hidden = rsvc.client.get(path.format(flagged["classification_id"]), headers=stranger)
    assert hidden.status_code == 404
    assert rsvc.client.get(path.format(uuid.uuid4()), headers=submitter).status_code == 404


def test_audit_trail_is_append_only_and_purged_with_its_record(rsvc: Service) -> None:
    classify(rsvc, TEXTS)
    item = queue_page(rsvc)["items"][0]
    decide(rsvc, item, "accept", comment="fine")
    with rsvc.db.session() as session:
        event_id = session.scalar(select(ReviewAuditEvent.id))
    with pytest.raises(DatabaseError, match="append-only"), rsvc.db.session() as session:
        session.execute(
            update(ReviewAuditEvent)
            .where(ReviewAuditEvent.id == event_id)
            .values(comment="rewritten")
        )
    with rsvc.db.session() as session:
        assert session.get(ReviewAuditEvent, event_id).comment == "fine"
        # The retention purge deletes the record; its review and trail go with it.
        session.execute(text("DELETE FROM classifications"))
    with rsvc.db.session() as session:
        assert session.scalar(select(ReviewItem.id)) is None
        assert session.scalar(select(ReviewAuditEvent.id)) is None
        assert session.scalar(select(Classification.id)) is None
