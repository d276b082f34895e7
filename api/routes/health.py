"""GET /health: what is being served."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import EngineDep
from api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health(engine: EngineDep) -> dict[str, Any]:
    """Index format and corpus checksum, clause count, live retrievers."""
    manifest = engine.index.manifest
    return {
        "status": "ok",
        "index_format": manifest.get("format_version", "unknown"),
        "corpus_checksum": manifest.get("corpus_checksum", ""),
        "clauses": len(engine.clauses),
        "documents": len(engine.documents),
        "retrievers": list(engine.retrievers),
        "embed_model": (manifest.get("embedding") or {}).get("model")
        if engine.index.dense is not None
        else None,
    }
