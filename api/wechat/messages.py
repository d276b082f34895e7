"""WeChat XML in and out: hardened parsing into typed inbound records, and passive-reply building.

Parsing goes through defusedxml with DTDs, entities and external references all forbidden, so an
entity-expansion bomb or an external entity is refused before anything expands or is fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypedDict
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

ROOT_TAG = "xml"
CDATA_END = "]]>"
CDATA_END_SPLIT = "]]]]><![CDATA[>"  # closes the section after "]]" and reopens it before ">"
# Characters XML 1.0 does not allow anywhere, not even inside CDATA.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

MSG_TEXT = "text"
MSG_EVENT = "event"
MSG_VOICE = "voice"
MSG_IMAGE = "image"
MSG_LOCATION = "location"
MSG_LINK = "link"

EVENT_SUBSCRIBE = "subscribe"
EVENT_UNSUBSCRIBE = "unsubscribe"
EVENT_CLICK = "click"


class MalformedMessageError(ValueError):
    """The body is not a WeChat XML message: bad XML, forbidden DTD/entity, or missing fields."""


@dataclass(frozen=True, kw_only=True)
class InboundMessage:
    """Fields every message and event carries; `msg_type` is lower-cased."""

    to_user: str  # the Official Account's original id (gh_...)
    from_user: str  # the follower's OpenID (never log it raw)
    create_time: int
    msg_type: str
    msg_id: str | None = None  # absent on events

    @property
    def dedup_key_parts(self) -> tuple[str, str, str]:
        """What identifies a retry of this message, as WeChat documents it: the sender with MsgId, or for
        events (which have no MsgId) the sender with CreateTime. MsgId alone is not unique across
        followers, and a reply keyed by it alone would go to another follower."""
        if self.msg_id:
            return ("msg", self.from_user, self.msg_id)
        return ("event", self.from_user, str(self.create_time))


@dataclass(frozen=True, kw_only=True)
class TextMessage(InboundMessage):
    content: str


@dataclass(frozen=True, kw_only=True)
class VoiceMessage(InboundMessage):
    media_id: str
    format: str
    recognition: str | None  # speech-to-text, when the account enabled it


@dataclass(frozen=True, kw_only=True)
class ImageMessage(InboundMessage):
    pic_url: str
    media_id: str


@dataclass(frozen=True, kw_only=True)
class LocationMessage(InboundMessage):
    latitude: str
    longitude: str
    scale: str
    label: str


@dataclass(frozen=True, kw_only=True)
class LinkMessage(InboundMessage):
    title: str
    description: str
    url: str


@dataclass(frozen=True, kw_only=True)
class EventMessage(InboundMessage):
    event: str  # lower-cased: subscribe, unsubscribe, click, view, scan, ...
    event_key: str


@dataclass(frozen=True, kw_only=True)
class OtherMessage(InboundMessage):
    """Any message type we do not handle (video, shortvideo, file, ...), with its raw fields."""

    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


class _CommonFields(TypedDict):
    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Return the text of each direct child of the `<xml>` root; MalformedMessageError if unsafe/invalid."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise MalformedMessageError(f"forbidden XML construct: {type(error).__name__}") from error
    except (ParseError, ValueError) as error:
        raise MalformedMessageError(f"malformed XML: {error}") from error
    if root.tag != ROOT_TAG:
        raise MalformedMessageError(f"root element must be <{ROOT_TAG}>, got <{root.tag}>")
    return {child.tag: (child.text or "").strip() for child in root}


def parse_message(fields: dict[str, str]) -> InboundMessage:
    """Return the typed record for a decrypted message's fields; MalformedMessageError if incomplete."""
    missing = [
        name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)
    ]
    if missing:
        raise MalformedMessageError(f"missing fields: {', '.join(missing)}")
    try:
        create_time = int(fields["CreateTime"])
    except ValueError as error:
        raise MalformedMessageError("CreateTime is not an integer") from error
    msg_type = fields["MsgType"].lower()
    common = _CommonFields(
        to_user=fields["ToUserName"],
        from_user=fields["FromUserName"],
        create_time=create_time,
        msg_type=msg_type,
        msg_id=fields.get("MsgId") or None,
    )
    get = fields.get
    if msg_type == MSG_TEXT:
        return TextMessage(**common, content=get("Content", ""))
    if msg_type == MSG_EVENT:
        return EventMessage(**common, event=get("Event", "").lower(), event_key=get("EventKey", ""))
    if msg_type == MSG_VOICE:
        recognition = get("Recognition") or None
        return VoiceMessage(
            **common, media_id=get("MediaId", ""), format=get("Format", ""), recognition=recognition
        )
    if msg_type == MSG_IMAGE:
        return ImageMessage(**common, pic_url=get("PicUrl", ""), media_id=get("MediaId", ""))
    if msg_type == MSG_LOCATION:
        return LocationMessage(
            **common,
            latitude=get("Location_X", ""),
            longitude=get("Location_Y", ""),
            scale=get("Scale", ""),
            label=get("Label", ""),
        )
    if msg_type == MSG_LINK:
        return LinkMessage(
            **common, title=get("Title", ""), description=get("Description", ""), url=get("Url", "")
        )
    return OtherMessage(**common, fields=dict(fields))


def escape_cdata(text: str) -> str:
    """Return `text` safe inside one CDATA section: "]]>" split across sections, illegal chars dropped."""
    return _XML_ILLEGAL.sub("", text).replace(CDATA_END, CDATA_END_SPLIT)


def cdata(text: str) -> str:
    """Return `text` wrapped as a CDATA section that stays well-formed whatever `text` holds."""
    return f"<![CDATA[{escape_cdata(text)}]]>"


def build_text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """Return the passive text reply XML (to the follower `to_user`, from the account `from_user`)."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType>{cdata(MSG_TEXT)}</MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


def text_reply_overhead_bytes(to_user: str, from_user: str, create_time: int) -> int:
    """UTF-8 bytes of a text reply with empty content: what the envelope costs of the size budget."""
    return len(build_text_reply(to_user, from_user, "", create_time).encode("utf-8"))


def build_encrypted_reply(encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """Return the safe-mode reply envelope around an encrypted passive reply."""
    return (
        f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{int(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce></xml>"
    )
