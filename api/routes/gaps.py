"""GET /api/v1/admin/gaps (JSON) and /api/v1/admin/gaps.csv: what the public asks that the policies do not
answer, for staff, behind the admin key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.gaps import GapReport, VectorCache, build_report, report_csv, since_ts, week_starts
from api.querylog import get_query_log
from api.schemas import ErrorResponse
from api.security import AdminDep

MAX_WEEKS = 52
MAX_GROUPS = 500

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)

WeeksQuery = Annotated[int, Query(ge=1, le=MAX_WEEKS, description="最近几周（含本周）")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_GROUPS, description="最多几组")]


def _report(request: Request, engine: Any, weeks: int, limit: int) -> GapReport | None:
    query_log = get_query_log(request)
    if query_log is None:
        return None
    starts = week_starts(weeks, datetime.now(UTC))
    since = since_ts(starts[0])
    state = request.app.state
    cache = getattr(state, "gap_vector_cache", None)
    if cache is None:
        cache = state.gap_vector_cache = VectorCache()
    embedder = engine.index.embedder if "vector" in engine.retrievers else None
    return build_report(query_log.gap_rows(since), starts, since, embedder, cache, limit)


@router.get("/gaps")
async def gaps(
    request: Request, _: AdminDep, engine: EngineDep, weeks: WeeksQuery = 8, limit: LimitQuery = 100
) -> dict[str, Any]:
    """Questions answered `partial` or `not_found` or marked 👎, grouped by similar wording, most frequent
    first, with counts per week. `enabled` is false when no query log is configured."""
    report = await run_in_threadpool(_report, request, engine, weeks, limit)
    if report is None:
        return {"enabled": False, "since": None, "weeks": [], "method": None, "total": 0, "groups": []}
    return {"enabled": True, **report.to_dict()}


@router.get("/gaps.csv", response_class=Response)
async def gaps_csv(
    request: Request, _: AdminDep, engine: EngineDep, weeks: WeeksQuery = 8, limit: LimitQuery = MAX_GROUPS
) -> Response:
    """The gap list as a CSV file for a spreadsheet."""
    report = await run_in_threadpool(_report, request, engine, weeks, limit)
    empty = GapReport(since="", weeks=(), method="", groups=())
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(
        report_csv(report or empty),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="policyqa-gaps-{stamp}.csv"'},
    )
