"""Review statistics (autocoding rate, QC precision, agreement, kappa), the dashboard figures,
batch rows in review, and the export for training."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from service.reviews.kappa import cohen_kappa, wilson_interval
from tests.service.conftest import Service
from tests.service.test_batches import backlog_csv, submit, worker
from tests.service.test_reviews import TEXTS, add_key, classify, decide, queue_page, use_queue
from training.corpus import COLUMNS, load_corpus


def stats(svc: Service) -> dict:
    response = svc.client.get("/v1/reviews/stats", headers=svc.headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "c"]),
        (["a", "b", "a", "b"], ["b", "a", "b", "a"]),
        (["x"] * 3 + ["y"] * 7, ["x"] * 2 + ["y"] * 8),
    ],
)
def test_cohen_kappa_matches_scikit_learn(first: list[str], second: list[str]) -> None:
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


def test_kappa_and_interval_edge_cases() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement is 1: undefined
    lo, hi = wilson_interval(10, 10) or (0, 0)
    assert 0.69 < lo < 0.73 and hi == 1.0
    assert wilson_interval(0, 0) is None


def test_stats_measure_autocoding_precision_and_agreement(svc: Service) -> None:
    use_queue(svc, qc_rate=1.0)  # every auto-coded record is checked
    results = classify(svc, TEXTS)
    flagged = sum(r["needs_review"] for r in results)
    before = stats(svc)
    assert before["autocoding"] == {
        "records": len(TEXTS),
        "auto_coded": len(TEXTS) - flagged,
        "needing_review": flagged,
        "autocoding_rate": round((len(TEXTS) - flagged) / len(TEXTS), 4),
    }
    assert before["quality_control"]["sampled"] == len(TEXTS) - flagged
    assert before["quality_control"]["precision"] is None
    assert before["queue"]["size"] == len(TEXTS)

    qc = queue_page(svc, reason="qc_sample", limit=200)["items"]
    right, wrong = qc[:3], qc[3:5]
    for item in right:
        assert decide(svc, item, "accept", code=item["model_code"]).status_code == 200
    for item in wrong:
        decide(svc, item, "recode", code="0907" if item["section"] != "09" else "020111")
    figures = stats(svc)
    control = figures["quality_control"]
    assert control["reviewed"] == 5 and control["correct"] == 3 and control["precision"] == 0.6
    lo, hi = control["precision_ci95"]
    assert lo < 0.6 < hi

    agreement = figures["model_analyst_agreement"]
    assert agreement["n"] == 5 and agreement["exact_agreement"] == 0.6
    by_section = {row["section"]: row for row in agreement["by_section"]}
    assert sum(row["n"] for row in by_section.values()) == 5
    for item in right:
        assert by_section[item["section"]]["exact_agreement"] is not None
    assert figures["queue"]["by_state"]["decided"] == 5
    assert figures["queue"]["size"] == len(TEXTS) - 5
    assert figures["throughput"]["decided_last_24h"] == 5
    assert figures["throughput"]["decided_per_day"][-1]["decided"] == 5
    assert figures["throughput"]["actions_last_24h"] == 5


def test_kappa_on_double_coded_items(svc: Service) -> None:
    use_queue(svc, qc_rate=1.0, double_coding_rate=1.0)
    classify(svc, TEXTS)
    items = queue_page(svc, limit=200)["items"][:6]
    _, bob = add_key(svc, "analyst", "bob")
    first = ["050229", "050229", "020111", "020111", "0907", "050229"]
    second = ["050229", "020111", "020111", "020111", "0907", "0907"]
    for item, a, b in zip(items, first, second, strict=True):
        assert decide(svc, item, "recode", code=a).status_code == 200
        assert decide(svc, item, "recode", bob, code=b).status_code == 200
    double = stats(svc)["double_coding"]
    assert double["pairs"] == 6 and double["items"] == len(queue_page(svc, state="all")["items"])
    assert double["observed_agreement"] == round(4 / 6, 4)
    assert double["kappa"] == pytest.approx(cohen_kappa_score(first, second), abs=1e-4)
    sections = [c[:2] for c in first], [c[:2] for c in second]
    assert double["kappa_section"] == pytest.approx(cohen_kappa_score(*sections), abs=1e-4)


def test_batch_rows_in_review_stats_and_dashboard(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    batch = submit(svc, backlog_csv(60, distinct=12))
    assert worker(svc).run_once() == "succeeded"
    done = svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers()).json()
    classify(svc, TEXTS)

    rows = svc.client.get(f"/v1/batches/{batch['id']}/reviews", headers=svc.headers()).json()
    assert rows["total"] == done["rows_need_review"] > 0
    first = rows["rows"][0]
    assert first["state"] == "pending" and first["final_code"] is None
    assert first["case_id"].startswith("C")
    decide(svc, {"id": first["classification_id"], "version": 1}, "recode", code="0907")
    again = svc.client.get(f"/v1/batches/{batch['id']}/reviews", headers=svc.headers()).json()
    decided = next(r for r in again["rows"] if r["classification_id"] == first["classification_id"])
    assert decided["final_code"] == "0907" and decided["final_by"] == "test analyst"
    _, stranger = add_key(svc, "submitter", "other")
    hidden = svc.client.get(f"/v1/batches/{batch['id']}/reviews", headers=stranger)
    assert hidden.status_code == 404

    auto = stats(svc)["autocoding"]
    classified_batch_rows = done["rows_done"] - done["rows_rejected"]
    assert auto["records"] == len(TEXTS) + classified_batch_rows

    response = svc.client.get("/v1/reviews/dashboard", headers=svc.headers("analyst"))
    assert response.status_code == 200, response.text
    board = response.json()
    assert [s["code"] for s in board["categories"]][-1] == "NONE"
    assert len(board["categories"]) == 12 and board["drill"] is None
    by_batch = {b["batch"]: b for b in board["by_batch"]}
    assert sum(by_batch["api"]["categories"].values()) == by_batch["api"]["records"] == len(TEXTS)
    batch_counts = by_batch[batch["id"]]
    assert batch_counts["rejected"] == done["rows_rejected"]
    assert sum(batch_counts["categories"].values()) == classified_batch_rows
    assert batch_counts["records"] == classified_batch_rows
    assert batch_counts["label"] == "backlog.csv"
    today = board["by_day"][-1]
    assert len(board["by_day"]) == 30
    assert sum(today["categories"].values()) == len(TEXTS) + classified_batch_rows
    assert board["backlog"][-1]["open"] == stats(svc)["queue"]["size"]
    assert board["autocoding"][-1]["records"] == auto["records"]
    assert board["autocoding"][-1]["rate"] == pytest.approx(auto["autocoding_rate"], abs=1e-3)
    assert board["summary"]["records"] == auto["records"]
    assert {b["batch"] for b in board["choices"]["batches"]} == {"api", batch["id"]}
    assert [s["name"] for s in board["choices"]["submitters"]] == ["test submitter"]


def test_export_gives_decided_items_as_training_rows(svc: Service, tmp_path: Path) -> None:
    use_queue(svc, qc_rate=0.0)
    classify(svc, TEXTS)
    items = queue_page(svc, limit=200)["items"]
    decide(svc, items[0], "recode", code="050229", comment="bike")
    decide(svc, items[1], "not_an_offence")
    decide(svc, items[2], "escalate")  # not decided: not exported
    assert svc.client.get("/v1/reviews/export", headers=svc.headers("analyst")).status_code == 403
    response = svc.client.get("/v1/reviews/export", headers=svc.headers("admin"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["classification_id"] for r in rows] == [items[0]["id"], items[1]["id"]]
    assert [r["iccs_code"] for r in rows] == ["050229", "NONE"]
    for row in rows:
        assert row["origin"] == "real" and row["source"] == "review" and row["split"] == "train"
        assert row["labeller"] == "review:test analyst" and row["text"] in TEXTS
        assert row["model_version"] == "iccs-classifier:tiny-1" and row["decided_at"]
    path = tmp_path / "export.csv"
    path.write_text(response.text)
    frame = load_corpus(path)  # a valid corpus-format file as it is
    assert set(COLUMNS) <= set(frame.columns)
    assert list(frame.columns[:8]) == COLUMNS[:8]
