"""Agency isolation, endpoint by endpoint: two agencies (north, south), each with a submitter, an
analyst and an admin, plus an analyst and an admin with the cross-agency grant.

Every route of the app must be named below with its decision (no stored data, shared, a write,
a lookup by id, or a listing/aggregate); a new route without one fails
`test_every_route_has_an_isolation_decision`. Lookups by id: the other agency's keys get the
same answer as for an id that does not exist (404, never 403); listings and aggregates: each
agency sees exactly its own, the cross-agency keys see both (and may narrow to one).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.service.agency_world import (
    AGENCIES,
    BATCH_ROWS,
    OTHER,
    RECODED,
    ROLES,
    SHARED_TEXT,
    AgencyData,
    World,
    agencies_world,
    populate,
    review_ids,
)
from tests.service.conftest import Service, ServiceFactory

# Routes holding no agency's stored data: health, the static taxonomy, the one served model,
# the HTML shells of the review and dashboard pages, the API documents.
NO_STORED_DATA = {
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /v1/taxonomy",
    "GET /v1/taxonomy/search",
    "GET /v1/taxonomy/{code}",
    "GET /v1/models/current",
    "POST /v1/models/reload",
    "GET /review",
    "GET /dashboard",
    "GET /static/{name}",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /redoc",
}
# Correspondence tables are shared by every agency (see the README); their drafts' review items
# are the drafting agency's (checked in test_correspondence_tables_are_shared_their_drafts_not).
SHARED = {
    "GET /v1/correspondences",
    "GET /v1/correspondences/{scheme}",
    "POST /v1/correspondences/{scheme}/draft",
    "POST /v1/correspondences/{scheme}/import",
}
# Writes store under the caller's agency; the reads below prove it. Keys: test_key_management.
WRITES = {"POST /v1/classify", "POST /v1/batches", "POST /v1/keys", "DELETE /v1/keys/{prefix}"}


# --- lookups by id ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ById:
    """A route taking an id: `url` from an agency's data, the least role that may call it, and
    what its own agency (and the cross-agency keys) get for it."""

    url: Callable[[AgencyData], str]
    role: str
    status: int
    body: dict[str, Any] | None = None


_UNKNOWN = AgencyData(
    api_ids=[str(uuid.uuid4())], batch_id=str(uuid.uuid4()), decided=str(uuid.uuid4())
)
BY_ID: dict[str, ById] = {
    "GET /v1/batches/{batch_id}": ById(lambda d: f"/v1/batches/{d.batch_id}", "submitter", 200),
    "GET /v1/batches/{batch_id}/results": ById(
        lambda d: f"/v1/batches/{d.batch_id}/results", "submitter", 200
    ),
    "DELETE /v1/batches/{batch_id}": ById(  # 409: it has finished (nothing is cancelled)
        lambda d: f"/v1/batches/{d.batch_id}", "submitter", 409
    ),
    "GET /v1/batches/{batch_id}/reviews": ById(
        lambda d: f"/v1/batches/{d.batch_id}/reviews", "submitter", 200
    ),
    "GET /v1/classifications/{classification_id}": ById(
        lambda d: f"/v1/classifications/{d.api_ids[0]}", "submitter", 200
    ),
    "GET /v1/reviews/{item_id}": ById(lambda d: f"/v1/reviews/{d.api_ids[0]}", "analyst", 200),
    "GET /v1/reviews/{item_id}/audit": ById(
        lambda d: f"/v1/reviews/{d.api_ids[0]}/audit", "analyst", 200
    ),
    "POST /v1/reviews/{item_id}/decision": ById(  # 409: a stale version changes nothing
        lambda d: f"/v1/reviews/{d.api_ids[-1]}/decision",
        "analyst",
        409,
        {"action": "accept", "version": 999},
    ),
    "POST /v1/reviews/{item_id}/assign": ById(
        lambda d: f"/v1/reviews/{d.api_ids[-1]}/assign",
        "admin",
        409,
        {"analyst_key_ids": [1], "version": 999},
    ),
}


def _may(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def check_by_id(world: World, route: str) -> None:
    check = BY_ID[route]
    method = route.split()[0]
    for owner in AGENCIES:
        url = check.url(world.data[owner])
        for role in ROLES:
            who = f"{OTHER[owner]}:{role}"
            response = world.call(who, method, url, json=check.body)
            unknown = world.call(who, method, check.url(_UNKNOWN), json=check.body)
            # exactly what an id that does not exist gets: 404 with the role, 403 without
            assert response.status_code == unknown.status_code, (route, who, response.text)
            assert response.json()["error"]["code"] == unknown.json()["error"]["code"]
            assert response.status_code == (404 if _may(role, check.role) else 403)
        own = world.call(f"{owner}:{check.role}", method, url, json=check.body)
        assert own.status_code == check.status, (route, owner, own.text)
        for role in ("analyst", "admin"):
            if _may(role, check.role):
                cross = world.call(f"cross:{role}", method, url, json=check.body)
                assert cross.status_code == check.status, (route, role, cross.text)


# --- listings and aggregates -----------------------------------------------------------------


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _expected_records(world: World, agency: str) -> int:
    return world.data[agency].records + BATCH_ROWS[agency]


def check_reviews(world: World, agency: str) -> None:
    mine = world.data[agency].items
    assert review_ids(world, f"{agency}:analyst") == mine
    assert review_ids(world, "cross:analyst", agency=agency) == mine
    assert review_ids(world, f"{agency}:analyst", agency=OTHER[agency]) == set()
    everyone = world.data["north"].items | world.data["south"].items
    assert review_ids(world, "cross:analyst") == everyone
    page = world.ok("cross:analyst", "/v1/reviews", state="all", limit=200).json()
    assert {item["agency"] for item in page["items"] if item["id"] in mine} == {agency}


def check_groups(world: World, agency: str) -> None:
    def items(who: str, **params: Any) -> int:
        return int(world.ok(who, "/v1/reviews/groups", state="all", **params).json()["items"])

    mine = len(world.data[agency].items)
    assert items(f"{agency}:analyst") == mine == items("cross:analyst", agency=agency)
    total = sum(len(world.data[a].items) for a in AGENCIES)
    assert items("cross:analyst") == total
    page = world.ok(f"{agency}:analyst", "/v1/reviews/groups", state="all", limit=200).json()
    assert {g["item_id"] for g in page["groups"]} <= world.data[agency].items


def check_next(world: World, agency: str) -> None:
    body = world.ok(f"{agency}:analyst", "/v1/reviews/next").json()
    assert body["item"]["id"] in world.data[agency].items
    open_items = len(world.data[agency].items) - (1 if agency == "north" else 0)
    assert sum(body["queue"].values()) == open_items
    everyone = world.ok("cross:analyst", "/v1/reviews/next").json()
    assert sum(everyone["queue"].values()) == sum(len(world.data[a].items) for a in AGENCIES) - 1


def check_stats(world: World, agency: str) -> None:
    def figures(who: str, **params: Any) -> tuple[int, int]:
        body = world.ok(who, "/v1/reviews/stats", **params).json()
        return body["autocoding"]["records"], sum(body["queue"]["by_state"].values())

    mine = (_expected_records(world, agency), len(world.data[agency].items))
    assert figures(f"{agency}:analyst") == mine == figures("cross:analyst", agency=agency)
    both = figures("cross:analyst")
    assert both == tuple(
        sum(x) for x in zip(*(figures(f"{a}:analyst") for a in AGENCIES), strict=True)
    )
    decided = world.ok(f"{agency}:analyst", "/v1/reviews/stats").json()
    assert decided["model_analyst_agreement"]["n"] == (1 if agency == "north" else 0)


def check_export(world: World, agency: str) -> None:
    def ids(who: str) -> set[str]:
        text = world.ok(who, "/v1/reviews/export").text
        return {row["classification_id"] for row in _csv(text)}

    assert ids(f"{agency}:admin") == ({world.data["north"].decided} if agency == "north" else set())
    assert ids("cross:admin") == {world.data["north"].decided}


def check_audit(world: World, agency: str) -> None:
    def ids(who: str) -> set[str]:
        events = world.ok(who, "/v1/reviews/audit").json()["events"]
        return {event["item_id"] for event in events}

    assert ids(f"{agency}:admin") == ({world.data["north"].decided} if agency == "north" else set())
    assert ids("cross:admin") == {world.data["north"].decided}


def check_dashboard(world: World, agency: str) -> None:
    body = world.ok(f"{agency}:analyst", "/v1/reviews/dashboard").json()
    assert body["summary"]["records"] == _expected_records(world, agency)
    batches = {choice["batch"] for choice in body["choices"]["batches"]}
    assert batches == {"api", world.data[agency].batch_id}
    names = {s["name"] for s in body["choices"]["submitters"]}
    assert names == {f"{agency} submitter"}
    assert sum(len(world.data[a].items) for a in AGENCIES) > body["backlog"][-1]["open"] > 0
    everyone = world.ok("cross:analyst", "/v1/reviews/dashboard").json()
    total = sum(_expected_records(world, a) for a in AGENCIES)
    assert everyone["summary"]["records"] == total


def check_dashboard_csv(world: World, agency: str) -> None:
    url = "/v1/reviews/dashboard/by_batch.csv"
    mine = {row["batch"] for row in _csv(world.ok(f"{agency}:analyst", url).text)}
    assert mine == {"api", world.data[agency].batch_id}
    everyone = {row["batch"] for row in _csv(world.ok("cross:analyst", url).text)}
    assert everyone == {"api", *(world.data[a].batch_id for a in AGENCIES)}


def check_counts(world: World, agency: str) -> None:
    def records(who: str, **params: Any) -> int:
        return int(world.ok(who, "/v1/reports/counts", **params).json()["total"]["records"])

    mine = _expected_records(world, agency)
    assert records(f"{agency}:analyst") == mine == records("cross:analyst", agency=agency)
    assert records(f"{agency}:analyst", batch=world.data[OTHER[agency]].batch_id) == 0
    assert records("cross:analyst") == sum(_expected_records(world, a) for a in AGENCIES)
    table = _csv(world.ok(f"{agency}:analyst", "/v1/reports/counts", format="csv").text)
    assert int(table[-1]["records"]) == mine


def check_keys(world: World, agency: str) -> None:
    def names(who: str) -> set[str]:
        return {key["name"] for key in world.ok(who, "/v1/keys").json()["keys"]}

    assert names(f"{agency}:admin") == {f"{agency} {role}" for role in ROLES}
    assert names("cross:admin") >= {f"{a} {role}" for a in AGENCIES for role in ROLES}


LISTS: dict[str, Callable[[World, str], None]] = {
    "GET /v1/reviews": check_reviews,
    "GET /v1/reviews/groups": check_groups,
    "GET /v1/reviews/next": check_next,
    "GET /v1/reviews/stats": check_stats,
    "GET /v1/reviews/export": check_export,
    "GET /v1/reviews/audit": check_audit,
    "GET /v1/reviews/dashboard": check_dashboard,
    "GET /v1/reviews/dashboard/{table}.csv": check_dashboard_csv,
    "GET /v1/reports/counts": check_counts,
    "GET /v1/keys": check_keys,
}


def check_assignment(world: World) -> None:
    """An item goes only to analysts who see its agency: its own, or cross-agency ones."""
    item_id = world.data["north"].api_ids[-1]
    item = world.ok("north:admin", f"/v1/reviews/{item_id}").json()
    url = f"/v1/reviews/{item_id}/assign"
    south = {"analyst_key_ids": [world.key_ids["south:analyst"]], "version": item["version"]}
    refused = world.call("north:admin", "POST", url, json=south)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "unknown_analyst"
    ours = [world.key_ids["north:analyst"], world.key_ids["cross:analyst"]]
    body = {"analyst_key_ids": ours, "version": item["version"]}
    assigned = world.call("north:admin", "POST", url, json=body)
    assert assigned.status_code == 200 and assigned.json()["assignees"] == ours, assigned.text


def check_decision_memory(world: World) -> None:
    """North's decision is remembered for north's next records only."""
    codes = {}
    for agency in AGENCIES:
        body = {"text": SHARED_TEXT}
        response = world.call(f"{agency}:submitter", "POST", "/v1/classify", json=body)
        assert response.status_code == 200, response.text
        codes[agency] = response.json()["suggestions"][0]["code"]
    assert codes["north"] == RECODED and codes["south"] != RECODED


def _routes(routes: list[Any], prefix: str = "") -> Iterator[str]:
    """ "METHOD path" of every route, through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(included.routes, prefix + getattr(context, "prefix", ""))
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield f"{method} {prefix}{route.path}"


def test_every_route_has_an_isolation_decision(svc: Service) -> None:
    decided = [NO_STORED_DATA, SHARED, WRITES, set(BY_ID), set(LISTS)]
    assert sum(len(d) for d in decided) == len(set().union(*decided))  # one decision each
    routes = set(_routes(svc.app.routes))
    assert any(isinstance(r, APIRoute) for r in svc.app.routes)
    assert routes == set().union(*decided), "a route without a decision, or a stale entry"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_each_agency_sees_only_its_own_endpoint_by_endpoint(
    request: pytest.FixtureRequest, service_factory: ServiceFactory, backend: str
) -> None:
    overrides: dict[str, Any] = {}
    if backend == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    failures: dict[str, str] = {}
    with agencies_world(service_factory, **overrides) as world:
        populate(world)
        for route in sorted(BY_ID):
            try:
                check_by_id(world, route)
            except AssertionError as exc:
                failures[route] = str(exc)[:1000]
        for route in sorted(LISTS):
            try:
                for agency in AGENCIES:
                    LISTS[route](world, agency)
            except AssertionError as exc:
                failures[route] = str(exc)[:1000]
        check_assignment(world)
        check_decision_memory(world)
    assert not failures, "\n\n".join(f"{route}: {text}" for route, text in failures.items())
