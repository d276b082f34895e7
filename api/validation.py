"""Checks on user text shared by the JSON API and the WeChat channel.

The character rule itself lives in rag/normalize.py (one rule for every channel): characters that can
disguise text (controls, bidirectional controls, lone surrogates) are refused with a message naming
the character; invisible ones (zero-width space, joiners, BOM, soft hyphen...) are removed.
"""

from __future__ import annotations

import re

from fastapi import HTTPException

from rag.normalize import (
    BIDI_CHARS,
    CONTROL_CHARS,
    INVISIBLE_CHARS,
    SURROGATE_CHARS,
    first_refused_char,
    remove_invisible,
    strip_whitespace,
)

UNPROCESSABLE = 422  # starlette renamed the constant (…_CONTENT); the number is what clients see

_REFUSED_MESSAGES = {
    "control": "{field}包含无法识别的控制字符（{code}），请删除后重试。",
    "bidi": "{field}包含改变文字显示方向的隐藏字符（{code}），显示出来的内容会与实际内容不同，请删除后重试。",
    "surrogate": "{field}包含无效的字符编码（孤立的代理项 {code}），请检查输入法或复制来源后重试。",
}


_UNSHOWABLE = re.compile(f"[{CONTROL_CHARS}{BIDI_CHARS}{SURROGATE_CHARS}{INVISIBLE_CHARS}]")


def echo(text: str, limit: int) -> str:
    """Return client text safe to put in a message: at most `limit` characters, refused and invisible
    characters written as U+XXXX (a lone surrogate cannot even be encoded in the JSON reply)."""
    return _UNSHOWABLE.sub(lambda m: f"U+{ord(m.group()):04X}", text[:limit])


def refused_text_message(text: str, field: str) -> str | None:
    """Return the Chinese message refusing `text` for the first refused character in it, or None."""
    refused = first_refused_char(text)
    if refused is None:
        return None
    kind, char = refused
    return _REFUSED_MESSAGES[kind].format(field=field, code=f"U+{ord(char):04X}")


def clean_question(text: str, max_chars: int, field: str = "问题") -> str:
    """Return the question without invisible characters and surrounding whitespace, or raise a 422
    with a clear Chinese message (too long, a refused character, nothing left to ask)."""
    # The raw length is what the OpenAPI schema's maxLength states, so it is what is checked.
    if len(text) > max_chars:
        raise HTTPException(UNPROCESSABLE, f"{field}太长了（{len(text)}字），请控制在{max_chars}字以内。")
    message = refused_text_message(text, field)
    if message is not None:
        raise HTTPException(UNPROCESSABLE, message)
    stripped = strip_whitespace(remove_invisible(text))
    if not stripped:
        raise HTTPException(UNPROCESSABLE, f"{field}不能为空，请输入您想了解的内容。")
    return stripped
