"""GET/POST /wechat: the WeChat Official Account server -- URL verification and passive replies.

WECHAT_ENCRYPT_MODE mirrors the console's 消息加解密方式: `plain` (明文) takes plaintext messages only,
`compat` (兼容) takes both and replies the way it was asked, `safe` (安全, the default once an
EncodingAESKey is set) refuses plaintext with 403 -- whoever has the token cannot go around the
encryption. Nothing is processed before the request is authenticated: `signature` (plaintext) or
`msg_signature` over the `Encrypt` text (AES), compared in constant time, then the timestamp window,
then the nonce store (a signed (timestamp, nonce) carries one body: a replay with another body is
refused), then (AES) decryption and the AppID check. Answers run in a worker thread under a deadline;
a late answer is replied as "success" and kept, so WeChat's retry of the same message -- same follower,
same MsgId -- gets it (see `api/wechat/dedup.py`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse, Response

from api.deps import EngineDep, SettingsDep
from api.openapi import error_responses
from api.querylog import log_query
from api.validation import clean_question
from api.wechat import reply
from api.wechat.crypto import (
    AppIdMismatchError,
    DecryptError,
    MessageCrypto,
    compute_signature,
    signature_matches,
)
from api.wechat.dedup import ReplyStore, dedup_key, hash_openid
from api.wechat.messages import (
    EVENT_CLICK,
    EVENT_SUBSCRIBE,
    EventMessage,
    InboundMessage,
    MalformedMessageError,
    TextMessage,
    VoiceMessage,
    build_encrypted_reply,
    build_text_reply,
    parse_message,
    parse_xml,
    text_reply_overhead_bytes,
)
from api.wechat.nonce import NonceStore, body_digest
from config import Settings
from rag.models import Answer

router = APIRouter(tags=["wechat"])
logger = logging.getLogger("policyqa.wechat")

WECHAT_MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few KiB; anything bigger is not from WeChat
SUCCESS = "success"  # tells WeChat "no reply", so it neither retries nor shows an error to the follower
ENCRYPT_AES = "aes"
MODE_PLAIN, MODE_SAFE = "plain", "safe"  # WECHAT_ENCRYPT_MODE values (compat: both accepted)
SESSION_PREFIX = "wechat:"
PAYLOAD_TOO_LARGE = 413  # named here: starlette renamed its constant between versions
XML_MEDIA_TYPE = "application/xml"


class AnswerEngine(Protocol):
    """What this channel needs of the engine."""

    def ask(self, question: str, session_id: str | None = None) -> Answer: ...


async def get_reply_store(request: Request) -> ReplyStore:
    """Return the app's retry store (create_app chooses it: Redis's when REDIS_URL is set, so that every
    worker shares it, else one in memory)."""
    store: ReplyStore = request.app.state.reply_store
    return store


async def get_nonce_store(request: Request) -> NonceStore:
    """Return the app's (timestamp, nonce) store (chosen by create_app, like the retry store)."""
    store: NonceStore = request.app.state.nonce_store
    return store


ReplyStoreDep = Annotated[ReplyStore, Depends(get_reply_store)]
TimestampQuery = Annotated[str, Query(pattern="^[0-9]+$", description="Unix 时间（秒）")]
NonceStoreDep = Annotated[NonceStore, Depends(get_nonce_store)]


@dataclass(frozen=True)
class ReplyPlan:
    """How to answer a message: a fixed text now, a question for the engine, or nothing ("success")."""

    text: str | None = None
    question: str | None = None


@router.get(
    "/wechat",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "echostr"},
        **error_responses(400, 403, 404),
    },
)
def verify_server_url(
    settings: SettingsDep,
    signature: Annotated[str, Query()] = "",
    timestamp: TimestampQuery = "",
    nonce: Annotated[str, Query()] = "",
    echostr: Annotated[str, Query()] = "",
) -> PlainTextResponse:
    """Answer WeChat's server-URL check: return `echostr` when the signature and timestamp are valid."""
    token = _require_token(settings)
    if not signature_matches(compute_signature(token, timestamp, nonce), signature):
        raise _forbidden("签名校验失败。", "bad signature on URL verification")
    _check_timestamp(timestamp, settings.wechat_timestamp_window_s)
    if not echostr:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "缺少 echostr 参数。")
    return PlainTextResponse(echostr)


_XML_BODY = {"schema": {"type": "string", "description": "WeChat XML (plaintext or an Encrypt envelope)"}}


@router.post(
    "/wechat",
    responses={
        200: {
            "description": "被动回复 XML（安全模式下加密），或 success（不回复）",
            "content": {
                XML_MEDIA_TYPE: {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        **error_responses(400, 403, 404, 413),
    },
    openapi_extra={
        "requestBody": {"required": False, "content": {"text/xml": _XML_BODY, XML_MEDIA_TYPE: _XML_BODY}}
    },
)
async def receive_message(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    store: ReplyStoreDep,
    nonces: NonceStoreDep,
    signature: Annotated[str, Query()] = "",
    timestamp: TimestampQuery = "",
    nonce: Annotated[str, Query()] = "",
    encrypt_type: Annotated[Literal["", "raw", "aes"], Query(description="aes：兼容/安全模式")] = "",
    msg_signature: Annotated[str, Query()] = "",
) -> Response:
    """Authenticate, decrypt and answer one message or event pushed by WeChat (a passive reply)."""
    started = time.monotonic()
    token = _require_token(settings)
    body = await _read_body(request, min(settings.max_body_bytes, WECHAT_MAX_BODY_BYTES))
    plain_signature = compute_signature(token, timestamp, nonce)
    signed = signature_matches(plain_signature, signature)
    if encrypt_type != ENCRYPT_AES and not signed:
        raise _forbidden("签名校验失败。", "bad signature")
    # With encrypt_type=aes the body is needed to check msg_signature; until something has authenticated
    # the request, a body that cannot be read is refused as unauthenticated (403), not as malformed.
    outer = _parse_xml(body, authenticated=signed)
    crypto: MessageCrypto | None = None
    if encrypt_type == ENCRYPT_AES or ("Encrypt" in outer and "MsgType" not in outer):
        encrypted = outer.get("Encrypt", "")
        if not encrypted and signed:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "加密消息缺少 Encrypt 字段。")
        # msg_signature needs only the token: authenticate before saying anything about the keys.
        if not signature_matches(compute_signature(token, timestamp, nonce, encrypted), msg_signature):
            raise _forbidden("消息签名校验失败。", "bad msg_signature")
        if signature and not signed:
            raise _forbidden("签名校验失败。", "bad signature beside a valid msg_signature")
        crypto = _message_crypto(settings)
        _check_fresh(timestamp, nonce, body, settings, nonces)
        try:
            fields = _parse_xml(crypto.decrypt(encrypted).encode("utf-8"))
        except AppIdMismatchError as error:
            raise _forbidden("AppID 不匹配。", "AppID mismatch") from error
        except DecryptError as error:
            raise _forbidden("消息解密失败。", f"decryption failed: {error}") from error
    else:
        if settings.wechat_encrypt_mode == MODE_SAFE:  # the token alone must not get past the encryption
            raise _forbidden("安全模式只接受加密消息。", "plaintext message in safe mode")
        _check_fresh(timestamp, nonce, body, settings, nonces)
        fields = outer
    try:
        message = parse_message(fields)
    except MalformedMessageError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"消息格式不正确：{error}") from error

    salt = settings.wechat_openid_salt or settings.wechat_token or ""
    follower = hash_openid(message.from_user, salt)
    plan = plan_reply(message, settings)
    logger.info("wechat %s from %s: %s", message.msg_type, follower, "question" if plan.question else "fixed")
    if plan.question is not None:
        compute = partial(
            compute_answer_reply,
            engine,
            plan.question,
            SESSION_PREFIX + follower,
            message,
            settings.public_url,
            partial(
                log_query,
                request.app,
                channel="wechat",
                question=plan.question,
                follower_id=message.from_user,
            ),
        )
        future = asyncio.wrap_future(store.submit(dedup_key(message.dedup_key_parts, salt), compute))
        remaining = settings.wechat_deadline_s - (time.monotonic() - started)
        done, _ = await asyncio.wait({future}, timeout=max(remaining, 0.0))
        if not done:
            logger.warning(
                "wechat answer for %s missed the %.1fs deadline; replied success",
                follower,
                settings.wechat_deadline_s,
            )
            return PlainTextResponse(SUCCESS)
        return _xml_response(future.result(), crypto)
    if plan.text is None:
        return PlainTextResponse(SUCCESS)
    create_time = int(time.time())
    xml = build_text_reply(message.from_user, message.to_user, plan.text, create_time)
    return _xml_response(xml, crypto)


def plan_reply(message: InboundMessage, settings: Settings) -> ReplyPlan:
    """Decide what a message gets: text and recognised voice and configured menu clicks are questions."""
    if isinstance(message, TextMessage):
        return _question_plan(message.content, settings)
    if isinstance(message, VoiceMessage):
        if message.recognition and message.recognition.strip():
            return _question_plan(message.recognition, settings)
        return ReplyPlan(text=reply.voice_unrecognised_text())
    if isinstance(message, EventMessage):
        if message.event == EVENT_SUBSCRIBE:
            return ReplyPlan(text=reply.welcome_text())
        if message.event == EVENT_CLICK:
            question = settings.wechat_menu_keys.get(message.event_key)
            return _question_plan(question, settings) if question else ReplyPlan(text=reply.welcome_text())
        return ReplyPlan()  # unsubscribe, VIEW, SCAN, LOCATION...: nothing to say
    return ReplyPlan(text=reply.unsupported_text())


def compute_answer_reply(
    engine: AnswerEngine,
    question: str,
    session_id: str,
    message: InboundMessage,
    public_url: str,
    log: Callable[..., None] | None = None,
) -> str:
    """Ask the engine and return the plaintext reply XML (runs in a worker thread; never raises).

    `log(answer=..., latency_ms=...)` records the question in the staff query log (answer None = error).
    """
    started = time.perf_counter()
    answer: Answer | None = None
    create_time = int(time.time())
    budget = (
        reply.MAX_REPLY_BYTES - 1 - text_reply_overhead_bytes(message.from_user, message.to_user, create_time)
    )
    try:
        answer = engine.ask(question, session_id=session_id)
        content = reply.answer_text(answer, public_url, budget)
    except Exception:  # an engine failure must still give the follower an answer, not a WeChat error
        logger.exception("engine failed on a WeChat question")
        content = reply.busy_text()
    if log is not None:
        log(answer=answer, latency_ms=(time.perf_counter() - started) * 1000)
    return build_text_reply(message.from_user, message.to_user, content, create_time)


def _question_plan(text: str, settings: Settings) -> ReplyPlan:
    if not text.strip():
        return ReplyPlan(text=reply.empty_question_text())
    try:
        return ReplyPlan(question=clean_question(text, settings.max_question_chars))
    except HTTPException as error:  # the follower reads the reason, WeChat sees a normal reply
        return ReplyPlan(text=str(error.detail))


def _xml_response(xml: str, crypto: MessageCrypto | None) -> Response:
    if crypto is None:
        return Response(xml, media_type=XML_MEDIA_TYPE)
    timestamp = str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    encrypted = crypto.encrypt(xml)
    envelope = build_encrypted_reply(encrypted, crypto.sign(timestamp, nonce, encrypted), timestamp, nonce)
    return Response(envelope, media_type=XML_MEDIA_TYPE)


def _require_token(settings: Settings) -> str:
    if not settings.wechat_token:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "微信公众号接入未配置（WECHAT_TOKEN）。")
    return settings.wechat_token


def _message_crypto(settings: Settings) -> MessageCrypto:
    if settings.wechat_encrypt_mode == MODE_PLAIN or not (
        settings.wechat_aes_key and settings.wechat_app_id and settings.wechat_token
    ):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "收到加密消息，但服务器是明文模式"
            "（WECHAT_ENCRYPT_MODE=plain，或未配置 WECHAT_AES_KEY 和 WECHAT_APP_ID）。",
        )
    return MessageCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)


def _check_fresh(timestamp: str, nonce: str, body: bytes, settings: Settings, nonces: NonceStore) -> None:
    """Refuse a timestamp outside the window, and a (timestamp, nonce) already used with another body."""
    window = settings.wechat_timestamp_window_s
    _check_timestamp(timestamp, window)
    # Kept for the whole window on both sides of the timestamp, so it cannot be used again in time.
    if not nonces.claim(timestamp, nonce, body_digest(body), 2 * window + 1):
        raise _forbidden(
            "该请求的 nonce 已被使用（疑似重放）。", "reused (timestamp, nonce) with another body"
        )


def _check_timestamp(timestamp: str, window_seconds: int) -> None:
    # The signature covers the timestamp, so an old signed request is a replay, not a forgery.
    if not timestamp.isdigit():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "timestamp 参数无效。")
    if abs(time.time() - int(timestamp)) > window_seconds:
        raise _forbidden("请求时间戳超出允许范围（疑似重放）。", "timestamp outside the window")


def _parse_xml(body: bytes, authenticated: bool = True) -> dict[str, str]:
    try:
        return parse_xml(body)
    except MalformedMessageError as error:
        if not authenticated:
            raise _forbidden("消息签名校验失败。", f"unsigned, unreadable XML: {error}") from error
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"XML 无效或不安全：{error}") from error


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise HTTPException(PAYLOAD_TOO_LARGE, f"请求体过大（上限 {limit} 字节）。")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a missing or false Content-Length does not get past the limit
            raise HTTPException(PAYLOAD_TOO_LARGE, f"请求体过大（上限 {limit} 字节）。")
    return bytes(body)


def _forbidden(detail: str, reason: str) -> HTTPException:
    logger.warning("wechat request refused: %s", reason)
    return HTTPException(status.HTTP_403_FORBIDDEN, detail)
