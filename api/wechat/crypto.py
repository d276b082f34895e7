"""WeChat message signatures and the AES ("safe mode") envelope, on `cryptography`.

Protocol (WeChat's WXBizMsgCrypt demo code, 2014):
- signature = sha1 of the sorted, concatenated [token, timestamp, nonce] (plus the `Encrypt` text for
  `msg_signature`), hex, lowercase;
- AESKey = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = AESKey[:16];
- plaintext = random(16 bytes) + len(msg) as 4-byte network order + msg (UTF-8) + AppID, PKCS#7-padded to a
  multiple of 32 bytes (WeChat's block size for padding, not AES's 16).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK_BYTES = 32  # WeChat pads to 32 bytes, as its demo code does
RANDOM_PREFIX_BYTES = 16
LENGTH_PREFIX_BYTES = 4
AES_KEY_CHARS = 43  # EncodingAESKey length; 32 bytes once "=" is appended and base64-decoded
_RANDOM_ALPHABET = string.ascii_letters + string.digits


class WeChatCryptoError(Exception):
    """Base class: the message cannot be authenticated or opened."""


class DecryptError(WeChatCryptoError):
    """The ciphertext does not decrypt to a well-formed WeChat plaintext (wrong key, tampering)."""


class AppIdMismatchError(WeChatCryptoError):
    """The decrypted message names another AppID than ours."""


def compute_signature(token: str, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
    """Return WeChat's signature: sha1 hex of the sorted, concatenated parts (Encrypt included if given)."""
    parts = [token, timestamp, nonce] if encrypt is None else [token, timestamp, nonce, encrypt]
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, received: str | None) -> bool:
    """Compare a computed signature with a received one in constant time (case-insensitive hex)."""
    if not received:
        return False
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode("utf-8"))


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """Return the 32-byte AES key encoded by a 43-character EncodingAESKey; ValueError if it is not one."""
    if len(encoding_aes_key) != AES_KEY_CHARS:
        raise ValueError(f"EncodingAESKey must be {AES_KEY_CHARS} characters, got {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError(f"EncodingAESKey is not base64: {error}") from error
    if len(key) != 32:
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes, block: int = PAD_BLOCK_BYTES) -> bytes:
    """Return `data` padded to a multiple of `block` (a full block of padding when already aligned)."""
    amount = block - len(data) % block
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block: int = PAD_BLOCK_BYTES) -> bytes:
    """Strip PKCS#7 padding; DecryptError when the padding is not well formed."""
    if not data:
        raise DecryptError("empty plaintext")
    amount = data[-1]
    if amount < 1 or amount > block or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise DecryptError("bad padding")
    return data[:-amount]


def random_prefix() -> bytes:
    """Return 16 random alphanumeric bytes, like the official demo's random string."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(RANDOM_PREFIX_BYTES)).encode("ascii")


class MessageCrypto:
    """Signs, encrypts and decrypts messages for one Official Account (token, EncodingAESKey, AppID)."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.app_id = app_id
        self._key = decode_aes_key(encoding_aes_key)

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Return the msg_signature for an `Encrypt` value."""
        return compute_signature(self.token, timestamp, nonce, encrypt)

    def verify(self, msg_signature: str | None, timestamp: str, nonce: str, encrypt: str) -> bool:
        """True when `msg_signature` signs (timestamp, nonce, encrypt) with our token; constant time."""
        return signature_matches(self.sign(timestamp, nonce, encrypt), msg_signature)

    def encrypt(self, message: str, prefix: bytes | None = None) -> str:
        """Return base64 ciphertext of `message` for our AppID (`prefix`: the 16 random bytes, for tests)."""
        prefix = random_prefix() if prefix is None else prefix
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError("the random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """Return the message in `encrypted`; DecryptError if malformed, AppIdMismatchError if not ours."""
        message, app_id = self.open(encrypted)
        if not hmac.compare_digest(app_id.encode("utf-8"), self.app_id.encode("utf-8")):
            raise AppIdMismatchError("the message was encrypted for another AppID")
        return message

    def open(self, encrypted: str) -> tuple[str, str]:
        """Return (message, app_id) inside `encrypted` without checking the AppID."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DecryptError("Encrypt is not base64") from error
        if not raw or len(raw) % 16:
            raise DecryptError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        header = RANDOM_PREFIX_BYTES + LENGTH_PREFIX_BYTES
        if len(plain) < header:
            raise DecryptError("plaintext too short")
        (length,) = struct.unpack(">I", plain[RANDOM_PREFIX_BYTES:header])
        if header + length > len(plain):
            raise DecryptError("declared message length exceeds the plaintext")
        try:
            message = plain[header : header + length].decode("utf-8")
            app_id = plain[header + length :].decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecryptError("plaintext is not UTF-8") from error
        return message, app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))
