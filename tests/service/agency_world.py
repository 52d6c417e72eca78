"""Two agencies (north, south) sharing one service, each with a submitter, an analyst and an
admin, plus an analyst and an admin with the cross-agency grant; and what each of them stores
(`populate`): API classifications, a batch, review items, one group decision."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from service.api_keys import create_api_key
from service.config import MemorySettings
from service.db.models import Batch, Classification, ReviewAuditEvent, ReviewItem
from tests.service.conftest import Service, ServiceFactory
from tests.service.test_batches import worker
from tests.service.test_reviews import use_queue

AGENCIES = ("north", "south")
OTHER = {"north": "south", "south": "north"}
ROLES = ("submitter", "analyst", "admin")
SHARED_TEXT = "common assault by beating"  # in both agencies: one text, two groups
TEXTS = {
    "north": [SHARED_TEXT, "theft of a pedal cycle", "lost wallet reported", "took something"],
    "south": [SHARED_TEXT, "graffiti sprayed on the school wall", "fraud"],
}
BATCH_ROWS = {"north": 12, "south": 7}  # different sizes, so counts tell the agencies apart
RECODED = "0701"  # north's analysts recode SHARED_TEXT to this (fraud: not what the model says)
BATCH_TEXTS = ["lost wallet reported", "missing person report", "theft of a pedal cycle"]


@dataclass
class AgencyData:
    api_ids: list[str] = field(default_factory=list)  # classifications stored over the API
    batch_id: str = ""
    items: set[str] = field(default_factory=set)  # review items, API and batch
    decided: str = ""  # the API item of SHARED_TEXT, decided for its group

    @property
    def records(self) -> int:
        return len(self.api_ids)


@dataclass
class World:
    svc: Service
    headers: dict[str, dict[str, str]]  # "north:analyst", "cross:admin", ... -> headers
    key_ids: dict[str, int]
    data: dict[str, AgencyData]

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        return self.svc.client.request(method, url, headers=self.headers[who], **kwargs)

    def ok(self, who: str, url: str, **params: Any) -> Any:
        response = self.call(who, "GET", url, params=params)
        assert response.status_code == 200, (who, url, response.text)
        return response


def add_key(svc: Service, role: str, agency: str, cross: bool = False) -> tuple[int, str]:
    with svc.db.session() as session:
        row, key = create_api_key(
            session, role, f"{agency} {role}", agency=agency, cross_agency=cross
        )
        return row.id, key


def batch_csv(agency: str) -> bytes:
    lines = ["case_id,offence"]
    for i in range(BATCH_ROWS[agency]):
        lines.append(f"{agency}-B{i},{BATCH_TEXTS[i % len(BATCH_TEXTS)]} {agency} ref {i % 4}")
    return ("\n".join(lines) + "\n").encode()


def populate(world: World) -> None:
    svc = world.svc
    for agency in AGENCIES:
        body = {
            "items": [
                {"id": str(i), "case_id": f"{agency}-{i}", "text": text}
                for i, text in enumerate(TEXTS[agency])
            ]
        }
        response = world.call(f"{agency}:submitter", "POST", "/v1/classify", json=body)
        assert response.status_code == 200, response.text
        world.data[agency].api_ids = [r["classification_id"] for r in response.json()["results"]]
        response = world.call(
            f"{agency}:submitter",
            "POST",
            "/v1/batches",
            files={"file": ("backlog.csv", batch_csv(agency), "text/csv")},
            data={"id_column": "case_id", "text_column": "offence"},
        )
        assert response.status_code == 202, response.text
        world.data[agency].batch_id = response.json()["id"]
    for _ in AGENCIES:
        assert worker(svc).run_once() == "succeeded"
    with svc.db.session() as session:  # what each agency stored, as the database has it
        for agency in AGENCIES:
            data = world.data[agency]
            rows = session.scalars(select(Classification).where(Classification.agency == agency))
            stored = {str(row.id): row.source for row in rows}
            assert set(data.api_ids) <= set(stored)
            assert set(stored.values()) == {"api", data.batch_id}
            assert session.get(Batch, data.batch_id).agency == agency  # type: ignore[union-attr]
    for agency in AGENCIES:
        page = world.ok(f"{agency}:analyst", "/v1/reviews", state="all", limit=200).json()
        world.data[agency].items = {item["id"] for item in page["items"]}
        assert set(world.data[agency].api_ids) <= world.data[agency].items  # qc_rate 1
        assert len(world.data[agency].items) > len(world.data[agency].api_ids)  # batch rows too
    north = world.data["north"]
    north.decided = north.api_ids[0]
    item = world.ok("north:analyst", f"/v1/reviews/{north.decided}").json()
    assert item["group"]["size"] == 1  # the same text in south is not part of the group
    response = world.call(
        "north:analyst",
        "POST",
        f"/v1/reviews/{north.decided}/decision",
        json={"action": "recode", "code": RECODED, "version": item["version"], "scope": "group"},
    )
    assert response.status_code == 200 and response.json()["applied_to"] == 1, response.text
    south_same = world.ok("south:analyst", f"/v1/reviews/{world.data['south'].api_ids[0]}")
    assert south_same.json()["state"] != "decided"  # north's decision stayed in north
    with svc.db.session() as session:
        events = session.scalars(select(ReviewAuditEvent)).all()
        assert {(str(e.item_id), e.agency) for e in events} == {(north.decided, "north")}
        stored_item = session.get(ReviewItem, uuid.UUID(north.decided))
        assert stored_item is not None and stored_item.agency == "north"


@contextmanager
def agencies_world(service_factory: ServiceFactory, **overrides: Any) -> Iterator[World]:
    """An app with the keys of both agencies and the cross-agency ones; no data yet."""
    overrides.setdefault("memory", MemorySettings(refresh_seconds=0))
    with service_factory(roles=("admin",), **overrides) as svc:  # a default-agency admin
        use_queue(svc, qc_rate=1.0)  # every record reaches the queue
        headers, key_ids = {}, {}
        for agency in AGENCIES:
            for role in ROLES:
                key_ids[f"{agency}:{role}"], key = add_key(svc, role, agency)
                headers[f"{agency}:{role}"] = {"Authorization": f"Bearer {key}"}
        for role in ("analyst", "admin"):
            key_ids[f"cross:{role}"], key = add_key(svc, role, "hq", cross=True)
            headers[f"cross:{role}"] = {"Authorization": f"Bearer {key}"}
        yield World(svc, headers, key_ids, {agency: AgencyData() for agency in AGENCIES})


def review_ids(world: World, who: str, **params: Any) -> set[str]:
    page = world.ok(who, "/v1/reviews", state="all", limit=200, **params).json()
    return {item["id"] for item in page["items"]}
