"""Admin document changes: POST /api/v1/admin/documents, DELETE /api/v1/admin/documents/{id},
POST /api/v1/admin/documents/{id}/status. All need the admin key.

A document is uploaded as multipart (`file` field, optional `id` and `dry_run` fields) or as JSON
`{"filename", "content_base64", "id"?, "dry_run"?}`. The body is read only after the admin key has
been checked. A dry run returns the outline and metadata and changes nothing; otherwise the index
folder is updated and a new engine over it is swapped in. The workflows are service/ingest.py's, which
`policyqa add/remove/supersede` share; here each of its errors becomes an HTTP status and a message.

An index folder that cannot be read (corrupt files, a missing manifest) refuses every change with 409
and is left exactly as it was: writing over it would replace the whole library with the one document.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import EngineHolderDep
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
from corpus.extract import DOC_ID_PATTERN, is_doc_id
from corpus.outline import format_tree
from service import ingest

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
    if not isinstance(doc_id, str | None) or (doc_id is not None and not is_doc_id(doc_id)):
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


# Each refusal of the ingest service as this surface shows it: the status, and the message's lead (the
# service's own words, in English, follow where they help staff).
_MISSING_INDEX = "索引目录不存在，未做任何修改。请用 policyqa build 重建后再试。"
_DAMAGED_INDEX = (
    "索引目录已损坏（有文件但没有 manifest.json），未做任何修改。请检查或用 policyqa build 重建后再试。"
)


def _refusal(error: ingest.IngestError, refused: str) -> HTTPException:
    """Return the HTTP error for a refused change; `refused` names the change ("无法加入索引")."""
    if isinstance(error, ingest.IndexMissing):
        return HTTPException(status.HTTP_409_CONFLICT, _MISSING_INDEX)
    if isinstance(error, ingest.IndexDamaged):
        return HTTPException(status.HTTP_409_CONFLICT, _DAMAGED_INDEX)
    if isinstance(error, ingest.IndexUnreadable):
        return HTTPException(
            status.HTTP_409_CONFLICT, f"{refused}：索引文件无法读取，未做任何修改（{error}）"
        )
    if isinstance(error, ingest.ChangedButNotServed):
        return HTTPException(status.HTTP_409_CONFLICT, f"索引已修改但无法加载，继续使用原索引：{error}")
    if isinstance(error, ingest.UnknownDocument):
        return HTTPException(status.HTTP_404_NOT_FOUND, f"{refused}：{error}")
    if isinstance(error, ingest.UnsupportedFormat):
        return HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"不支持的文件类型：{error}")
    if isinstance(error, ingest.BadDocumentId):
        return HTTPException(UNPROCESSABLE, "文件编号不可用（只能含文字、数字、-、_、.），请用 id 指定。")
    if isinstance(error, ingest.UnreadableFile):
        return HTTPException(UNPROCESSABLE, f"无法读取文件：{error}")
    if isinstance(error, ingest.NoClauses):
        return HTTPException(UNPROCESSABLE, "文件中没有识别出条款。")
    return HTTPException(status.HTTP_409_CONFLICT, f"{refused}：{error}")  # ChangeRefused


async def _run(work: Callable[[], T], refused: str) -> T:
    """Run a workflow of the ingest service in a worker thread; its refusals become HTTP errors."""
    try:
        return await run_in_threadpool(work)
    except ingest.IngestError as error:
        raise _refusal(error, refused) from error


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
    holder: EngineHolderDep,
    _: AdminDep,
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
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "上传文件过大。")
    refused = "无法加入索引"
    prepared = await _run(lambda: ingest.prepare_upload(data, upload.filename, upload.id), refused)
    document = prepared.document
    preview = {
        "id": prepared.doc_id,
        "format": prepared.format,
        "doc": document.meta.to_dict(),
        "outline": format_tree(document),
        "clause_count": len(document.clauses),
        "dropped_lines": len(document.dropped),
    }
    if upload.dry_run or dry_run == "true":
        return {"status": "dry_run", **preview}
    report = await _run(lambda: ingest.add_documents(holder.index_dir, [prepared], holder=holder), refused)
    outcome = "replaced" if report.replaced else "unchanged" if report.unchanged else "added"
    logger.info("document %s %s via admin API (%d clauses)", prepared.doc_id, outcome, len(document.clauses))
    return {"status": outcome, **preview, "index": report.to_dict()}


@router.delete(
    "/documents/{doc_id}",
    response_model=DocumentRemovedResponse,
    responses=error_responses(401, 403, 404, 409),
)
async def delete_document(doc_id: str, holder: EngineHolderDep, _: AdminDep) -> dict[str, Any]:
    """Remove a document and its clauses from the index and serve the updated index."""
    refused = f"无法删除文件 {echo(doc_id, MAX_DOC_ID)}"
    report = await _run(lambda: ingest.remove_document(holder.index_dir, doc_id, holder=holder), refused)
    logger.info("document %s removed via admin API", doc_id)
    return {"status": "removed", "id": doc_id, "index": report.to_dict()}


@router.post(
    "/documents/{doc_id}/status",
    response_model=StatusChangedResponse,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def change_status(
    doc_id: str, change: StatusChange, holder: EngineHolderDep, _: AdminDep
) -> dict[str, Any]:
    """Mark a document superseded by another (409 if that one is not indexed), repealed (失效), or in
    force again."""
    meta = await _run(
        lambda: ingest.change_status(
            holder.index_dir,
            doc_id,
            superseded_by=change.superseded_by,
            repealed=bool(change.repealed),
            in_force=bool(change.in_force),
            holder=holder,
        ),
        "无法修改文件状态",
    )
    return {"status": "updated", "doc": meta.to_dict()}
