"""GET/POST /wechat against a simulated WeChat server that signs, encrypts, sends and opens replies.

The simulator has its own implementation of the protocol (sha1 over sorted parts; AES-256-CBC with
`cryptography`'s PKCS7(256) padding), so a shared bug in `api/wechat/crypto.py` cannot pass unnoticed;
that module is itself proven against WeChat's published vectors in test_wechat_crypto.py.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import get_engine, get_settings_dep
from api.routes import wechat as wechat_route
from api.wechat.dedup import InMemoryReplyStore, hash_openid
from api.wechat.nonce import InMemoryNonceStore
from api.wechat.privacy import RedactWeChatQuery
from config import Settings
from corpus.models import Clause, DocumentMeta
from rag.citation import format_citation
from rag.engine import Engine
from rag.models import Answer, Hit
from tests.api.answers import found
from tests.conftest import CORPUS_DIR

TOKEN = "PolicyQAtoken2024"
AES_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")  # 43 characters, like WeChat's
APP_ID = "wx1234567890abcdef"
ACCOUNT = "gh_0123456789ab"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
OTHER_OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfXXX"
PUBLIC_URL = "https://policy.example.gov.cn"
MENU_QUESTION = "渝中区托育服务有什么目标？"
YUZHONG = DocumentMeta(
    id="yuzhong-plan",
    title="重庆市渝中区儿童友好城市建设三年行动计划",
    doc_number="渝中府办〔2024〕7号",
    region="渝中区",
)
CHANGNING = DocumentMeta(
    id="changning-plan", title="上海市长宁区推进儿童友好城区建设行动计划", region="长宁区"
)


# --- answers built from real corpus text ----------------------------------------------------------


def corpus_hit(doc: DocumentMeta, first: int, last: int, path: tuple[str, ...], insert: str = "") -> Hit:
    lines = (CORPUS_DIR / f"{doc.id}.txt").read_text(encoding="utf-8").splitlines()[first - 1 : last]
    text = "\n".join(line.strip() for line in lines if line.strip())
    if insert:  # e.g. a CDATA terminator, to prove escaping
        text = text.replace("。", "。" + insert, 1)
    clause = Clause(f"{doc.id}:{first}", doc.id, path[-1][:4], path, text, (first, last))
    return Hit(clause=clause, doc=doc, score=1.0, retrievers=("bm25",), citation=format_citation(clause, doc))


def tuoyu_hit(insert: str = "") -> Hit:
    return corpus_hit(YUZHONG, 161, 163, ("四、主要任务", "(17)加快婴幼儿照护服务发展。"), insert)


def principles_hit() -> Hit:
    return corpus_hit(CHANGNING, 25, 33, ("一、总体要求", "(二)基本原则"))


def not_found(question: str) -> Answer:
    message = "抱歉，没有在收录的政策文件中找到与您的问题直接相关的条款。"
    return Answer(
        status="not_found",
        question=question,
        hits=(),
        regions=(),
        message=message,
        suggestions=("托育服务",),
        resolved_question=question,
        retrievers=("bm25",),
    )


class FakeEngine:
    """Records calls; answers with `respond`; can be held at a gate to play a slow engine."""

    def __init__(
        self, respond: Callable[[str], Answer] | None = None, gate: threading.Event | None = None
    ) -> None:
        self.respond = respond or (lambda q: not_found(q) if "火星" in q else found(q, tuoyu_hit()))
        self.gate = gate
        self.calls: list[tuple[str, str | None]] = []
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def ask(self, question: str, session_id: str | None = None) -> Answer:
        with self._lock:
            self.calls.append((question, session_id))
        if self.gate is not None:
            self.gate.wait(10)
        try:
            return self.respond(question)
        finally:
            self.finished.set()


class HTTPResponse(Protocol):
    """What the tests read of a response (TestClient returns httpx or httpx2 responses)."""

    status_code: int

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Any: ...

    def json(self) -> Any: ...


# --- the simulated WeChat server ------------------------------------------------------------------


def sim_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def sim_encrypt(xml: str, aes_key: str, app_id: str) -> str:
    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + app_id.encode()
    padder = padding.PKCS7(256).padder()  # WeChat pads to 32 bytes
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def sim_decrypt(encrypted: str, aes_key: str) -> tuple[str, str]:
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def message_xml(msg_type: str, msg_id: str | None = "1001", openid: str = OPENID, **fields: str) -> str:
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{int(time.time())}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        *(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items()),
    ]
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


class WeChatServer:
    """Plays WeChat: signs (and in compatible/safe mode encrypts) a message, posts it, opens the reply.

    `client` is a TestClient, or an httpx.Client whose base_url is a real server (test_wechat_live.py).
    """

    def __init__(
        self,
        client: httpx.Client,
        mode: str = "plain",
        aes_key: str = AES_KEY,
        app_id: str = APP_ID,
        token: str = TOKEN,
    ) -> None:
        self.client, self.mode, self.aes_key, self.app_id, self.token = client, mode, aes_key, app_id, token

    def post(
        self,
        xml: str,
        timestamp: int | None = None,
        nonce: str | None = None,
        bad_signature: bool = False,
        raw_body: bytes | None = None,
    ) -> HTTPResponse:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        params = {"timestamp": stamp, "nonce": nonce, "openid": OPENID}
        params["signature"] = sim_signature(self.token, stamp, nonce)
        body = xml
        if self.mode != "plain":
            encrypted = sim_encrypt(xml, self.aes_key, self.app_id)
            params["encrypt_type"] = "aes"
            params["msg_signature"] = sim_signature(self.token, stamp, nonce, encrypted)
            envelope = (
                f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            )
            body = (
                (xml.removesuffix("</xml>") + envelope + "</xml>")
                if self.mode == "compat"
                else f"<xml>{envelope}</xml>"
            )
        if bad_signature:
            key = "signature" if self.mode == "plain" else "msg_signature"
            params[key] = sim_signature(self.token + "x", stamp, nonce)
        content = raw_body if raw_body is not None else body.encode()
        return self.client.post(
            "/wechat", params=params, content=content, headers={"Content-Type": "text/xml"}
        )

    def open_reply(self, response: HTTPResponse, openid: str = OPENID) -> dict[str, str]:
        """Check the reply as WeChat would (signature, AppID, well-formed XML) and return its fields."""
        assert response.status_code == 200, response.text
        xml = response.text
        if self.mode != "plain":
            envelope = ET.fromstring(xml)
            encrypted = envelope.findtext("Encrypt") or ""
            expected = sim_signature(
                self.token, envelope.findtext("TimeStamp") or "", envelope.findtext("Nonce") or "", encrypted
            )
            assert envelope.findtext("MsgSignature") == expected
            xml, app_id = sim_decrypt(encrypted, self.aes_key)
            assert app_id == self.app_id
        assert len(xml.encode()) < 2000, "a passive reply must stay under 2000 bytes"
        root = ET.fromstring(xml)
        fields = {child.tag: child.text or "" for child in root}
        assert (
            fields["ToUserName"] == openid
            and fields["FromUserName"] == ACCOUNT
            and fields["MsgType"] == "text"
        )
        return fields


# --- fixtures -------------------------------------------------------------------------------------


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {  # field names; the environment spells them WECHAT_TOKEN, ...
        "wechat_token": TOKEN,
        "wechat_aes_key": AES_KEY,
        "wechat_app_id": APP_ID,
        "public_url": PUBLIC_URL,
        "wechat_deadline_s": 3.0,
        "wechat_menu_keys": {"ASK_TUOYU": MENU_QUESTION},
        # The console's 兼容 mode, so one app takes all three kinds of request; safe mode (the default
        # with a key) is tested on its own below.
        "wechat_encrypt_mode": "compat",
    }
    values.update(overrides)
    return Settings.model_validate(values)  # validated like the environment, without reading it


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def app_factory() -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(engine: FakeEngine, **overrides: Any) -> TestClient:
        settings = make_settings(**overrides)
        app = FastAPI()
        app.include_router(wechat_route.router)
        store = InMemoryReplyStore(executor=ThreadPoolExecutor(4))
        app.dependency_overrides[get_engine] = lambda: engine
        app.dependency_overrides[get_settings_dep] = lambda: settings
        app.dependency_overrides[wechat_route.get_reply_store] = lambda: store
        nonces = InMemoryNonceStore()
        app.dependency_overrides[wechat_route.get_nonce_store] = lambda: nonces
        client = TestClient(app)
        client.__enter__()  # one event loop for the whole test, so late answers can still land
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Callable[..., TestClient], fake_engine: FakeEngine) -> TestClient:
    return app_factory(fake_engine)


MODES = ["plain", "compat", "safe"]


# --- URL verification -----------------------------------------------------------------------------


def test_url_verification_returns_echostr(client: TestClient) -> None:
    stamp, nonce = str(int(time.time())), "8372612"
    params = {
        "signature": sim_signature(TOKEN, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "e-42",
    }
    response = client.get("/wechat", params=params)
    assert response.status_code == 200 and response.text == "e-42"
    assert response.headers["content-type"].startswith("text/plain")


def test_url_verification_with_bad_signature_or_old_timestamp_is_refused(client: TestClient) -> None:
    stamp, nonce = str(int(time.time())), "8372612"
    bad = {
        "signature": sim_signature("other", stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "e",
    }
    assert client.get("/wechat", params=bad).status_code == 403
    old = str(int(time.time()) - 3600)
    replay = {"signature": sim_signature(TOKEN, old, nonce), "timestamp": old, "nonce": nonce, "echostr": "e"}
    assert client.get("/wechat", params=replay).status_code == 403


# --- every message type, in every mode ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_text_question_gets_the_best_clause_with_citation_and_link(
    client: TestClient, fake_engine: FakeEngine, mode: str
) -> None:
    wechat = WeChatServer(client, mode)
    fields = wechat.open_reply(wechat.post(message_xml("text", Content="渝中区托育服务有什么目标")))
    content = fields["Content"]
    assert content.startswith(tuoyu_hit().clause.text)  # verbatim, whole: it fits
    assert "渝中府办〔2024〕7号" in content
    link = content.rsplit("完整回答：", 1)[1]
    assert link.startswith(PUBLIC_URL + "/?q=")
    assert parse_qs(urlparse(link).query)["q"] == ["渝中区托育服务有什么目标"]
    assert [q for q, _ in fake_engine.calls] == ["渝中区托育服务有什么目标"]


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_subscribe_gets_a_welcome_with_examples(
    client: TestClient, fake_engine: FakeEngine, mode: str
) -> None:
    wechat = WeChatServer(client, mode)
    fields = wechat.open_reply(wechat.post(message_xml("event", msg_id=None, Event="subscribe", EventKey="")))
    assert fields["Content"].startswith("欢迎关注") and "您可以这样问" in fields["Content"]
    assert fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_configured_menu_click_asks_its_question(
    client: TestClient, fake_engine: FakeEngine, mode: str
) -> None:
    wechat = WeChatServer(client, mode)
    fields = wechat.open_reply(
        wechat.post(message_xml("event", msg_id=None, Event="CLICK", EventKey="ASK_TUOYU"))
    )
    assert fake_engine.calls[0][0] == MENU_QUESTION
    assert fields["Content"].startswith(tuoyu_hit().clause.text)


def test_unknown_menu_key_gets_the_welcome_without_asking(
    client: TestClient, fake_engine: FakeEngine
) -> None:
    wechat = WeChatServer(client)
    fields = wechat.open_reply(wechat.post(message_xml("event", msg_id=None, Event="CLICK", EventKey="NOPE")))
    assert "您可以这样问" in fields["Content"] and fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_voice_with_recognition_is_answered_as_text(
    client: TestClient, fake_engine: FakeEngine, mode: str
) -> None:
    wechat = WeChatServer(client, mode)
    xml = message_xml("voice", MediaId="m1", Format="amr", Recognition="渝中区托育服务有什么目标")
    fields = wechat.open_reply(wechat.post(xml))
    assert fake_engine.calls[0][0] == "渝中区托育服务有什么目标"
    assert fields["Content"].startswith(tuoyu_hit().clause.text)


def test_voice_without_recognition_gets_a_hint(client: TestClient, fake_engine: FakeEngine) -> None:
    wechat = WeChatServer(client)
    fields = wechat.open_reply(wechat.post(message_xml("voice", MediaId="m1", Format="amr")))
    assert "语音" in fields["Content"] and fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize(
    "xml",
    [
        message_xml("image", PicUrl="http://mmbiz.example/p.jpg", MediaId="m2"),
        message_xml("location", Location_X="29.55", Location_Y="106.57", Scale="15", Label="渝中区"),
        message_xml("link", Title="t", Description="d", Url="http://example.com"),
        message_xml("shortvideo", MediaId="m3", ThumbMediaId="m4"),
        message_xml("file", Title="x.pdf"),
    ],
    ids=["image", "location", "link", "shortvideo", "unknown"],
)
def test_other_messages_get_a_polite_hint(
    client: TestClient, fake_engine: FakeEngine, mode: str, xml: str
) -> None:
    wechat = WeChatServer(client, mode)
    fields = wechat.open_reply(wechat.post(xml))
    assert fields["Content"].startswith("目前只能回答文字或语音提问") and fake_engine.calls == []


@pytest.mark.parametrize("event", ["unsubscribe", "VIEW"])
def test_silent_events_get_success(client: TestClient, fake_engine: FakeEngine, event: str) -> None:
    response = WeChatServer(client).post(message_xml("event", msg_id=None, Event=event, EventKey="http://x"))
    assert response.status_code == 200 and response.text == "success" and fake_engine.calls == []


def test_not_found_gets_a_refusal_with_example_questions(client: TestClient) -> None:
    wechat = WeChatServer(client, "safe")
    fields = wechat.open_reply(wechat.post(message_xml("text", Content="火星移民有什么政策")))
    assert fields["Content"].startswith("抱歉") and "您可以这样问" in fields["Content"]


def test_engine_failure_gets_an_apology_not_an_error(app_factory: Callable[..., TestClient]) -> None:
    def explode(question: str) -> Answer:
        raise RuntimeError("index missing")

    wechat = WeChatServer(app_factory(FakeEngine(explode)))
    fields = wechat.open_reply(wechat.post(message_xml("text", Content="托育")))
    assert "稍后再试" in fields["Content"]


def test_too_long_or_empty_questions_are_answered_without_the_engine(
    client: TestClient, fake_engine: FakeEngine
) -> None:
    wechat = WeChatServer(client)
    long_reply = wechat.open_reply(wechat.post(message_xml("text", msg_id="1", Content="托" * 600)))
    empty_reply = wechat.open_reply(wechat.post(message_xml("text", msg_id="2", Content="   ")))
    assert "太长" in long_reply["Content"] and "您可以这样问" in empty_reply["Content"]
    assert fake_engine.calls == []


def test_direction_controls_are_refused_and_invisible_characters_removed_as_on_the_api(
    client: TestClient, fake_engine: FakeEngine
) -> None:
    # The API's character rule (api/validation.py): U+202E would make the logged question read backwards.
    wechat = WeChatServer(client)
    refused = wechat.open_reply(wechat.post(message_xml("text", msg_id="21", Content="托育\u202e服务")))
    assert "方向" in refused["Content"] and "U+202E" in refused["Content"]
    assert fake_engine.calls == []
    wechat.open_reply(wechat.post(message_xml("text", msg_id="22", Content="托\u200b育\ufeff服务")))
    assert [question for question, _ in fake_engine.calls] == ["托育服务"]


# --- failures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_bad_signature_is_403_and_nothing_is_processed(
    client: TestClient, fake_engine: FakeEngine, mode: str
) -> None:
    response = WeChatServer(client, mode).post(message_xml("text", Content="托育"), bad_signature=True)
    assert response.status_code == 403 and fake_engine.calls == []


def test_missing_signature_is_403(client: TestClient, fake_engine: FakeEngine) -> None:
    response = client.post("/wechat", content=message_xml("text", Content="托育").encode())
    assert response.status_code == 403 and fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("offset", [-3600, -301, 3600])
def test_timestamp_outside_the_window_is_refused_as_replay(
    client: TestClient, fake_engine: FakeEngine, mode: str, offset: int
) -> None:
    response = WeChatServer(client, mode).post(
        message_xml("text", Content="托育"), timestamp=int(time.time()) + offset
    )
    assert response.status_code == 403 and "重放" in response.json()["detail"]
    assert fake_engine.calls == []


def test_message_for_another_appid_is_403(client: TestClient, fake_engine: FakeEngine) -> None:
    response = WeChatServer(client, "safe", app_id="wx0000000000000000").post(
        message_xml("text", Content="托育")
    )
    assert response.status_code == 403 and "AppID" in response.json()["detail"] and fake_engine.calls == []


def test_message_encrypted_with_another_key_is_403(client: TestClient, fake_engine: FakeEngine) -> None:
    other_key = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
    response = WeChatServer(client, "safe", aes_key=other_key).post(message_xml("text", Content="托育"))
    assert response.status_code == 403 and fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize(
    "xml",
    ["<xml><ToUserName>", "not xml", "<xml><MsgType>text</MsgType></xml>", "<root/>"],
    ids=["truncated", "text", "missing-fields", "wrong-root"],
)
def test_malformed_xml_is_400(client: TestClient, fake_engine: FakeEngine, mode: str, xml: str) -> None:
    response = WeChatServer(client, mode).post(xml)
    assert response.status_code == 400 and fake_engine.calls == []


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY d SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("prolog", [BOMB, EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_entity_bombs_and_external_entities_are_refused(
    client: TestClient, fake_engine: FakeEngine, mode: str, prolog: str
) -> None:
    xml = prolog + message_xml("text", Content="&d;")
    wechat = WeChatServer(client, mode)
    assert wechat.post(xml).status_code == 400  # plain: the body; safe: inside the encrypted payload
    outer = (prolog + "<xml><Encrypt>&d;</Encrypt></xml>").encode()
    assert wechat.post(message_xml("text", Content="x"), raw_body=outer).status_code == 400
    assert fake_engine.calls == []


def test_oversized_body_is_413(client: TestClient, fake_engine: FakeEngine) -> None:
    padding_text = "托" * (70 * 1024 // 3)
    wechat = WeChatServer(client)
    response = wechat.post(message_xml("text", Content=padding_text))
    assert response.status_code == 413 and fake_engine.calls == []
    # No Content-Length (chunked): the limit holds while reading.
    chunks = (b"<xml>" + b"a" * 1024 for _ in range(80))
    stamp, nonce = str(int(time.time())), "1"
    params = {"signature": sim_signature(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce}
    assert client.post("/wechat", params=params, content=chunks).status_code == 413


def test_channel_not_configured_is_404(
    app_factory: Callable[..., TestClient], fake_engine: FakeEngine
) -> None:
    client = app_factory(fake_engine, wechat_token=None)
    assert client.get("/wechat", params={"echostr": "x"}).status_code == 404
    assert client.post("/wechat", content=b"<xml/>").status_code == 404


def test_encrypted_message_without_aes_key_configured_is_400(
    app_factory: Callable[..., TestClient], fake_engine: FakeEngine
) -> None:
    client = app_factory(fake_engine, wechat_aes_key=None, wechat_encrypt_mode=None)
    response = WeChatServer(client, "safe").post(message_xml("text", Content="托育"))
    assert response.status_code == 400 and fake_engine.calls == []
    # Unsigned, it says nothing about the server's keys: it is refused as unauthenticated.
    forged = WeChatServer(client, "safe").post(message_xml("text", Content="托育"), bad_signature=True)
    assert forged.status_code == 403 and fake_engine.calls == []


@pytest.mark.parametrize("mode", ["plain", "compat"])
def test_safe_mode_refuses_plaintext_even_when_signed(
    app_factory: Callable[..., TestClient], fake_engine: FakeEngine, mode: str
) -> None:
    client = app_factory(fake_engine, wechat_encrypt_mode=None)  # an AES key is set: safe by default
    response = WeChatServer(client, mode).post(message_xml("text", Content="托育"))
    if mode == "plain":
        assert response.status_code == 403 and "安全模式" in response.json()["detail"]
        assert fake_engine.calls == []
    else:  # the compatible-mode body carries the encrypted copy, which is what safe mode reads
        assert "<Encrypt>" in response.text


# --- retries and the deadline ---------------------------------------------------------------------


def test_retry_while_the_first_is_computing_gets_the_same_reply_computed_once(
    app_factory: Callable[..., TestClient],
) -> None:
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    wechat = WeChatServer(app_factory(engine), "safe")
    xml = message_xml("text", msg_id="777", Content="渝中区托育服务有什么目标")
    responses: dict[str, HTTPResponse] = {}
    first = threading.Thread(target=lambda: responses.setdefault("first", wechat.post(xml)))
    first.start()
    _wait_for(lambda: len(engine.calls) == 1)
    retry = threading.Thread(target=lambda: responses.setdefault("retry", wechat.post(xml)))
    retry.start()
    time.sleep(0.2)  # the retry is now waiting on the same computation
    gate.set()
    first.join(10)
    retry.join(10)
    replies = [wechat.open_reply(responses[name]) for name in ("first", "retry")]
    assert replies[0] == replies[1]  # same content and same CreateTime: one computation
    assert len(engine.calls) == 1


def test_slow_answer_replies_success_then_the_retry_gets_the_finished_answer(
    app_factory: Callable[..., TestClient],
) -> None:
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    wechat = WeChatServer(app_factory(engine, wechat_deadline_s=0.3), "safe")
    xml = message_xml("text", msg_id="888", Content="渝中区托育服务有什么目标")
    started = time.monotonic()
    response = wechat.post(xml)
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.text == "success"
    assert elapsed < 2.0
    gate.set()  # the computation was not cancelled: it finishes in the background
    assert engine.finished.wait(5)
    time.sleep(0.05)
    fields = wechat.open_reply(wechat.post(xml))  # WeChat's retry, same MsgId
    assert fields["Content"].startswith(tuoyu_hit().clause.text)
    assert len(engine.calls) == 1


def test_retried_event_is_deduplicated_by_sender_and_time(
    client: TestClient, fake_engine: FakeEngine
) -> None:
    wechat = WeChatServer(client)
    xml = message_xml("event", msg_id=None, Event="CLICK", EventKey="ASK_TUOYU")
    assert wechat.open_reply(wechat.post(xml)) == wechat.open_reply(wechat.post(xml))
    assert len(fake_engine.calls) == 1


# --- reply content --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_cdata_terminator_in_the_answer_keeps_the_reply_well_formed(
    app_factory: Callable[..., TestClient], mode: str
) -> None:
    hit = tuoyu_hit(insert="]]>")
    wechat = WeChatServer(app_factory(FakeEngine(lambda q: found(q, hit))), mode)
    fields = wechat.open_reply(wechat.post(message_xml("text", Content="托育")))  # ET parse = well-formed
    assert fields["Content"].startswith(hit.clause.text) and "]]>" in fields["Content"]


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_long_clause_reply_stays_under_2000_bytes(app_factory: Callable[..., TestClient], mode: str) -> None:
    hit = principles_hit()
    assert len(hit.clause.text.encode()) > 2000
    wechat = WeChatServer(app_factory(FakeEngine(lambda q: found(q, hit))), mode)
    response = wechat.post(message_xml("text", Content="长宁区儿童友好城区建设的基本原则"))
    content = wechat.open_reply(response)["Content"]  # open_reply asserts the reply XML is < 2000 bytes
    excerpt = content.split("\n\n出处：", 1)[0]
    assert excerpt.endswith("……")
    kept = excerpt.removesuffix("……")
    assert hit.clause.text.startswith(kept) and (kept.endswith("。") or hit.clause.text[len(kept)] == "\n")
    assert "完整回答：" + PUBLIC_URL in content


def test_follow_ups_keep_one_session_per_follower(client: TestClient, fake_engine: FakeEngine) -> None:
    wechat = WeChatServer(client)
    wechat.open_reply(wechat.post(message_xml("text", msg_id="1", Content="渝中区托育服务有什么目标")))
    wechat.open_reply(wechat.post(message_xml("text", msg_id="2", Content="那长宁区呢")))
    other = wechat.post(message_xml("text", msg_id="3", openid=OTHER_OPENID, Content="托育"))
    wechat.open_reply(other, openid=OTHER_OPENID)
    sessions = [session for _, session in fake_engine.calls]
    assert sessions[0] == sessions[1] == "wechat:" + hash_openid(OPENID, TOKEN)
    assert sessions[2] != sessions[0]
    assert all(session and OPENID not in session and OTHER_OPENID not in session for session in sessions)


def test_raw_openids_and_secrets_never_reach_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    wechat = WeChatServer(client, "safe")
    with caplog.at_level(logging.DEBUG):
        wechat.open_reply(wechat.post(message_xml("text", msg_id="5", Content="托育")))
        wechat.post(message_xml("text", msg_id="6", Content="托育"), bad_signature=True)
        wechat.post(message_xml("text", msg_id="7", Content="托育"), timestamp=int(time.time()) - 3600)
    # The server's own records (the test client's httpx log of its request URL is not the server's).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "refused" in logged  # the refusals were logged...
    for secret in (OPENID, TOKEN, AES_KEY):
        assert secret not in logged  # ...without the follower's OpenID or the account's secrets


def test_access_log_filter_hides_the_query_of_wechat_requests() -> None:
    # uvicorn.access formats '%s - "%s %s HTTP/%s" %d' with the full path, query included.
    path = f"/wechat?signature=abc&timestamp=1&nonce=2&openid={OPENID}&encrypt_type=aes"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", path, "1.1", 200),
        None,
    )
    assert RedactWeChatQuery().filter(record)
    assert OPENID not in record.getMessage() and "POST /wechat?[redacted]" in record.getMessage()
    other = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", ("/api/v1/ask?x=1",), None)
    RedactWeChatQuery().filter(other)
    assert other.getMessage() == "/api/v1/ask?x=1"


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


# --- on the real index ---------------------------------------------------------------------------------


def test_real_engine_answers_through_wechat_with_a_verbatim_clause(
    app_factory: Callable[..., TestClient], engine: Engine
) -> None:
    # `engine` is the session engine over the bundled corpus (tests/conftest.py).
    question = "长宁宝宝屋"
    expected = engine.ask(question, session_id="test:wechat-expected").hits[0]
    wechat = WeChatServer(app_factory(engine), "safe")
    content = wechat.open_reply(wechat.post(message_xml("text", msg_id="4242", Content=question)))["Content"]
    excerpt = content.split("\n\n出处：", 1)[0].removesuffix("……")
    assert "宝宝屋" in excerpt and expected.clause.text.strip().startswith(excerpt)  # edges trimmed only
    assert expected.citation in content
