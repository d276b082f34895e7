"""POST /api/v1/feedback: 👍/👎 on an answer, with an optional reason, stored with its query-log row."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.querylog import RATING_DOWN, get_query_log
from api.ratelimit import WINDOW_SECONDS, InMemoryRateLimitStore, RateLimitStore
from api.schemas import ErrorResponse

FEEDBACK_PER_MINUTE = 20  # per client, on top of the API's general limit: a vote is a click, not a loop
QUERY_ID_PATTERN = r"^[0-9a-f]{32}$"

router = APIRouter(
    prefix="/api/v1",
    tags=["feedback"],
    responses={
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)


class FeedbackRequest(BaseModel):
    """POST /api/v1/feedback: the `query_id` of an ask response, up or down, and (for down) why."""

    # The schema states what the validator enforces: a reason only with "down".
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "if": {"properties": {"rating": {"const": "up"}}},
            "then": {"properties": {"reason": {"type": "null"}}},
        },
    )
    query_id: str = Field(..., pattern=QUERY_ID_PATTERN, description="问答接口返回的 query_id")
    rating: Literal["up", "down"]
    reason: Literal["not_answered", "wrong_clause", "other"] | None = Field(
        None, description="仅“down”时可选：没回答我的问题 / 条款不对 / 其他"
    )

    @model_validator(mode="after")
    def _reason_only_when_down(self) -> FeedbackRequest:
        if self.reason is not None and self.rating != RATING_DOWN:
            raise ValueError("reason is only for rating 'down'")
        return self


class FeedbackResponse(BaseModel):
    """The feedback was stored."""

    status: Literal["recorded"]


def _feedback_store(request: Request) -> RateLimitStore:
    state = request.app.state
    shared: RateLimitStore | None = getattr(state, "rate_limit_store", None)  # Redis, several workers
    if shared is not None:
        return shared
    store: RateLimitStore | None = getattr(state, "feedback_rate_store", None)
    if store is None:
        store = state.feedback_rate_store = InMemoryRateLimitStore()
    return store


@router.post("/feedback", response_model=FeedbackResponse)
async def feedback(body: FeedbackRequest, request: Request) -> dict[str, str]:
    """Record 👍/👎 for one answer; voting again replaces the earlier vote."""
    client = request.client.host if request.client else "unknown"
    allowed, retry_after = _feedback_store(request).hit(
        f"feedback:ip:{client}", FEEDBACK_PER_MINUTE, WINDOW_SECONDS
    )
    if not allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"反馈太频繁了，请 {retry_after} 秒后再试。",
            headers={"Retry-After": str(retry_after)},
        )
    query_log = get_query_log(request)
    if query_log is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "本服务未开启查询日志，暂时无法记录反馈。")
    stored = await run_in_threadpool(query_log.record_feedback, body.query_id, body.rating, body.reason)
    if not stored:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有找到这次提问的记录，无法记录反馈。")
    return {"status": "recorded"}
