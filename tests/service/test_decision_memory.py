"""The service's decision memory: what it holds, and when a process sees new decisions."""

from __future__ import annotations

import pickle

from iccs.memory import RememberingClassifier
from service.correspondence import store
from service.correspondence.tables import TableColumns, read_table
from service.decision_memory import MemoryHolder, memory_rows
from tests.service.conftest import Service
from tests.service.test_correspondence import NATIONAL, VALIDATED
from tests.service.test_reviews import classify, decide, queue_page, use_queue

COLUMNS = TableColumns(code="code", title="name", iccs="iccs")


def test_memory_holds_validated_rows_and_decisions_once(svc: Service) -> None:
    use_queue(svc, qc_rate=0.0)
    with svc.db.sessionmaker() as session:
        store.import_table(session, "EC", read_table(VALIDATED.encode(), COLUMNS, True), "me")
        rows = read_table(NATIONAL.encode(), TableColumns(), False)
        store.draft(session, svc.app.state.models.current, "EC-DRAFT", rows)
    classify(svc, ["lost wallet reported, no crime"])
    items = queue_page(svc)["items"]
    api_item = next(i for i in items if i["source"] == "api")
    draft_item = next(i for i in items if i["source"] == "correspondence:EC-DRAFT")
    assert decide(svc, api_item, "recode", code="0502").status_code == 200
    assert decide(svc, draft_item, "recode", code="0701").status_code == 200
    with svc.db.sessionmaker() as session:
        remembered = sorted((r.text[:12], r.code) for r in memory_rows(session))
    assert remembered == sorted(
        [
            ("Hurto de cel", "050221"),
            ("Abigeato agr", "0502"),
            ("Contravenció", "NONE"),
            ("lost wallet ", "0502"),
            (draft_item["text"][:12], "0701"),  # through its validated table row, not twice
        ]
    )


def test_a_process_sees_new_decisions_at_its_next_refresh(svc: Service) -> None:
    classifier = svc.app.state.models.current.classifier
    holder = MemoryHolder(svc.db, refresh_seconds=3600)
    assert holder.predictor(classifier) is classifier  # nothing validated yet
    with svc.db.sessionmaker() as session:
        store.import_table(session, "EC", read_table(VALIDATED.encode(), COLUMNS, True), "me")
    assert holder.predictor(classifier) is classifier  # not due yet
    holder.invalidate()
    remembering = holder.predictor(classifier)
    assert isinstance(remembering, RememberingClassifier) and len(remembering.memory) == 3
    assert holder.predictor(classifier) is remembering  # kept while nothing changes
    shipped = pickle.loads(pickle.dumps(remembering))  # Ray ships it to its workers
    text = ["Abigeato agravado de ganado mayor"]
    assert (shipped.predict_proba(text) == remembering.predict_proba(text)).all()
    assert MemoryHolder(svc.db, 0, enabled=False).predictor(classifier) is classifier
