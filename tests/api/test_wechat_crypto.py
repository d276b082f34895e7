"""Signatures and the AES envelope against test vectors published with WeChat's official demo code.

Sources of the vectors (Tencent's WXBizMsgCrypt demo, 2014, values as kept in public repositories):
- [CS] the C# demo `Sample.cs` (token "QDG6eK", AppID "wx5823bf96d3bd56c7"), as vendored by
  JeffreySu/WeiXinMPSDK, src/Senparc.Weixin.MP/Senparc.Weixin.MP/Tencent/Sample.cs
  (commit 34ccf1be815d1fd3a2b1495a6ac2b39696b83206); other projects quote the same request from the WeCom
  docs' 加解密方案说明 (https://developer.work.weixin.qq.com/document/path/90968; page not checked here).
- [PY] the Python demo `Sample.py` by jonyqin (token "spamtest", AppID "wx2c2769f8efd9abc2"), as kept by
  Abdurihim/weixin_encodingAES, Sample.py (commit 072aad9f1984977d7c91f95a9889dceafb2874ff).
- [JAVA] the Java demo's unit test `com/qq/weixin/mp/aes/WXBizMsgCryptTest.java` (fixed random prefix
  "aaaabbbbccccdddd", so encryption has a known answer; plus the verifyUrl vector), as kept by
  hyswqqsl/commons-weixin, src/test/java/com/qq/weixin/mp/aes/WXBizMsgCryptTest.java
  (commit d97f756c9b1329c4f787aea3f8562d9cabb15767).
"""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import get_engine, get_settings_dep
from api.routes import wechat as wechat_route
from api.wechat import crypto as crypto_module
from api.wechat.crypto import (
    AppIdMismatchError,
    DecryptError,
    MessageCrypto,
    WeChatCryptoError,
    compute_signature,
    decode_aes_key,
    pkcs7_pad,
    pkcs7_unpad,
    signature_matches,
)
from api.wechat.dedup import InMemoryReplyStore
from api.wechat.messages import TextMessage, parse_message, parse_xml
from api.wechat.nonce import InMemoryNonceStore
from config import Settings
from rag.models import Answer

# [CS] Sample.cs: "POST /cgi-bin/wxpush? msg_signature=477715d1...&timestamp=1409659813&nonce=1372623149"
CS_TOKEN = "QDG6eK"
CS_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CS_APP_ID = "wx5823bf96d3bd56c7"
CS_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
CS_TIMESTAMP = "1409659813"
CS_NONCE = "1372623149"
CS_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HM"
    "ZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3"
    "LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVK"
    "n28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

# [PY] Sample.py: compatible-mode body (plaintext fields beside Encrypt), msg_sign, timestamp, nonce.
PY_TOKEN = "spamtest"
PY_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PY_APP_ID = "wx2c2769f8efd9abc2"
PY_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
PY_TIMESTAMP = "1409735669"
PY_NONCE = "1320562132"
PY_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
    "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
    "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCz"
    "pu9GhglF2PE="
)
PY_FROM_XML = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[" + PY_ENCRYPT + "]]></Encrypt></xml>"
)

# [JAVA] WXBizMsgCryptTest.java: testAesEncrypt / testAesEncrypt2 (token "pamtest") and testVerifyUrl.
JAVA_TOKEN = "pamtest"
JAVA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
JAVA_APP_ID = "wxb11529c136998cb6"
JAVA_RANDOM = b"aaaabbbbccccdddd"
JAVA_REPLY = "我是中文abcd123"
JAVA_AFTER_AES = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
JAVA_REPLY2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA["
    "gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType>"
    "<Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId>"
    "<Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]>"
    "</Description></Video></xml>"
)
JAVA_AFTER_AES2 = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweIm"
    "X9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM"
    "+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9M"
    "ma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+Vd"
    "zETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvA"
    "pYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DM"
    "laFExWUZQDajPkdPrEeOwofJb"
)
JAVA_VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
JAVA_VERIFY_TIMESTAMP = "1409659589"
JAVA_VERIFY_NONCE = "263014780"
JAVA_VERIFY_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)


# --- official vectors -----------------------------------------------------------------------------


def test_csharp_sample_msg_signature_and_decryption() -> None:
    crypto = MessageCrypto(CS_TOKEN, CS_AES_KEY, CS_APP_ID)
    assert compute_signature(CS_TOKEN, CS_TIMESTAMP, CS_NONCE, CS_ENCRYPT) == CS_MSG_SIGNATURE
    assert crypto.verify(CS_MSG_SIGNATURE, CS_TIMESTAMP, CS_NONCE, CS_ENCRYPT)
    plaintext = crypto.decrypt(CS_ENCRYPT)  # raises unless the embedded AppID is the sample's
    fields = parse_xml(plaintext)
    # The sample's outer envelope is addressed to the same id the decrypted message names.
    assert fields["ToUserName"] == CS_APP_ID
    assert isinstance(parse_message(fields), TextMessage)


def test_python_sample_compatible_mode_decrypts_to_its_plaintext_fields() -> None:
    # The demo's compatible-mode body carries the plaintext next to Encrypt: decryption must reproduce it.
    crypto = MessageCrypto(PY_TOKEN, PY_AES_KEY, PY_APP_ID)
    outer = parse_xml(PY_FROM_XML)
    assert compute_signature(PY_TOKEN, PY_TIMESTAMP, PY_NONCE, outer["Encrypt"]) == PY_MSG_SIGNATURE
    inner = parse_xml(crypto.decrypt(outer["Encrypt"]))
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId"):
        assert inner[name] == outer[name], name
    assert inner["Content"] == "abcdteT"


@pytest.mark.parametrize(
    ("message", "expected"), [(JAVA_REPLY, JAVA_AFTER_AES), (JAVA_REPLY2, JAVA_AFTER_AES2)]
)
def test_java_demo_known_answer_encryption(message: str, expected: str) -> None:
    crypto = MessageCrypto(JAVA_TOKEN, JAVA_AES_KEY, JAVA_APP_ID)
    assert crypto.encrypt(message, prefix=JAVA_RANDOM) == expected
    assert crypto.decrypt(expected) == message


def test_java_demo_verify_url_vector() -> None:
    crypto = MessageCrypto(CS_TOKEN, CS_AES_KEY, CS_APP_ID)
    assert crypto.verify(JAVA_VERIFY_SIGNATURE, JAVA_VERIFY_TIMESTAMP, JAVA_VERIFY_NONCE, JAVA_VERIFY_ECHOSTR)
    assert crypto.decrypt(JAVA_VERIFY_ECHOSTR).isdigit()


def test_official_vectors_fail_with_a_changed_input() -> None:
    # The vectors are not vacuous: one changed character breaks signature and decryption.
    crypto = MessageCrypto(CS_TOKEN, CS_AES_KEY, CS_APP_ID)
    assert not crypto.verify(CS_MSG_SIGNATURE, CS_TIMESTAMP, "1372623148", CS_ENCRYPT)
    assert not crypto.verify(CS_MSG_SIGNATURE[:-1] + "7", CS_TIMESTAMP, CS_NONCE, CS_ENCRYPT)
    other_key = MessageCrypto(PY_TOKEN, PY_AES_KEY, CS_APP_ID)
    with pytest.raises(WeChatCryptoError):
        other_key.decrypt(CS_ENCRYPT)
    other_app = MessageCrypto(CS_TOKEN, CS_AES_KEY, "wx0000000000000000")
    with pytest.raises(AppIdMismatchError):
        other_app.decrypt(CS_ENCRYPT)


# --- behaviour ------------------------------------------------------------------------------------


def test_plain_signature_is_sha1_of_the_sorted_three_parts() -> None:
    expected = hashlib.sha1("".join(sorted(["tok", "1700000000", "42"])).encode()).hexdigest()
    assert compute_signature("tok", "1700000000", "42") == expected
    assert compute_signature("tok", "1700000000", "42") != compute_signature("tok", "1700000000", "43")


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = crypto_module.hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(crypto_module.hmac, "compare_digest", recording)
    assert signature_matches("abc123", "ABC123")
    assert not signature_matches("abc123", "abc124")
    assert not signature_matches("abc123", None)
    assert len(calls) == 2


def test_round_trip_uses_a_fresh_random_prefix() -> None:
    crypto = MessageCrypto("token", PY_AES_KEY, "wx1234567890abcdef")
    first, second = crypto.encrypt("<xml>政策</xml>"), crypto.encrypt("<xml>政策</xml>")
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "<xml>政策</xml>"


def test_padding_is_to_32_bytes_like_wechat() -> None:
    assert len(pkcs7_pad(b"x" * 5)) == 32
    assert pkcs7_pad(b"x" * 32)[-32:] == bytes([32]) * 32  # aligned input gets a whole block of padding
    assert pkcs7_unpad(pkcs7_pad(b"abc")) == b"abc"
    for bad in (b"abc" + bytes([0]), b"abc" + bytes([33]), b"ab\x01\x02"):
        with pytest.raises(DecryptError):
            pkcs7_unpad(bad)


def test_malformed_ciphertexts_are_refused() -> None:
    crypto = MessageCrypto(PY_TOKEN, PY_AES_KEY, PY_APP_ID)
    for bad in (
        "not base64 !!",
        base64.b64encode(b"short").decode(),
        "",
        base64.b64encode(b"x" * 31).decode(),
    ):
        with pytest.raises(DecryptError):
            crypto.decrypt(bad)


@pytest.mark.parametrize("key", ["short", PY_AES_KEY + "A", "!" * 43])
def test_bad_encoding_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        decode_aes_key(key)


def test_route_accepts_the_python_demo_request_verbatim() -> None:
    # The demo's compatible-mode POST, byte for byte, through the real route: msg_signature verified,
    # Encrypt opened, AppID checked, question answered, reply encrypted for the same AppID.
    # Its 2014 timestamp is outside any real window, so the window is widened for this test only.
    asked: list[str] = []

    class Engine:
        def ask(self, question: str, session_id: str | None = None) -> Answer:
            asked.append(question)
            return Answer(
                status="not_found",
                question=question,
                hits=(),
                regions=(),
                message="",
                resolved_question=question,
            )

    settings = Settings.model_validate(
        {
            "WECHAT_TOKEN": PY_TOKEN,
            "WECHAT_AES_KEY": PY_AES_KEY,
            "WECHAT_APP_ID": PY_APP_ID,
            "WECHAT_TIMESTAMP_WINDOW_SECONDS": 10**10,
        }
    )
    app = FastAPI()
    app.include_router(wechat_route.router)
    store = InMemoryReplyStore(executor=ThreadPoolExecutor(1))
    app.dependency_overrides[get_engine] = Engine
    app.dependency_overrides[get_settings_dep] = lambda: settings
    app.dependency_overrides[wechat_route.get_reply_store] = lambda: store
    nonces = InMemoryNonceStore()
    app.dependency_overrides[wechat_route.get_nonce_store] = lambda: nonces
    params = {
        "msg_signature": PY_MSG_SIGNATURE,
        "timestamp": PY_TIMESTAMP,
        "nonce": PY_NONCE,
        "encrypt_type": "aes",
    }
    with TestClient(app) as client:
        response = client.post("/wechat", params=params, content=PY_FROM_XML.encode())
    assert response.status_code == 200, response.text
    assert asked == ["abcdteT"]
    envelope = parse_xml(response.text)
    crypto = MessageCrypto(PY_TOKEN, PY_AES_KEY, PY_APP_ID)
    assert crypto.verify(
        envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
    )
    reply = parse_xml(crypto.decrypt(envelope["Encrypt"]))
    assert (
        reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and reply["FromUserName"] == "gh_10f6c3c3ac5a"
    )
