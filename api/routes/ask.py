"""POST /api/v1/ask and POST /api/v1/search."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, SettingsDep
from api.schemas import AskRequest, AskResponse, ErrorResponse, SearchRequest, SearchResponse
from api.validation import clean_question

router = APIRouter(prefix="/api/v1", tags=["ask"], responses={400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep) -> dict[str, object]:
    """Answer a question with verbatim clauses and their provenance (or a plain refusal)."""
    question = clean_question(body.question, settings.max_question_chars)
    session_id = body.session_id or uuid.uuid4().hex
    answer = await run_in_threadpool(engine.ask, question, f"web:{session_id}")
    return {**answer.to_dict(), "session_id": session_id}


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, engine: EngineDep, settings: SettingsDep) -> dict[str, object]:
    """Rank clauses for a query; clause references ("广西方案第17条") resolve by lookup."""
    query = clean_question(body.query, settings.max_question_chars, field="查询")
    result = await run_in_threadpool(
        engine.search, query, body.top_k, body.mode, body.doc_id, body.region, body.include_superseded
    )
    return result.to_dict()
