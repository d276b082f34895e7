"""Error handling of the app: every refusal is JSON `{detail, errors?}` with a Chinese message.

Validation errors are 422 (400 for a body that is not JSON at all); a client that went away while its
body was being read -- or whose body was refused mid-stream (413, 408) -- ends its request quietly, with
no traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from api.validation import echo

logger = logging.getLogger("policyqa.api")

CLIENT_CLOSED_REQUEST = 499  # nginx's code for "the client went away"; never reaches the client

# Validation error types -> what a user should read.
_VALIDATION_MESSAGES = {
    "json_invalid": "请求体不是有效的 JSON。",
    "missing": "缺少必填字段",
    "string_type": "字段应为文本",
    "string_unicode": "字段包含无效的字符编码（孤立的代理项）",
    "extra_forbidden": "包含不支持的字段",
    "string_too_long": "字段过长",
    "string_too_short": "字段不能为空",
    "string_pattern_mismatch": "字段格式不正确",
    "int_parsing": "字段应为整数",
    "int_type": "字段应为整数（不接受文本或小数）",
    "int_from_float": "字段应为整数（不接受小数）",
    "bool_type": "字段应为 true 或 false",
    "bool_parsing": "字段应为 true 或 false",
    "less_than_equal": "数值过大",
    "greater_than_equal": "数值过小",
    "literal_error": "取值不在允许范围内",
    "model_attributes_type": "请求体应为 JSON 对象",
    "model_type": "请求体应为 JSON 对象",
    "dict_type": "请求体应为 JSON 对象",
    "value_error": "字段取值不正确",
}


def validation_message(errors: list[dict[str, Any]]) -> str:
    """Return one Chinese sentence for up to three validation errors, naming each field."""
    parts = []
    for error in errors[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        text = _VALIDATION_MESSAGES.get(error.get("type", ""), "请求参数不正确")
        parts.append(f"{text}（{where}）" if where and error.get("type") != "json_invalid" else text)
    return "；".join(parts) or "请求参数不正确。"


def _loc_part(part: Any) -> str | int:
    # A field name comes from the client: it may hold a lone surrogate (unencodable) or a direction control.
    return part if isinstance(part, int) else echo(str(part), 40)


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 (400 when the body is not JSON) with a Chinese message and where each error is."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [_loc_part(p) for p in e.get("loc", ())],
            "type": str(e.get("type", "")),
            "msg": echo(str(e.get("msg", "")), 200),
        }
        for e in exc.errors()
    ]
    code = status.HTTP_400_BAD_REQUEST if any(e["type"] == "json_invalid" for e in errors) else 422
    return JSONResponse({"detail": validation_message(errors), "errors": errors}, code)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    # Starlette's 405 names the methods of the first route matching the path only; GET and POST
    # /wechat are two routes, and a client must hear about both. Ask the router about each method.
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """The exception's status with `{detail}` in Chinese (Starlette's English defaults translated)."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "请求无法处理。"
    headers = dict(exc.headers or {})
    if exc.status_code == status.HTTP_404_NOT_FOUND and detail == "Not Found":
        detail = "没有这个页面或接口。"
    if detail == "There was an error parsing the body":
        detail = "请求体无法解析：不是有效的 UTF-8 编码 JSON。"
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        detail = "不支持该请求方法。"
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return JSONResponse({"detail": detail}, exc.status_code, headers=headers or None)


async def on_client_disconnect(request: Request, _: Exception) -> Response:
    """End a request whose client went away (or whose body was refused) without a traceback."""
    logger.info("client went away while %s %s was being read", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(ClientDisconnect, on_client_disconnect)
