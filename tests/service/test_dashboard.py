"""The dashboard within a scope: drill-down section -> division -> group, filters by batch,
period and submitting key, rates with their n, and each chart's table as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from service.db.models import Classification
from tests.service.conftest import Service
from tests.service.test_batches import backlog_csv, submit, worker
from tests.service.test_reviews import TEXTS, add_key, classify, decide, queue_page, use_queue


def board(svc: Service, status: int = 200, **params: Any) -> dict:
    response = svc.client.get(
        "/v1/reviews/dashboard", params=params, headers=svc.headers("analyst")
    )
    assert response.status_code == status, response.text
    return dict(response.json())


def table(svc: Service, name: str, **params: Any) -> list[dict[str, str]]:
    response = svc.client.get(
        f"/v1/reviews/dashboard/{name}.csv", params=params, headers=svc.headers("analyst")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    return list(csv.DictReader(io.StringIO(response.text)))


def first_codes(results: list[dict]) -> list[str]:
    return [r["suggestions"][0]["code"] for r in results]


def test_drill_down_from_section_to_division_to_group(svc: Service) -> None:
    codes = first_codes(classify(svc, TEXTS))
    top = board(svc)
    assert top["summary"]["records"] == len(TEXTS) and top["path"] == []
    theft = [c for c in codes if c.startswith("05")]
    assert sum(d["categories"].get("05", 0) for d in top["by_day"]) == len(theft)

    section = board(svc, code="05")
    assert section["drill"] == {
        "code": "05",
        "title": "Acts against property only",
        "level": "section",
    }
    assert [c["code"] for c in section["categories"]][:2] == ["0501", "0502"]
    assert section["categories"][-1]["code"] == "05"  # coded no finer than the section
    assert section["summary"]["records"] == len(theft)
    counted = sum(section["by_batch"][0]["categories"].values())
    assert counted == len(theft)
    expected = {c[:4] if len(c) >= 4 else c for c in theft}
    assert set(section["by_batch"][0]["categories"]) == expected

    division = board(svc, code="0502")
    assert [p["code"] for p in division["path"]] == ["05", "0502"]
    assert all(len(c["code"]) == 5 for c in division["categories"][:-1])
    assert division["summary"]["records"] == sum(c.startswith("0502") for c in codes)
    group = board(svc, code="05022")
    assert all(len(c["code"]) == 6 for c in group["categories"][:-1])
    assert board(svc, 422, code="020111")["error"]["code"] == "invalid_code"  # a leaf
    assert board(svc, 422, code="99")["error"]["code"] == "invalid_code"


def test_filters_by_batch_period_and_submitting_key(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, TEXTS)
    other_id, other = add_key(svc, "submitter", "region north")
    north = svc.client.post(
        "/v1/classify", json={"items": [{"id": "n1", "text": TEXTS[0]}]}, headers=other
    )
    assert north.status_code == 200
    batch = submit(svc, backlog_csv(30, distinct=6))
    assert worker(svc).run_once() == "succeeded"
    done = svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers()).json()
    batch_rows = done["rows_done"] - done["rows_rejected"]

    everything = board(svc)
    assert everything["summary"]["records"] == len(TEXTS) + 1 + batch_rows
    assert board(svc, batch="api")["summary"]["records"] == len(TEXTS) + 1
    only_batch = board(svc, batch=batch["id"])
    assert only_batch["summary"]["records"] == batch_rows
    assert [b["batch"] for b in only_batch["by_batch"]] == [batch["id"]]
    assert board(svc, api_key_id=other_id)["summary"]["records"] == 1
    names = {s["name"] for s in everything["choices"]["submitters"]}
    assert names == {"test submitter", "region north"}

    # Move the region's record ten days back: it leaves a 5-day period and enters its day.
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    with svc.db.session() as session:
        session.execute(
            update(Classification)
            .where(Classification.id == uuid.UUID(north.json()["results"][0]["classification_id"]))
            .values(created_at=ten_days_ago)
        )
    today = date.today()
    recent = board(svc, since=(today - timedelta(days=4)).isoformat())
    assert recent["summary"]["records"] == len(TEXTS) + batch_rows and len(recent["by_day"]) == 5
    back = ten_days_ago.date().isoformat()
    then = board(svc, since=back, until=back)
    assert then["summary"]["records"] == 1 and then["by_day"][0]["records"] == 1
    # the batch finished today: outside that day
    assert [(b["batch"], b["records"]) for b in then["by_batch"]] == [("api", 1)]
    reversed_period = board(svc, 422, since=today.isoformat(), until=back)
    assert reversed_period["error"]["code"] == "invalid_period"
    too_long = board(svc, 422, since="2020-01-01", until=today.isoformat())
    assert too_long["error"]["code"] == "invalid_period"


def test_rates_carry_their_n_and_agreement_counts_texts(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, [*TEXTS, "TOOK something", "took  something"])  # TEXTS has it once
    item = next(i for i in queue_page(svc, limit=200)["items"] if i["text"] == "took something")
    decided = decide(svc, item, "accept").json()
    assert decided["applied_to"] == 3
    figures = board(svc)
    day = figures["autocoding"][-1]
    assert day["records"] == len(TEXTS) + 2 and 0 < day["auto_coded"] < day["records"]
    assert day["rate"] == round(day["auto_coded"] / day["records"], 4)
    agreement = figures["agreement"]
    assert agreement["n"] == 3 and agreement["texts"] == 1
    assert agreement["exact_agreement"] == 1.0
    (section,) = agreement["by_category"]
    assert section["code"] == item["model_code"][:2] and section["n"] == 3
    assert section["texts"] == 1


def test_every_chart_table_downloads_as_csv(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, TEXTS)
    item = queue_page(svc)["items"][0]
    decide(svc, item, "recode", code="0502")
    figures = board(svc)
    by_day = table(svc, "by_day")
    assert sum(int(r["records"]) for r in by_day) == figures["summary"]["records"]
    titles = {c["code"]: c["title"] for c in figures["categories"]}
    assert all(titles[r["code"]] == r["title"] for r in by_day)
    by_batch = table(svc, "by_batch")
    assert {r["batch"] for r in by_batch} == {"api"}
    assert sum(int(r["records"]) for r in by_batch) == figures["summary"]["records"]
    autocoding = table(svc, "autocoding")
    assert len(autocoding) == 30 and autocoding[-1]["records"] == str(len(TEXTS))
    assert float(autocoding[-1]["autocoding_rate"]) == figures["autocoding"][-1]["rate"]
    backlog = table(svc, "backlog")
    assert int(backlog[-1]["open_items"]) == figures["backlog"][-1]["open"]
    agreement = table(svc, "agreement")
    assert [(r["code"], r["decided"], r["texts"]) for r in agreement] == [
        (item["section"], "1", "1")
    ]
    drilled = table(svc, "by_day", code="05")
    assert all(r["code"].startswith("05") for r in drilled)
    missing = svc.client.get("/v1/reviews/dashboard/nope.csv", headers=svc.headers("analyst"))
    assert missing.status_code == 422
    refused = svc.client.get("/v1/reviews/dashboard/by_day.csv", headers=svc.headers())
    assert refused.status_code == 403
