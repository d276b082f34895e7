"""POST /api/v1/admin/reload: load the index folder again and swap it in without dropping requests."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from api.deps import EngineHolderDep
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
async def reload_index(holder: EngineHolderDep, _: AdminDep) -> dict[str, Any]:
    """Load the index folder into a new engine and swap it in; the old one keeps serving the requests
    already running on it. A corrupt or missing index is refused (409) and the old engine stays."""
    started = time.perf_counter()
    try:
        previous, fresh = await run_in_threadpool(holder.reload)
    except IndexLoadError as exc:
        logger.error("index reload refused, still serving the previous index: %s", exc)
        raise HTTPException(status.HTTP_409_CONFLICT, f"索引加载失败，继续使用原索引：{exc}") from exc
    seconds = time.perf_counter() - started
    logger.info("index reloaded from %s in %.2fs", holder.index_dir, seconds)
    return {
        "status": "reloaded",
        "index": str(holder.index_dir),
        "seconds": round(seconds, 3),
        "previous": _index_summary(previous),
        "current": _index_summary(fresh),
        "warnings": list(fresh.index.warnings),
    }
