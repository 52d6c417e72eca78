"""Tags over HTTP: returned and stored by /v1/classify, in batch results, corrected in review
(audited, exported for training) and counted by /v1/reports/counts."""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from iccs.tags import TAGS
from service.db.models import Classification, ReviewAuditEvent, ReviewItem
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_batches import backlog_csv, results, submit, worker
from tests.service.test_reviews import TEXTS, classify, decide, queue_page, use_queue


def test_classify_returns_and_stores_one_value_per_tag(svc: Service) -> None:
    body = {"text": "stabbed the victim in the arm with a knife causing serious injury"}
    response = svc.client.post("/v1/classify", json=body, headers=svc.headers())
    assert response.status_code == 200, response.text
    result = response.json()
    assert [t["tag"] for t in result["tags"]] == list(TAGS)
    for tag in result["tags"]:
        assert tag["value"] in TAGS[tag["tag"]] and 0.0 < tag["confidence"] <= 1.0
    model = svc.app.state.models.current.classifier
    expected = [t.value for t in model.suggest([body["text"]])[0].tags]
    assert [t["value"] for t in result["tags"]] == expected
    with svc.db.session() as session:
        row = session.get(Classification, uuid.UUID(result["classification_id"]))
        assert row is not None and row.tags == result["tags"]
    detail = svc.client.get(
        f"/v1/classifications/{result['classification_id']}", headers=svc.headers()
    ).json()
    assert detail["tags"] == result["tags"]


def test_a_bundle_without_a_tag_model_gives_an_empty_list(
    service_factory: ServiceFactory, tiny_bundle: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "models" / "iccs-classifier" / "bare"
    shutil.copytree(tiny_bundle, bare)
    shutil.rmtree(bare / "tags")
    with service_factory(model_path=bare) as svc:
        response = svc.client.post("/v1/classify", json={"text": "fraud"}, headers=svc.headers())
        assert response.status_code == 200 and response.json()["tags"] == []
        counts = svc.client.get("/v1/reports/counts", headers=svc.headers("analyst")).json()
        cyber = {c["value"]: c["count"] for c in counts["total"]["tags"]["cyber"]}
        assert cyber == {"not_tagged": 1}


def test_analysts_correct_tags_with_their_decision_and_the_audit_keeps_both(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, TEXTS)
    item = queue_page(svc, limit=1)["items"][0]
    detail = svc.client.get(f"/v1/reviews/{item['id']}", headers=svc.headers("analyst")).json()
    model_tags = {t["tag"]: t["value"] for t in detail["model_tags"]}
    assert set(model_tags) == set(TAGS) and detail["tag_values"]["weapon"][0] == "firearm"

    bad = decide(svc, item, "recode", code="0502", tags={"weapon": "spoon"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    bad = decide(svc, item, "recode", code="0502", tags={"colour": "red"})
    assert bad.status_code == 422
    bad = decide(svc, item, "skip", tags={"cyber": "not_cyber"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_tags"

    fix = {"cyber": "cyber_enabled", "weapon": "firearm"}
    decided = decide(svc, item, "recode", code="0502", tags=fix)
    assert decided.status_code == 200, decided.text
    final = decided.json()["final_tags"]
    assert final == model_tags | fix  # the others keep the model's value
    with svc.db.session() as session:
        event = session.scalars(
            select(ReviewAuditEvent).where(ReviewAuditEvent.item_id == uuid.UUID(item["id"]))
        ).one()
        assert event.before["final_tags"] is None and event.after["final_tags"] == final
        assert event.tags == fix  # the corrections given, like the code given
    trail = svc.client.get(f"/v1/reviews/{item['id']}/audit", headers=svc.headers("analyst"))
    assert trail.json()[0]["tags"] == fix and trail.json()[0]["code"] == "0502"
    record = svc.client.get(f"/v1/classifications/{item['id']}", headers=svc.headers()).json()
    assert record["final_tags"] == final and record["final_code"] == "0502"

    export = svc.client.get("/v1/reviews/export", headers=svc.headers("admin"))
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [row[tag] for row in rows for tag in TAGS] == [final[tag] for tag in TAGS]


def counts(svc: Service, role: str = "analyst", **params: str) -> dict:
    response = svc.client.get("/v1/reports/counts", params=params, headers=svc.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_counts_cross_sections_with_tags_after_review(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    results = classify(svc, TEXTS)
    report = counts(svc)
    assert report["total"]["records"] == len(TEXTS) and report["group_by"] == "section"
    by_code = {row["code"]: row for row in report["rows"]}
    expected: dict[str, int] = {}
    for r in results:
        code = r["suggestions"][0]["code"]
        key = code if code == "NONE" else code[:2]
        expected[key] = expected.get(key, 0) + 1
    assert {code: row["records"] for code, row in by_code.items()} == expected
    for row in report["rows"]:
        for tag in TAGS:
            assert sum(c["count"] for c in row["tags"][tag]) == row["records"]
    said = [{t["tag"]: t["value"] for t in r["tags"]} for r in results]
    related = sum(s["cyber"] in ("cyber_dependent", "cyber_enabled") for s in said)
    assert report["total"]["cyber_related_share"] == related / len(TEXTS)

    # An analyst's decision moves the record to its final section and its corrected tags.
    item = queue_page(svc, limit=1)["items"][0]
    decide(svc, item, "recode", code="0701", tags={"cyber": "cyber_enabled"})
    after = counts(svc, tag="cyber")
    fraud = next(row for row in after["rows"] if row["code"] == "07")
    assert set(fraud["tags"]) == {"cyber"}
    assert any(c["value"] == "cyber_enabled" and c["count"] >= 1 for c in fraud["tags"]["cyber"])

    divisions = counts(svc, group_by="division")
    assert all(len(r["code"]) == 4 or r["code"] in ("NONE", "02", "05") for r in divisions["rows"])
    assert divisions["total"]["records"] == len(TEXTS)

    table = svc.client.get(
        "/v1/reports/counts", params={"format": "csv"}, headers=svc.headers("analyst")
    )
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(table.text)))
    assert lines[-1]["code"] == "total" and int(lines[-1]["records"]) == len(TEXTS)
    assert "cyber:cyber_dependent" in lines[0] and "weapon:knife_or_sharp" in lines[0]
    assert float(lines[-1]["cyber_related_share"]) == round(
        after["total"]["cyber_related_share"], 4
    )

    future = counts(svc, **{"from": "2999-01-01T00:00:00Z"})
    assert future["rows"] == [] and future["total"]["records"] == 0
    window = counts(svc, **{"from": "2020-01-01T00:00:00Z", "to": "2999-01-01T00:00:00+00:00"})
    assert window["total"]["records"] == len(TEXTS)


def test_counts_need_an_analyst_and_valid_filters(svc: Service) -> None:
    assert svc.client.get("/v1/reports/counts").status_code == 401
    assert svc.client.get("/v1/reports/counts", headers=svc.headers()).status_code == 403
    for params in (
        {"tag": "colour"},
        {"group_by": "class"},
        {"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"},
        {"from": "2025-01-01T00:00:00"},  # no offset: ambiguous, as on every other endpoint
        {"format": "xml"},
    ):
        response = svc.client.get("/v1/reports/counts", params=params, headers=svc.headers("admin"))
        assert response.status_code == 422, params
        assert set(response.json()["error"]) >= {"code", "message"}


def test_batches_carry_tags_in_results_and_counts(svc: Service) -> None:
    batch = submit(svc, backlog_csv(60, distinct=6))
    assert worker(svc).run_once() == "succeeded"
    records = [json.loads(line) for line in results(svc, batch["id"]).splitlines()]
    assert all([t["tag"] for t in r["tags"]] == list(TAGS) for r in records[:-1])
    assert records[-1]["tags"] == []  # the rejected row
    rows = list(csv.DictReader(io.StringIO(results(svc, batch["id"], "csv"))))
    assert [rows[0][f"tag_{tag}"] for tag in TAGS] == [t["value"] for t in records[0]["tags"]]
    with svc.db.session() as session:  # rows for review keep their tags
        stored = session.scalars(
            select(Classification).where(Classification.source == batch["id"])
        ).all()
        assert stored and all(row.tags and len(row.tags) == len(TAGS) for row in stored)

    report = counts(svc, batch=batch["id"])
    assert report["total"]["records"] == len(records)
    rejected = next(row for row in report["rows"] if row["code"] == "rejected")
    assert rejected["records"] == 1
    assert counts(svc, batch="no-such-batch")["total"]["records"] == 0

    # Decided review rows move from the model's code and tags to the analysts': the decision
    # applies to every open row with the same text (scope=group), each keeping its other tags.
    use_queue(svc, qc_rate=0.0)
    item = queue_page(svc, batch=batch["id"], limit=1)["items"][0]
    before = counts(svc, batch=batch["id"], tag="weapon")
    decision = decide(svc, item, "recode", code="0201", tags={"weapon": "firearm"})
    assert decision.status_code == 200
    moved = decision.json()["applied_to"]
    assert moved > 1  # the backlog repeats each text
    with svc.db.session() as session:
        decided = session.scalars(
            select(ReviewItem).where(
                ReviewItem.source == batch["id"], ReviewItem.state == "decided"
            )
        ).all()
        assert len(decided) == moved
        assert all(i.final_code == "0201" and i.final_tags for i in decided)
        assert all((i.final_tags or {}).get("weapon") == "firearm" for i in decided)
        assert all(set(i.final_tags or {}) == set(TAGS) for i in decided)
    after = counts(svc, batch=batch["id"], tag="weapon")
    assert after["total"]["records"] == before["total"]["records"]

    def records_in(report: dict, code: str) -> int:
        return next((row["records"] for row in report["rows"] if row["code"] == code), 0)

    moved_from = item["model_code"][:2] if item["model_code"] != "NONE" else "NONE"
    if moved_from != "02":
        assert records_in(after, "02") == records_in(before, "02") + moved
        assert records_in(after, moved_from) == records_in(before, moved_from) - moved
    firearms = {c["value"]: c["count"] for c in after["total"]["tags"]["weapon"]}
    assert firearms["firearm"] >= moved
    everything = counts(svc)
    assert everything["total"]["records"] == len(records)  # no API records yet


def test_dashboard_has_the_counts_table(svc: Service) -> None:
    page = svc.client.get("/dashboard")
    assert page.status_code == 200
    assert 'id="counts-body"' in page.text and "Download CSV" in page.text
    assert svc.client.get("/static/counts.js").status_code == 200


@pytest.mark.postgres
def test_tags_on_postgres(service_factory: ServiceFactory, postgres_url: str) -> None:
    """JSONB columns: stored tags, a corrected decision and the counts (this test's rows only:
    the schema is shared with the other PostgreSQL tests)."""
    started = datetime.now(UTC).isoformat()
    with service_factory(database_url=postgres_url) as svc:
        use_queue(svc, qc_rate=0.0)
        mine = {r["classification_id"] for r in classify(svc, TEXTS)}
        try:
            _decide_and_count(svc, mine, started)
        finally:  # leave the shared schema as it was (its review rows go with the CASCADE)
            with svc.db.session() as session:
                ids = [uuid.UUID(i) for i in mine]
                session.execute(delete(Classification).where(Classification.id.in_(ids)))
                session.commit()


def _decide_and_count(svc: Service, mine: set[str], started: str) -> None:
    item = next(i for i in queue_page(svc, limit=200)["items"] if i["id"] in mine)
    decided = decide(svc, item, "recode", code="0701", tags={"cyber": "cyber_dependent"})
    assert decided.status_code == 200
    assert decided.json()["final_tags"]["cyber"] == "cyber_dependent"
    report = counts(svc, **{"from": started})
    assert report["total"]["records"] == len(TEXTS)
    fraud = next(row for row in report["rows"] if row["code"] == "07")
    values = {c["value"]: c["count"] for c in fraud["tags"]["cyber"]}
    assert values.get("cyber_dependent", 0) >= 1
