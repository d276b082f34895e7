"""Admin document changes: POST /api/v1/admin/documents, DELETE /api/v1/admin/documents/{id},
POST /api/v1/admin/documents/{id}/status. All need the admin key.

A document is uploaded as multipart (`file` field, optional `id` and `dry_run` fields) or as JSON
`{"filename", "content_base64", "id"?, "dry_run"?}`. The body is read only after the admin key has
been checked. A dry run returns the outline and metadata and changes nothing; otherwise the index
folder is updated (index/update.py) and a new engine over it is swapped in.

An index folder that cannot be read (corrupt files, a missing manifest) refuses every change with 409
and is left exactly as it was: writing over it would replace the whole library with the one document.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import EngineHolder, SettingsDep
from api.openapi import error_responses
from api.schemas import (
    FORM_BOOLEANS,
    MAX_DOC_ID,
    MAX_FILENAME,
    DocumentChangeResponse,
    DocumentRemovedResponse,
    DocumentUpload,
    StatusChange,
    StatusChangedResponse,
)
from api.security import AdminDep
from api.validation import echo
from config import Settings
from corpus.extract import (
    DOC_ID_PATTERN,
    ExtractionError,
    doc_id_for,
    extract_bytes,
    format_of,
    parse_extracted,
)
from corpus.outline import format_tree
from index.store import INDEX_COMPLETE, INDEX_DAMAGED, IndexLoadError, index_state
from index.update import UpdateError, add_documents, remove_documents, set_status
from rag.engine import Engine

UPLOAD_PATH = "/api/v1/admin/documents"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UNPROCESSABLE = 422  # starlette renamed the constant (…_CONTENT); the number is what clients see
FORM_FIELDS = frozenset({"file", "id", "dry_run"})
T = TypeVar("T")

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
logger = logging.getLogger("policyqa.admin")

# A document the parser turns into clauses, for the schema's example upload (a dry run).
_EXAMPLE_TEXT = "某某县托育服务办法\n第一条　托育机构应当配备保育人员。\n第二条　县卫生健康局负责备案。\n"
_EXAMPLE_BASE64 = base64.b64encode(_EXAMPLE_TEXT.encode("utf-8")).decode("ascii")
_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "政策文件（.html .docx .pdf .txt）"},
        "id": {"type": "string", "maxLength": MAX_DOC_ID, "pattern": DOC_ID_PATTERN.pattern},
        "dry_run": {"type": "string", "enum": list(FORM_BOOLEANS), "description": "只解析，不修改索引"},
    },
}


async def _read_upload(request: Request) -> DocumentUpload:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_multipart(request)
    if content_type == "application/json":
        body = bytearray()
        async for chunk in request.stream():  # capped: a chunked body has no Content-Length to check
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES * 4 // 3 + 4096:
                raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "上传文件过大。")
        try:
            upload = DocumentUpload.model_validate(json.loads(body))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "请求体不是有效的 JSON。") from exc
        except ValidationError as exc:
            where = ", ".join(".".join(map(str, e["loc"])) or "body" for e in exc.errors()[:3])
            raise HTTPException(UNPROCESSABLE, f"请求字段不正确：{where}") from exc
        return upload
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "请以 multipart/form-data 或 application/json 上传文件。"
    )


async def _read_multipart(request: Request) -> DocumentUpload:
    form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_UPLOAD_BYTES)
    unknown = sorted(set(form.keys()) - FORM_FIELDS)
    if unknown:
        raise HTTPException(UNPROCESSABLE, f"包含不支持的字段：{echo(', '.join(unknown), 80)}")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(UNPROCESSABLE, "缺少上传文件（字段 file）。")
    doc_id = form.get("id")
    if not isinstance(doc_id, str | None) or (doc_id is not None and not DOC_ID_PATTERN.fullmatch(doc_id)):
        raise HTTPException(UNPROCESSABLE, "文件编号不可用（只能含文字、数字、-、_、.，最长 80 字）。")
    dry_run = _form_boolean(form.get("dry_run"), "dry_run")
    filename = upload.filename or ""
    if not 1 <= len(filename) <= MAX_FILENAME:
        raise HTTPException(UNPROCESSABLE, "上传文件缺少文件名，或文件名过长。")
    data = await upload.read()
    return DocumentUpload.model_construct(
        filename=filename,
        content_base64=base64.b64encode(data).decode("ascii"),
        id=doc_id or None,
        dry_run=dry_run,
    )


def _form_boolean(value: object, name: str) -> bool:
    if value is None:
        return False
    if value not in FORM_BOOLEANS:
        raise HTTPException(UNPROCESSABLE, f"{name} 只能是 true 或 false。")
    return value == "true"


def _require_readable_index(index_dir: Path) -> None:
    """Raise 409 unless `index_dir` holds an index (a manifest): never write a new library over a
    damaged or vanished one."""
    state = index_state(index_dir)
    if state == INDEX_DAMAGED:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "索引目录已损坏（有文件但没有 manifest.json），未做任何修改。"
            "请检查或用 policyqa build 重建后再试。",
        )
    if state != INDEX_COMPLETE:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "索引目录不存在，未做任何修改。请用 policyqa build 重建后再试。"
        )


async def _change_index(index_dir: Path, change: Callable[[], T], refused: str) -> T:
    """Run `change` on the index folder in a worker thread; a folder that cannot be read is 409."""
    _require_readable_index(index_dir)
    try:
        return await run_in_threadpool(change)
    except IndexLoadError as exc:  # raised before anything is written (index/update.py reads first)
        logger.error("index change refused, the index folder cannot be read: %s", exc)
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{refused}：索引文件无法读取，未做任何修改（{exc}）"
        ) from exc


async def _swap_engine(request: Request, settings: Settings) -> Engine:
    holder: EngineHolder = request.app.state.engine_holder
    index_dir = settings.index
    try:
        fresh = await run_in_threadpool(
            Engine.from_dir,
            index_dir,
            holder.engine.conversations,
            expected_model=settings.embed_model,
            embed_threads=settings.embed_threads,
        )
    except IndexLoadError as exc:  # written, but not loadable: keep serving what was being served
        logger.error("index changed but cannot be loaded; still serving the previous one: %s", exc)
        raise HTTPException(status.HTTP_409_CONFLICT, f"索引已修改但无法加载，继续使用原索引：{exc}") from exc
    holder.swap(fresh)
    return fresh


def _change_lock(request: Request) -> asyncio.Lock:
    # Shared with POST /admin/reload: one index change or reload at a time.
    lock = getattr(request.app.state, "reload_lock", None)
    if lock is None:
        lock = request.app.state.reload_lock = asyncio.Lock()
    return lock


@router.post(
    "/documents",
    response_model=DocumentChangeResponse,
    responses=error_responses(401, 403, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
                "application/json": {
                    "schema": DocumentUpload.model_json_schema(),
                    "example": {"filename": "tuoyu.txt", "content_base64": _EXAMPLE_BASE64, "dry_run": True},
                },
            },
        }
    },
)
async def add_document(
    request: Request,
    _: AdminDep,
    settings: SettingsDep,
    dry_run: Annotated[str | None, Query(pattern="^(true|false)$", description="只解析，不修改索引")] = None,
) -> dict[str, Any]:
    """Extract and parse an uploaded policy file; unless `dry_run`, add it (or its new version) to the
    index and serve the updated index. Returns the outline, the metadata and what changed. Whether a
    file can be read (422) depends on its bytes, which no schema can state."""
    upload = await _read_upload(request)
    try:
        data = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(UNPROCESSABLE, "content_base64 不是有效的 Base64。") from exc
    filename = upload.filename
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "上传文件过大。")
    try:
        format_of(filename)
    except ExtractionError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"不支持的文件类型：{exc}") from exc
    doc_id = upload.id or doc_id_for(filename)
    if not doc_id or not DOC_ID_PATTERN.fullmatch(doc_id):
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
    if upload.dry_run or dry_run == "true":
        return {"status": "dry_run", **preview}
    async with _change_lock(request):
        holder: EngineHolder = request.app.state.engine_holder
        embedder = holder.engine.index.embedder
        try:
            report = await _change_index(
                settings.index,
                lambda: add_documents(settings.index, [document], embedder=embedder),
                "无法加入索引",
            )
        except UpdateError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, f"无法加入索引：{exc}") from exc
        if report.written:
            await _swap_engine(request, settings)
    outcome = "replaced" if report.replaced else "unchanged" if report.unchanged else "added"
    logger.info("document %s %s via admin API (%d clauses)", doc_id, outcome, len(document.clauses))
    return {"status": outcome, **preview, "index": report.to_dict()}


@router.delete(
    "/documents/{doc_id}",
    response_model=DocumentRemovedResponse,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_document(
    doc_id: str, request: Request, _: AdminDep, settings: SettingsDep
) -> dict[str, Any]:
    """Remove a document and its clauses from the index and serve the updated index."""
    async with _change_lock(request):
        try:
            report = await _change_index(
                settings.index, lambda: remove_documents(settings.index, [doc_id]), "无法删除文件"
            )
        except UpdateError as exc:
            code = status.HTTP_404_NOT_FOUND if "no document" in str(exc) else status.HTTP_409_CONFLICT
            raise HTTPException(code, f"无法删除文件 {echo(doc_id, MAX_DOC_ID)}：{exc}") from exc
        await _swap_engine(request, settings)
    logger.info("document %s removed via admin API", doc_id)
    return {"status": "removed", "id": doc_id, "index": report.to_dict()}


@router.post(
    "/documents/{doc_id}/status",
    response_model=StatusChangedResponse,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def change_status(
    doc_id: str, change: StatusChange, request: Request, _: AdminDep, settings: SettingsDep
) -> dict[str, Any]:
    """Mark a document superseded by another (409 if that one is not indexed), repealed (失效), or in
    force again."""
    async with _change_lock(request):
        try:
            meta = await _change_index(
                settings.index,
                lambda: set_status(
                    settings.index,
                    doc_id,
                    superseded_by=change.superseded_by,
                    repealed=bool(change.repealed),
                    in_force=bool(change.in_force),
                ),
                "无法修改文件状态",
            )
        except UpdateError as exc:
            code = status.HTTP_404_NOT_FOUND if "no document" in str(exc) else status.HTTP_409_CONFLICT
            raise HTTPException(code, f"无法修改文件状态：{exc}") from exc
        await _swap_engine(request, settings)
    return {"status": "updated", "doc": meta.to_dict()}
