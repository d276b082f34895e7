"""WeChat probes against a real `policyqa serve` on loopback, played by the simulated WeChat server of
test_wechat.py: two followers with the same MsgId, safe and compatible mode, replayed signatures.
With a real redis-server the same probes run on two workers sharing their state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from policyqa.localserver import redis_server
from tests.api.live import LiveServer, serve
from tests.api.test_wechat import (
    AES_KEY,
    APP_ID,
    OPENID,
    OTHER_OPENID,
    TOKEN,
    WeChatServer,
    message_xml,
)

BASE_ENV = {"WECHAT_TOKEN": TOKEN, "POLICYQA_RATE_LIMIT": "0", "WECHAT_DEADLINE_SECONDS": "4.5"}
AES_ENV = {"WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": APP_ID}
YUZHONG_QUESTION = "渝中区托育服务有什么目标"
CHANGNING_QUESTION = "长宁区宝宝屋建设"


@pytest.fixture(scope="module", params=["memory", "redis"])
def plain_server(
    request: pytest.FixtureRequest, built_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A plaintext-mode server: one worker with its state in memory, or two workers sharing Redis."""
    workdir = tmp_path_factory.mktemp(f"wechat-{request.param}")
    if request.param == "memory":
        with serve(built_index, workdir / "server.log", BASE_ENV) as server:
            yield server
        return
    try:
        redis = redis_server(workdir)
        redis_url = redis.__enter__()
    except LookupError:
        pytest.skip("redis-server is not installed (scripts/install_system_deps.sh installs it)")
    env = {**BASE_ENV, "REDIS_URL": redis_url}
    try:
        with serve(built_index, workdir / "server.log", env, workers=2) as server:
            yield server
    finally:
        redis.__exit__(None, None, None)


@pytest.fixture()
def wechat_client(plain_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plain_server.url, timeout=30) as client:
        yield client


def _unique_msg_id() -> str:
    return str(time.time_ns())


# --- item 3: de-duplication is per follower -------------------------------------------------------


def test_the_same_msg_id_from_two_followers_gets_two_replies(wechat_client: httpx.Client) -> None:
    wechat = WeChatServer(wechat_client)
    msg_id = _unique_msg_id()
    first = wechat.post(message_xml("text", msg_id=msg_id, openid=OPENID, Content=YUZHONG_QUESTION))
    second = wechat.post(message_xml("text", msg_id=msg_id, openid=OTHER_OPENID, Content=CHANGNING_QUESTION))
    # Each reply is addressed to its own follower (open_reply checks ToUserName) and answers its question.
    mine = wechat.open_reply(first, openid=OPENID)["Content"]
    theirs = wechat.open_reply(second, openid=OTHER_OPENID)["Content"]
    assert "渝中" in mine and "宝宝屋" in theirs and mine != theirs
    # A retry of the second follower's message still gets the second follower's reply.
    retry = wechat.post(message_xml("text", msg_id=msg_id, openid=OTHER_OPENID, Content=CHANGNING_QUESTION))
    assert wechat.open_reply(retry, openid=OTHER_OPENID)["Content"] == theirs


# --- item 5: a signed (timestamp, nonce) carries one body ----------------------------------------


def test_a_replayed_signature_with_another_body_is_refused(wechat_client: httpx.Client) -> None:
    wechat = WeChatServer(wechat_client)
    stamp, nonce = int(time.time()), f"replay{time.time_ns()}"
    original = message_xml("text", msg_id=_unique_msg_id(), openid=OPENID, Content=YUZHONG_QUESTION)
    answered = wechat.open_reply(wechat.post(original, timestamp=stamp, nonce=nonce))
    # Same query string (timestamp, nonce, signature), another follower and question in the body.
    forged = message_xml("text", msg_id=_unique_msg_id(), openid=OTHER_OPENID, Content=CHANGNING_QUESTION)
    replay = wechat.post(forged, timestamp=stamp, nonce=nonce)
    assert replay.status_code == 403 and "重放" in replay.json()["detail"]
    # The very same request again is what WeChat's retry looks like: it gets the same reply.
    retried = wechat.open_reply(wechat.post(original, timestamp=stamp, nonce=nonce))
    assert retried["Content"] == answered["Content"]


# --- item 4: safe mode refuses plaintext; compatible mode replies the way it was asked ------------


def test_safe_mode_is_the_default_with_a_key_and_refuses_plaintext(built_index: Path, tmp_path: Path) -> None:
    with (
        serve(built_index, tmp_path / "safe.log", {**BASE_ENV, **AES_ENV}) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        plaintext = WeChatServer(client, "plain").post(message_xml("text", Content=YUZHONG_QUESTION))
        assert plaintext.status_code == 403 and "安全模式" in plaintext.json()["detail"]
        safe = WeChatServer(client, "safe")
        response = safe.post(message_xml("text", msg_id=_unique_msg_id(), Content=YUZHONG_QUESTION))
        reply = safe.open_reply(response)
        assert "渝中" in reply["Content"]


def test_compatible_mode_replies_the_way_it_was_asked(built_index: Path, tmp_path: Path) -> None:
    env = {**BASE_ENV, **AES_ENV, "WECHAT_ENCRYPT_MODE": "compat"}
    with (
        serve(built_index, tmp_path / "compat.log", env) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        plain = WeChatServer(client, "plain")
        response = plain.post(message_xml("text", msg_id=_unique_msg_id(), Content=YUZHONG_QUESTION))
        assert "<Encrypt>" not in response.text and "渝中" in plain.open_reply(response)["Content"]
        compat = WeChatServer(client, "compat")
        response = compat.post(message_xml("text", msg_id=_unique_msg_id(), Content=CHANGNING_QUESTION))
        assert "<Encrypt>" in response.text and "宝宝屋" in compat.open_reply(response)["Content"]
