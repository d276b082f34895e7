"""Admin document changes: POST /api/v1/admin/documents, DELETE /api/v1/admin/documents/{id},
POST /api/v1/admin/documents/{id}/status. All need the admin key.

A document is uploaded as multipart (`file` field, optional `id` and `dry_run` fields) or as JSON
`{"filename", "content_base64", "id"?, "dry_run"?}`. The body is read only after the admin key has
been checked. A dry run returns the outline and metadata and changes nothing; otherwise the index
folder is updated (index/update.py) and a new engine over it is swapped in.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import EngineHolder, SettingsDep
from api.schemas import ErrorResponse
from api.security import AdminDep
from corpus.extract import (
    DOC_ID_PATTERN,
    ExtractionError,
    doc_id_for,
    extract_bytes,
    format_of,
    parse_extracted,
)
from corpus.outline import format_tree
from index.update import UpdateError, add_documents, remove_documents, set_status
from rag.engine import Engine

UPLOAD_PATH = "/api/v1/admin/documents"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UNPROCESSABLE = 422  # starlette renamed the constant (…_CONTENT); the number is what clients see

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
logger = logging.getLogger("policyqa.admin")


class DocumentUpload(BaseModel):
    """JSON form of an upload: the file name (its suffix gives the format) and the bytes in base64."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(min_length=1)
    id: str | None = Field(None, max_length=80)
    dry_run: bool = False


class StatusChange(BaseModel):
    """Exactly one of: `superseded_by` (an indexed document id), `repealed`, `in_force`."""

    model_config = ConfigDict(extra="forbid")

    superseded_by: str | None = Field(None, max_length=80)
    repealed: bool = False
    in_force: bool = False


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


async def _read_upload(request: Request) -> DocumentUpload | tuple[str, bytes, str | None, bool]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_UPLOAD_BYTES)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(UNPROCESSABLE, "缺少上传文件（字段 file）。")
        data = await upload.read()
        doc_id = form.get("id")
        dry_run = _truthy(form.get("dry_run", "")) or _truthy(request.query_params.get("dry_run", ""))
        return upload.filename or "", data, doc_id if isinstance(doc_id, str) and doc_id else None, dry_run
    if content_type == "application/json":
        body = bytearray()
        async for chunk in request.stream():  # capped: a chunked body has no Content-Length to check
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES * 4 // 3 + 4096:
                raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "上传文件过大。")
        try:
            return DocumentUpload.model_validate(json.loads(body))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "请求体不是有效的 JSON。") from exc
        except ValidationError as exc:
            where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
            raise HTTPException(UNPROCESSABLE, f"请求字段不正确：{where}") from exc
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "请以 multipart/form-data 或 application/json 上传文件。"
    )


async def _swap_engine(request: Request, settings: Any) -> Engine:
    holder: EngineHolder = request.app.state.engine_holder
    fresh = await run_in_threadpool(
        Engine.from_dir,
        settings.index,
        holder.engine.conversations,
        expected_model=settings.embed_model,
        embed_threads=settings.embed_threads,
    )
    holder.swap(fresh)
    return fresh


def _change_lock(request: Request) -> asyncio.Lock:
    # Shared with POST /admin/reload: one index change or reload at a time.
    lock = getattr(request.app.state, "reload_lock", None)
    if lock is None:
        lock = request.app.state.reload_lock = asyncio.Lock()
    return lock


@router.post("/documents")
async def add_document(request: Request, _: AdminDep, settings: SettingsDep) -> dict[str, Any]:
    """Extract and parse an uploaded policy file; unless `dry_run`, add it (or its new version) to the
    index and serve the updated index. Returns the outline, the metadata and what changed."""
    received = await _read_upload(request)
    if isinstance(received, DocumentUpload):
        try:
            data = base64.b64decode(received.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HTTPException(UNPROCESSABLE, "content_base64 不是有效的 Base64。") from exc
        filename, doc_id, dry_run = received.filename, received.id, received.dry_run
    else:
        filename, data, doc_id, dry_run = received
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "上传文件过大。")
    try:
        format_of(filename)
    except ExtractionError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"不支持的文件类型：{exc}") from exc
    doc_id = doc_id or doc_id_for(filename)
    if not doc_id or not DOC_ID_PATTERN.match(doc_id):
        raise HTTPException(UNPROCESSABLE, "文件编号不可用（只能含文字、数字、-、_、.），请用 id 指定。")
    try:
        extracted = await run_in_threadpool(extract_bytes, data, filename)
    except ExtractionError as exc:
        raise HTTPException(UNPROCESSABLE, f"无法读取文件：{exc}") from exc
    document = await run_in_threadpool(parse_extracted, extracted, doc_id)
    if not document.clauses:
        raise HTTPException(UNPROCESSABLE, "文件中没有识别出条款。")
    preview = {
        "id": doc_id,
        "format": extracted.format,
        "doc": document.meta.to_dict(),
        "outline": format_tree(document),
        "clause_count": len(document.clauses),
        "dropped_lines": len(document.dropped),
    }
    if dry_run:
        return {"status": "dry_run", **preview}
    async with _change_lock(request):
        holder: EngineHolder = request.app.state.engine_holder
        try:
            report = await run_in_threadpool(
                add_documents,
                settings.index,
                [document],
                embedder=holder.engine.index.embedder,
            )
        except UpdateError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, f"无法加入索引：{exc}") from exc
        if report.written:
            await _swap_engine(request, settings)
    outcome = "replaced" if report.replaced else "unchanged" if report.unchanged else "added"
    logger.info("document %s %s via admin API (%d clauses)", doc_id, outcome, len(document.clauses))
    return {"status": outcome, **preview, "index": report.to_dict()}


@router.delete("/documents/{doc_id}")
async def delete_document(
    doc_id: str, request: Request, _: AdminDep, settings: SettingsDep
) -> dict[str, Any]:
    """Remove a document and its clauses from the index and serve the updated index."""
    async with _change_lock(request):
        try:
            report = await run_in_threadpool(remove_documents, settings.index, [doc_id])
        except UpdateError as exc:
            code = status.HTTP_404_NOT_FOUND if "no document" in str(exc) else status.HTTP_409_CONFLICT
            raise HTTPException(code, f"无法删除文件 {doc_id[:80]}：{exc}") from exc
        await _swap_engine(request, settings)
    logger.info("document %s removed via admin API", doc_id)
    return {"status": "removed", "id": doc_id, "index": report.to_dict()}


@router.post("/documents/{doc_id}/status")
async def change_status(
    doc_id: str, change: StatusChange, request: Request, _: AdminDep, settings: SettingsDep
) -> dict[str, Any]:
    """Mark a document superseded by another, repealed (失效), or in force again."""
    async with _change_lock(request):
        try:
            meta = await run_in_threadpool(
                lambda: set_status(
                    settings.index,
                    doc_id,
                    superseded_by=change.superseded_by,
                    repealed=change.repealed,
                    in_force=change.in_force,
                )
            )
        except UpdateError as exc:
            code = status.HTTP_404_NOT_FOUND if "no document" in str(exc) else UNPROCESSABLE
            raise HTTPException(code, f"无法修改文件状态：{exc}") from exc
        await _swap_engine(request, settings)
    return {"status": "updated", "doc": meta.to_dict()}
