"""Assembles the FastAPI app: routers, static pages, error handling, limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api.deps import EngineHolder
from api.limits import RequestLimitsMiddleware
from api.querylog import open_query_log
from api.ratelimit import RateLimitMiddleware
from api.redis_state import RedisRateLimitStore, RedisReplyStore
from api.routes import admin, admin_docs, ask, documents, feedback, gaps, health, pages
from api.routes.pages import STATIC_DIR
from api.wechat.privacy import RedactWeChatQuery
from policyqa.config import Settings, get_settings
from rag.conversation import ConversationStore
from rag.engine import Engine
from rag.redis_store import make_state_store, redis_client

logger = logging.getLogger("policyqa.api")

# Validation error types -> what a user should read.
_VALIDATION_MESSAGES = {
    "json_invalid": "请求体不是有效的 JSON。",
    "missing": "缺少必填字段",
    "string_type": "字段应为文本",
    "extra_forbidden": "包含不支持的字段",
    "string_too_long": "字段过长",
    "string_pattern_mismatch": "字段格式不正确",
    "int_parsing": "字段应为整数",
    "less_than_equal": "数值过大",
    "greater_than_equal": "数值过小",
    "literal_error": "取值不在允许范围内",
    "model_attributes_type": "请求体应为 JSON 对象",
    "dict_type": "请求体应为 JSON 对象",
}


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        text = _VALIDATION_MESSAGES.get(error.get("type", ""), "请求参数不正确")
        parts.append(f"{text}（{where}）" if where and error.get("type") != "json_invalid" else text)
    return "；".join(parts) or "请求参数不正确。"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    query_log = getattr(app.state, "query_log", None)
    if query_log is not None:
        query_log.close()


def _redact_access_log() -> None:
    # WeChat puts the follower's OpenID and the signatures in the query string; uvicorn logs full paths.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactWeChatQuery) for f in access.filters):
        access.addFilter(RedactWeChatQuery())


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Return the app over `engine`, or over the index named by settings (refusing to start if it is bad)."""
    settings = settings or get_settings()
    if engine is None:
        # Conversation state in Redis when REDIS_URL is set, so a follow-up may reach any worker.
        conversations = ConversationStore(make_state_store(settings.redis_url))
        engine = Engine.from_dir(
            settings.index,
            conversations=conversations,
            expected_model=settings.embed_model,
            embed_threads=settings.embed_threads,
        )  # raises IndexLoadError
    for warning in engine.index.warnings:  # e.g. BM25-only: how to provide an embedding model
        logger.warning("%s", warning)
    _redact_access_log()
    app = FastAPI(
        lifespan=_lifespan,
        title="PolicyQA 政策问答",
        version="0.1.0",
        description="Verbatim policy clauses with provenance: document, 发文字号, section path, clause no.",
    )
    app.state.settings = settings
    app.state.engine_holder = EngineHolder(engine)
    app.state.query_log = open_query_log(settings.query_log)

    # Added before CORS so that CORS wraps it and a browser can read the 429 message.
    app.add_middleware(RateLimitMiddleware, limit_per_minute=settings.rate_limit_per_minute)
    if settings.redis_url:  # counters shared by every worker
        app.state.rate_limit_store = RedisRateLimitStore(redis_client(settings.redis_url))
        # A WeChat retry reaching another worker gets the reply the first worker computed.
        app.state.reply_store = RedisReplyStore.from_url(settings.redis_url)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )

    # Outermost: refuse what is too big or not JSON before anything else reads the body.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_path=admin_docs.UPLOAD_PATH,
        max_upload_bytes=admin_docs.MAX_UPLOAD_BYTES,
    )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "type": e.get("type", ""), "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        code = status.HTTP_400_BAD_REQUEST if any(e["type"] == "json_invalid" for e in errors) else 422
        return JSONResponse({"detail": _validation_message(errors), "errors": errors}, code)

    @app.exception_handler(HTTPException)
    async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "请求无法处理。"
        if exc.status_code == status.HTTP_404_NOT_FOUND and detail == "Not Found":
            detail = "没有这个页面或接口。"
        if detail == "There was an error parsing the body":
            detail = "请求体无法解析：不是有效的 UTF-8 编码 JSON。"
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            detail = "不支持该请求方法。"
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(admin.router)
    app.include_router(admin_docs.router)
    app.include_router(feedback.router)
    app.include_router(gaps.router)
    app.include_router(pages.router)
    try:
        from api.routes import wechat
    except ImportError as exc:  # the WeChat channel is optional until configured
        logger.warning("WeChat channel unavailable: %s", exc)
    else:
        app.include_router(wechat.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
