"""API keys over HTTP for admins: list, create and revoke, within their agency.

An admin manages its own agency's keys; creating a key for another agency, or giving the
cross-agency grant, takes an admin that has the grant itself (or the `iccs keys` command).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from service.api.deps import AdminDep, AgencyScopeDep, SessionDep, SettingsDep
from service.api.errors import ERROR_RESPONSES, APIError, ErrorResponse
from service.api.schemas.keys import KeyCreated, KeyIn, KeyList, KeyOut, RevokeOut
from service.api_keys import create_api_key, list_keys, revoke_keys
from service.db.models import ApiKey

router = APIRouter(prefix="/v1", tags=["keys"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No active key with that prefix (yours)"}
}


def _out(row: ApiKey) -> dict[str, Any]:
    return {name: getattr(row, name) for name in KeyOut.model_fields}


@router.get("/keys", response_model=KeyList, responses=ERROR_RESPONSES)
def get_keys(session: SessionDep, _caller: AdminDep, scope: AgencyScopeDep) -> KeyList:
    """Every key of your agency (of every agency with the cross-agency grant)."""
    return KeyList(keys=[KeyOut.model_validate(_out(row)) for row in list_keys(session, scope)])


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=ERROR_RESPONSES)
def post_key(
    body: KeyIn, session: SessionDep, settings: SettingsDep, caller: AdminDep
) -> KeyCreated:
    """Create a key in your agency (or, with the cross-agency grant, in any); the answer is the
    only time the key is shown."""
    agency = body.agency or caller.agency
    if agency != caller.agency and not caller.cross_agency:
        raise APIError(
            403,
            "only an admin with the cross-agency grant creates keys for another agency",
            code="agency_forbidden",
        )
    if body.cross_agency and not caller.cross_agency:
        raise APIError(
            403,
            "only an admin with the cross-agency grant can give it",
            code="agency_forbidden",
        )
    if body.cross_agency and body.role == "submitter":
        raise APIError(
            422, "only analyst and admin keys can have the cross-agency grant", code="invalid_key"
        )
    row, key = create_api_key(
        session,
        body.role,
        body.name,
        environment=settings.env,
        agency=agency,
        cross_agency=body.cross_agency,
    )
    session.commit()
    return KeyCreated.model_validate({**_out(row), "key": key})


@router.delete(
    "/keys/{prefix}", response_model=RevokeOut, responses={**ERROR_RESPONSES, **NOT_FOUND}
)
def delete_key(
    prefix: Annotated[
        str, Path(pattern=r"^iccs_[A-Za-z0-9_-]{1,11}$", description="As listings show it.")
    ],
    session: SessionDep,
    caller: AdminDep,
) -> RevokeOut:
    """Revoke your agency's active keys with this prefix; running workers stop accepting them
    within ICCS_AUTH_CACHE_SECONDS."""
    revoked = revoke_keys(session, prefix, caller.scope)
    if not revoked:
        raise APIError(404, f"no active key with prefix {prefix}", code="key_not_found")
    session.commit()
    return RevokeOut(revoked=revoked)
