"""Assembles the FastAPI app: routers, static pages, error handling, limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.limits import RequestLimitsMiddleware
from api.openapi import honest_openapi
from api.querylog import open_query_log
from api.ratelimit import LIMITED_PREFIX, RateLimitMiddleware
from api.redis_state import RedisNonceStore, RedisRateLimitStore, RedisReplyStore
from api.routes import admin, admin_docs, ask, documents, feedback, gaps, health, pages
from api.routes.pages import STATIC_DIR
from api.wechat.dedup import InMemoryReplyStore
from api.wechat.nonce import InMemoryNonceStore
from api.wechat.privacy import RedactWeChatQuery
from config import Settings, get_settings
from rag.conversation import ConversationStore
from rag.engine import Engine
from rag.redis_store import make_state_store, redis_client
from service.engines import EngineHolder

logger = logging.getLogger("policyqa.api")
UPLOAD_TIMEOUT_FACTOR = 4  # a document upload may be 20 MiB, not 64 KiB: it gets longer to arrive


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
        generate_unique_id_function=lambda route: route.name,  # operationIds: ask, search, get_clause ...
    )
    app.state.settings = settings
    app.state.engine_holder = EngineHolder(
        engine, settings.index, expected_model=settings.embed_model, embed_threads=settings.embed_threads
    )
    app.state.query_log = open_query_log(settings.query_log)
    app.openapi = honest_openapi(  # type: ignore[method-assign]
        app,
        max_question_chars=settings.max_question_chars,
        rate_limited_prefix=LIMITED_PREFIX,
        json_prefix="/api/",
        upload_path=admin_docs.UPLOAD_PATH,
    )

    # Added before CORS so that CORS wraps it and a browser can read the 429 message.
    app.add_middleware(RateLimitMiddleware, limit_per_minute=settings.rate_limit_per_minute)
    if settings.redis_url:  # shared by every worker
        client = redis_client(settings.redis_url)
        app.state.rate_limit_store = RedisRateLimitStore(client)
        # A WeChat retry reaching another worker gets the reply the first worker computed, and a
        # (timestamp, nonce) used on one worker is refused on the others.
        app.state.reply_store = RedisReplyStore(client)
        app.state.nonce_store = RedisNonceStore(client)
    else:
        app.state.reply_store = InMemoryReplyStore()
        app.state.nonce_store = InMemoryNonceStore()

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
        body_timeout_s=settings.body_timeout_s,
        upload_timeout_s=settings.body_timeout_s * UPLOAD_TIMEOUT_FACTOR,
    )
    install_error_handlers(app)

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
