"""Agencies and keys: admins manage their own agency's keys (another agency's, or the
cross-agency grant, need the grant); correspondence tables are shared, their drafts are not;
keys made without an agency are the `default` agency's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.db.models import ApiKey
from tests.service.agency_world import (
    agencies_world,
    review_ids,
)
from tests.service.conftest import Service, ServiceFactory


def test_key_management_stays_within_the_agency_unless_granted(
    service_factory: ServiceFactory,
) -> None:
    with agencies_world(service_factory) as world:

        def create(who: str, **body: Any) -> Any:
            return world.call(who, "POST", "/v1/keys", json={"role": "analyst", **body})

        made = create("north:admin", name="north spare")
        assert made.status_code == 201, made.text
        spare = made.json()
        assert (spare["agency"], spare["cross_agency"]) == ("north", False)
        assert "key" not in world.ok("north:admin", "/v1/keys").json()["keys"][0]
        for body in ({"agency": "south"}, {"cross_agency": True}):
            refused = create("north:admin", **body)
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "agency_forbidden"
        assert create("north:admin", agency="South!").status_code == 422
        assert create("cross:admin", role="submitter", cross_agency=True).status_code == 422
        south = create("cross:admin", agency="south", name="south spare")
        assert south.status_code == 201 and south.json()["agency"] == "south"
        granted = create("cross:admin", cross_agency=True)
        assert granted.status_code == 201 and granted.json()["cross_agency"] is True
        new_key = {"Authorization": f"Bearer {spare['key']}"}
        assert world.svc.client.get("/v1/reviews", headers=new_key).status_code == 200

        # Revoking: another agency's prefix is not found; one's own, or any with the grant, is.
        south_prefix = south.json()["prefix"]
        assert world.call("north:admin", "DELETE", f"/v1/keys/{south_prefix}").status_code == 404
        revoked = world.call("north:admin", "DELETE", f"/v1/keys/{spare['prefix']}")
        assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
        assert world.svc.client.get("/v1/reviews", headers=new_key).status_code == 401
        assert world.call("cross:admin", "DELETE", f"/v1/keys/{south_prefix}").status_code == 200
        with world.svc.db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == south_prefix))
            assert row is not None and row.revoked_at is not None and row.agency == "south"


def test_correspondence_tables_are_shared_their_drafts_not(
    service_factory: ServiceFactory,
) -> None:
    with agencies_world(service_factory) as world:
        table = "national_code,title,iccs_code\nN1,Hurto de celular sin violencia,050221\n"
        imported = world.call(
            "north:admin",
            "POST",
            "/v1/correspondences/shared-scheme/import",
            files={"file": ("t.csv", table.encode(), "text/csv")},
        )
        assert imported.status_code == 200, imported.text
        rows = world.ok("south:analyst", "/v1/correspondences/shared-scheme").json()["rows"]
        assert [row["iccs_code"] for row in rows] == ["050221"]  # the table is everyone's
        drafted = world.call(
            "south:admin",
            "POST",
            "/v1/correspondences/south-scheme/draft",
            files={"file": ("t.csv", b"national_code,title\nS1,Robo con violencia\n", "text/csv")},
        )
        assert drafted.status_code == 200, drafted.text
        source = drafted.json()["review_source"]
        assert len(review_ids(world, "south:analyst", batch=source)) == 1
        assert review_ids(world, "north:analyst", batch=source) == set()


def test_new_keys_default_to_the_default_agency_and_principals_carry_theirs(
    svc: Service,
) -> None:
    listing = svc.client.get("/v1/keys", headers=svc.headers("admin")).json()["keys"]
    assert {(k["agency"], k["cross_agency"]) for k in listing} == {("default", False)}
    authenticator = svc.app.state.authenticator
    principal = authenticator.authenticate(svc.keys["analyst"])
    assert (principal.agency, principal.cross_agency) == ("default", False)
