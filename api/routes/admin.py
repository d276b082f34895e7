"""POST /api/v1/admin/reload: load the index folder again and swap it in without dropping requests."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from api.deps import EngineHolder, SettingsDep
from api.openapi import error_responses
from api.schemas import ReloadResponse
from api.security import AdminDep
from index.store import IndexLoadError
from rag.engine import Engine

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
logger = logging.getLogger("policyqa.admin")


def _index_summary(engine: Engine) -> dict[str, Any]:
    manifest = engine.index.manifest
    return {
        "corpus_checksum": manifest.get("corpus_checksum", ""),
        "created_at": manifest.get("created_at", ""),
        "clauses": len(engine.clauses),
        "documents": len(engine.documents),
        "retrievers": list(engine.retrievers),
    }


@router.post("/reload", response_model=ReloadResponse, responses=error_responses(401, 403, 409))
async def reload_index(request: Request, _: AdminDep, settings: SettingsDep) -> dict[str, Any]:
    """Load the index at `settings.index` into a new engine and swap it in; the old one keeps serving
    the requests already running on it. A corrupt or missing index is refused (409) and the old
    engine stays."""
    holder: EngineHolder = request.app.state.engine_holder
    lock = getattr(request.app.state, "reload_lock", None)
    if lock is None:  # one reload at a time: two would load the same folder twice
        lock = request.app.state.reload_lock = asyncio.Lock()
    async with lock:
        started = time.perf_counter()
        current = holder.engine
        try:
            # Conversations carry over, so a follow-up asked across the reload still has its context.
            fresh = await run_in_threadpool(Engine.from_dir, settings.index, current.conversations)
        except IndexLoadError as exc:
            logger.error("index reload refused, still serving the previous index: %s", exc)
            raise HTTPException(status.HTTP_409_CONFLICT, f"索引加载失败，继续使用原索引：{exc}") from exc
        previous = holder.swap(fresh)
    seconds = time.perf_counter() - started
    logger.info("index reloaded from %s in %.2fs", settings.index, seconds)
    return {
        "status": "reloaded",
        "index": str(settings.index),
        "seconds": round(seconds, 3),
        "previous": _index_summary(previous),
        "current": _index_summary(fresh),
        "warnings": list(fresh.index.warnings),
    }
