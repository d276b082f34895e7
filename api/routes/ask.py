"""POST /api/v1/ask and POST /api/v1/search."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, SettingsDep
from api.openapi import error_responses, links
from api.querylog import CHANNEL_API, CHANNEL_WEB, QueryLog, get_query_log
from api.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse
from api.validation import clean_question
from rag.engine import Engine
from rag.models import Answer

router = APIRouter(prefix="/api/v1", tags=["ask"], responses=error_responses(422))


def _channel(request: Request) -> str:
    # Browsers mark fetches from our own chat page as same-origin; anything else is an API client.
    return CHANNEL_WEB if request.headers.get("sec-fetch-site") == "same-origin" else CHANNEL_API


def _ask_and_log(
    engine: Engine,
    question: str,
    session_id: str,
    query_log: QueryLog | None,
    channel: str,
    query_id: str | None = None,
) -> Answer:
    """Answer in the worker thread, and commit the log row before the answer can be sent."""
    started = time.perf_counter()
    answer: Answer | None = None
    try:
        answer = engine.ask(question, f"web:{session_id}")
    finally:  # an engine error is logged too (as "error"), then raised
        if query_log is not None:
            latency = (time.perf_counter() - started) * 1000
            query_log.record_answer(channel, question, answer, latency, session_id, query_id)
    return answer


_TOP_CLAUSE = links(GetTopClause=("get_clause", {"clause_id": "$response.body#/hits/0/id"}))


@router.post("/ask", response_model=AskResponse, responses=_TOP_CLAUSE)
async def ask(
    body: AskRequest, request: Request, engine: EngineDep, settings: SettingsDep
) -> dict[str, object]:
    """Answer a question with verbatim clauses and their provenance (or a plain refusal)."""
    question = clean_question(body.question, settings.max_question_chars)
    session_id = body.session_id or uuid.uuid4().hex
    query_log = get_query_log(request)
    # The log row's public id, for 👍/👎 (POST /api/v1/feedback); none when nothing is logged.
    query_id = uuid.uuid4().hex if query_log is not None else None
    answer = await run_in_threadpool(
        _ask_and_log, engine, question, session_id, query_log, _channel(request), query_id
    )
    return {**answer.to_dict(), "session_id": session_id, "query_id": query_id}


@router.post("/search", response_model=SearchResponse, responses=_TOP_CLAUSE)
async def search(body: SearchRequest, engine: EngineDep, settings: SettingsDep) -> dict[str, object]:
    """Rank clauses for a query; clause references ("广西方案第17条") resolve by lookup."""
    query = clean_question(body.query, settings.max_question_chars, field="查询")
    result = await run_in_threadpool(
        engine.search, query, body.top_k, body.mode, body.doc_id, body.region, body.include_superseded
    )
    return result.to_dict()
