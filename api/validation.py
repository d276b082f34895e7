"""Checks on user text shared by the JSON API and the WeChat channel."""

from __future__ import annotations

import re

from fastapi import HTTPException, status

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_question(text: str, max_chars: int, field: str = "问题") -> str:
    """Return the question stripped, or raise a 4xx with a clear Chinese message."""
    if _CONTROL.search(text):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{field}包含无法识别的控制字符，请删除后重试。")
    stripped = text.strip()
    if not stripped:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{field}不能为空，请输入您想了解的内容。")
    if len(stripped) > max_chars:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{field}太长了（{len(stripped)}字），请控制在{max_chars}字以内。",
        )
    return stripped
