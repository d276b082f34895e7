"""Hardened XML parsing into typed messages, and reply XML that stays well-formed whatever the text holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.wechat.messages import (
    EventMessage,
    ImageMessage,
    LinkMessage,
    LocationMessage,
    MalformedMessageError,
    OtherMessage,
    TextMessage,
    VoiceMessage,
    build_encrypted_reply,
    build_text_reply,
    escape_cdata,
    parse_message,
    parse_xml,
    text_reply_overhead_bytes,
)

HEAD = (
    "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>"
    "<FromUserName><![CDATA[oUser123]]></FromUserName><CreateTime>1700000000</CreateTime>"
)


def _message(body: str) -> str:
    return HEAD + body + "</xml>"


@pytest.mark.parametrize(
    ("body", "kind", "checks"),
    [
        (
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[托育 服务]]></Content><MsgId>1</MsgId>",
            TextMessage,
            {"content": "托育 服务", "msg_id": "1"},
        ),
        (
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[K1]]></EventKey>",
            EventMessage,
            {"event": "click", "event_key": "K1", "msg_id": None},
        ),
        (
            "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>"
            "<Recognition><![CDATA[托育政策]]></Recognition><MsgId>2</MsgId>",
            VoiceMessage,
            {"recognition": "托育政策", "format": "amr"},
        ),
        (
            "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>"
            "<MsgId>3</MsgId>",
            VoiceMessage,
            {"recognition": None},
        ),
        (
            "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/p.jpg]]></PicUrl>"
            "<MediaId><![CDATA[m]]></MediaId><MsgId>4</MsgId>",
            ImageMessage,
            {"pic_url": "http://x/p.jpg"},
        ),
        (
            "<MsgType><![CDATA[location]]></MsgType><Location_X>29.55</Location_X><Location_Y>106.57</Location_Y>"
            "<Scale>15</Scale><Label><![CDATA[渝中区]]></Label><MsgId>5</MsgId>",
            LocationMessage,
            {"latitude": "29.55", "longitude": "106.57", "label": "渝中区"},
        ),
        (
            "<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description>"
            "<Url><![CDATA[http://x]]></Url><MsgId>6</MsgId>",
            LinkMessage,
            {"title": "t", "url": "http://x"},
        ),
        (
            "<MsgType><![CDATA[shortvideo]]></MsgType><MsgId>7</MsgId>",
            OtherMessage,
            {"msg_type": "shortvideo"},
        ),
    ],
)
def test_every_message_type_parses_to_its_record(body: str, kind: type, checks: dict[str, object]) -> None:
    message = parse_message(parse_xml(_message(body)))
    assert type(message) is kind
    assert message.from_user == "oUser123" and message.create_time == 1700000000
    for name, value in checks.items():
        assert getattr(message, name) == value, name


def test_dedup_identity_is_sender_and_msg_id_or_sender_and_time() -> None:
    text = parse_message(parse_xml(_message("<MsgType>text</MsgType><Content>a</Content><MsgId>99</MsgId>")))
    event = parse_message(parse_xml(_message("<MsgType>event</MsgType><Event>subscribe</Event>")))
    assert text.dedup_key_parts == ("msg", "oUser123", "99")
    assert event.dedup_key_parts == ("event", "oUser123", "1700000000")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    + _message("<MsgType>text</MsgType><Content>&d;</Content><MsgId>1</MsgId>")
)
EXTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + _message(
    "<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId>"
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml/>'
)
DTD_ONLY = '<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd">' + _message(
    "<MsgType>text</MsgType>"
)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, DTD_ONLY])
def test_dtds_and_entities_are_refused(body: str) -> None:
    with pytest.raises(MalformedMessageError, match="forbidden"):
        parse_xml(body.encode())


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>",
        "not xml at all",
        "",
        "<root><MsgType>text</MsgType></root>",
        b"<xml>\xff\xfe</xml>",
    ],
)
def test_malformed_xml_is_refused(body: str | bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_xml(body)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><MsgType>text</MsgType></xml>",
        HEAD.replace("1700000000", "yesterday") + "<MsgType>text</MsgType></xml>",
        HEAD + "</xml>",
    ],
)
def test_incomplete_messages_are_refused(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        parse_message(parse_xml(body))


def test_cdata_end_inside_text_is_split() -> None:
    content = "见第]]>条 and ]]]]> and <tag> & done"
    xml = build_text_reply("oUser", "gh_acc", content, 1700000000)
    assert escape_cdata("a]]>b") == "a]]]]><![CDATA[>b"
    root = ET.fromstring(xml)
    assert root.findtext("Content") == content
    assert root.findtext("ToUserName") == "oUser" and root.findtext("MsgType") == "text"


# Text that survives XML: no characters XML 1.0 forbids; "\r" is normalised to "\n" by every parser.
_xml_text = st.text().map(lambda s: s.replace("\r", ""))


@given(_xml_text)
def test_any_text_makes_a_well_formed_reply(content: str) -> None:
    root = ET.fromstring(build_text_reply("oUser", "gh_acc", content, 1700000000))
    expected = "".join(
        c
        for c in content
        if not ("\x00" <= c <= "\x08" or c in "\x0b\x0c\ufffe\uffff" or "\x0e" <= c <= "\x1f")
    )
    assert (root.findtext("Content") or "") == expected


def test_reply_overhead_counts_the_envelope() -> None:
    overhead = text_reply_overhead_bytes("oUser", "gh_acc", 1700000000)
    assert len(build_text_reply("oUser", "gh_acc", "政策", 1700000000).encode()) == overhead + len(
        "政策".encode()
    )


def test_encrypted_envelope_is_well_formed() -> None:
    root = ET.fromstring(build_encrypted_reply("abc+/=", "sig", "1700000000", "123"))
    assert [child.tag for child in root] == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    assert root.findtext("Encrypt") == "abc+/=" and root.findtext("TimeStamp") == "1700000000"
