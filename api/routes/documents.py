"""GET /api/v1/clauses/{id}, GET /api/v1/documents, GET /api/v1/documents/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from api.deps import EngineDep
from api.openapi import error_responses, links
from api.schemas import DocumentSummary, DocumentTree, HitResponse
from api.validation import echo

router = APIRouter(prefix="/api/v1", tags=["documents"])


@router.get("/clauses/{clause_id}", response_model=HitResponse, responses=error_responses(404))
def get_clause(clause_id: str, engine: EngineDep) -> dict[str, Any]:
    """Return one clause with its document and citation."""
    clause = engine.clause(clause_id)
    if clause is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有编号为 {echo(clause_id, 80)} 的条款。")
    return engine.hit_for(clause).to_dict()


@router.get(
    "/documents",
    response_model=list[DocumentSummary],
    responses=links(
        GetFirstDocument=("get_document", {"doc_id": "$response.body#/0/id"}),
        DeleteFirstDocument=("delete_document", {"doc_id": "$response.body#/0/id"}),
        ChangeFirstDocumentStatus=("change_status", {"doc_id": "$response.body#/0/id"}),
    ),
)
def list_documents(engine: EngineDep) -> list[dict[str, Any]]:
    """Return every document's metadata with its clause count."""
    counts: dict[str, int] = {}
    for clause in engine.clauses:
        counts[clause.doc_id] = counts.get(clause.doc_id, 0) + 1
    return [{**doc.to_dict(), "clause_count": counts.get(doc.id, 0)} for doc in engine.documents.values()]


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentTree,
    responses={
        **error_responses(404),
        **links(GetFirstClause=("get_clause", {"clause_id": "$response.body#/clauses/0/id"})),
    },
)
def get_document(
    doc_id: Annotated[str, Path(examples=["changning-plan"])], engine: EngineDep
) -> dict[str, Any]:
    """Return a document as a tree: metadata, clauses in reading order, and the outline of headings."""
    doc = engine.documents.get(doc_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有编号为 {echo(doc_id, 80)} 的文件。")
    clauses = [c for c in engine.clauses if c.doc_id == doc_id]
    outline: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for clause in clauses:
        for depth in range(1, len(clause.path) + 1):
            prefix = clause.path[:depth]
            if prefix not in seen:
                seen.add(prefix)
                outline.append({"title": prefix[-1], "depth": depth, "clause_id": clause.id})
    return {
        "doc": doc.to_dict(),
        "clauses": [engine.hit_for(c).to_dict() for c in clauses],
        "outline": outline,
    }
