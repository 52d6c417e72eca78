"""The dashboard's figures over HTTP, and each chart's table as CSV.

Registered before the reviews router, whose `/reviews/{item_id}` would otherwise take
`/reviews/dashboard`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from service.api.deps import AgencyScopeDep, AnalystDep, SessionDep, SettingsDep
from service.api.routes.reviews import RESPONSES, QueueDep
from service.api.schemas.dashboard import DashboardOut, DashboardTable
from service.db.base import utcnow
from service.reviews.dashboard import dashboard as dashboard_figures
from service.reviews.dashboard_csv import table_csv
from service.reviews.dashboard_scope import DashboardScope

router = APIRouter(prefix="/v1", tags=["reviews"])


def dashboard_scope(
    agencies: AgencyScopeDep,
    since: Annotated[
        date | None, Query(description="First day (UTC); default 30 days ago.")
    ] = None,
    until: Annotated[
        date | None, Query(description="Last day (UTC), included; default today.")
    ] = None,
    batch: Annotated[str | None, Query(max_length=100, description="`api` or a batch id.")] = None,
    api_key_id: Annotated[int | None, Query(description="Records one key submitted.")] = None,
    code: Annotated[
        str | None, Query(max_length=10, description="Drill into this section, division or group.")
    ] = None,
) -> DashboardScope:
    return DashboardScope.make(utcnow().date(), since, until, batch, api_key_id, code, agencies)


ScopeDep = Annotated[DashboardScope, Depends(dashboard_scope)]


@router.get("/reviews/dashboard", response_model=DashboardOut, responses=RESPONSES)
def dashboard(
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    scope: ScopeDep,
    _caller: AnalystDep,
) -> DashboardOut:
    """Records by ICCS category per batch and per day, the autocoding rate per day, the
    backlog and model-analyst agreement, within a period, batch, submitting key and level of
    the ICCS tree; every rate with its n."""
    queue.sync(session)
    return DashboardOut.model_validate(dashboard_figures(session, settings, scope, utcnow()))


@router.get(
    "/reviews/dashboard/{table}.csv",
    response_model=None,
    responses={**RESPONSES, 200: {"content": {"text/csv": {}}}},
)
def dashboard_table(
    table: DashboardTable,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
    scope: ScopeDep,
    _caller: AnalystDep,
) -> Response:
    """One chart's table as CSV (the same scope parameters as the dashboard)."""
    queue.sync(session)
    figures = dashboard_figures(session, settings, scope, utcnow())
    name = f"iccs-{table.replace('_', '-')}-{scope.since}-{scope.until}.csv"
    return Response(
        table_csv(figures, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
