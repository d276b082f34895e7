"""WeChat Official Account channel: signatures and AES envelope, XML messages, reply texts, retry dedup,
replay protection."""

from api.wechat.crypto import (
    AppIdMismatchError,
    DecryptError,
    MessageCrypto,
    WeChatCryptoError,
    compute_signature,
    signature_matches,
)
from api.wechat.dedup import InMemoryReplyStore, ReplyStore, dedup_key, hash_openid
from api.wechat.messages import (
    EventMessage,
    ImageMessage,
    InboundMessage,
    LinkMessage,
    LocationMessage,
    MalformedMessageError,
    OtherMessage,
    TextMessage,
    VoiceMessage,
    build_encrypted_reply,
    build_text_reply,
    parse_message,
    parse_xml,
)
from api.wechat.nonce import InMemoryNonceStore, NonceStore, body_digest
from api.wechat.privacy import RedactWeChatQuery

__all__ = [
    "AppIdMismatchError",
    "DecryptError",
    "EventMessage",
    "ImageMessage",
    "InMemoryNonceStore",
    "InMemoryReplyStore",
    "InboundMessage",
    "LinkMessage",
    "LocationMessage",
    "MalformedMessageError",
    "MessageCrypto",
    "NonceStore",
    "OtherMessage",
    "RedactWeChatQuery",
    "ReplyStore",
    "TextMessage",
    "VoiceMessage",
    "WeChatCryptoError",
    "body_digest",
    "build_encrypted_reply",
    "build_text_reply",
    "compute_signature",
    "dedup_key",
    "hash_openid",
    "parse_message",
    "parse_xml",
    "signature_matches",
]
