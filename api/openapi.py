"""The OpenAPI schema the app publishes: FastAPI's, completed with what the middleware enforces.

Routes declare their own refusals (401, 403, 404, 409, 422 ...). The middleware answers some requests
before any route runs -- a malformed or oversized body, a body that arrives too slowly, a wrong
content type, too many requests -- so those codes are added here to every operation they can reach.
Every 422 is documented with our `ErrorResponse` (FastAPI's default says `detail` is a list; ours is a
sentence), and the question fields get the configured maximum length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import QUESTION_FIELDS, ErrorResponse

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_DESCRIPTIONS = {
    400: "请求体不是有效的 JSON，或 Content-Length 无效 (malformed body or Content-Length)",
    401: "管理密钥缺失或不正确 (admin key missing or wrong)",
    403: "没有权限：未配置管理密钥，或微信签名/时间戳/AppID 校验失败 (forbidden)",
    404: "没有这个条款、文件或接口 (not found)",
    408: "请求体发送超时 (the body did not arrive in time)",
    409: "与索引的当前状态冲突，什么都没有改变 (conflicts with the index on disk; nothing changed)",
    413: "请求体过大 (body too large)",
    415: "Content-Type 不受支持 (unsupported media type)",
    422: "请求内容不符合要求，detail 说明原因 (invalid content; detail says why)",
    429: "请求过于频繁，Retry-After 给出等待秒数 (rate limited)",
}
_VALIDATION_COMPONENTS = ("HTTPValidationError", "ValidationError")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return FastAPI `responses=` entries documenting `codes` with the ErrorResponse body."""
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in codes}


def links(**targets: tuple[str, dict[str, str]]) -> dict[int | str, dict[str, Any]]:
    """Return FastAPI `responses=` entries giving the 200 response OpenAPI links: name -> (operationId,
    {parameter: runtime expression}), so clients (and schemathesis' stateful phase) can chain calls."""
    return {
        200: {
            "links": {
                name: {"operationId": operation, "parameters": parameters}
                for name, (operation, parameters) in targets.items()
            }
        }
    }


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _middleware_codes(
    path: str, method: str, has_body: bool, rate_limited_prefix: str, json_prefix: str, upload_path: str
) -> list[int]:
    codes = [400, 413]  # any request: a bad or too large Content-Length is refused before routing
    if has_body:
        codes.append(408)
    if method == "post" and path.startswith(json_prefix) and path != upload_path:
        codes.append(415)
    if path.startswith(rate_limited_prefix):
        codes.append(429)
    return codes


def complete_schema(
    schema: dict[str, Any],
    *,
    max_question_chars: int,
    rate_limited_prefix: str,
    json_prefix: str,
    upload_path: str,
) -> dict[str, Any]:
    """Add the middleware's codes to each operation, document every 422 with ErrorResponse, and set
    the question fields' maxLength; return `schema` (changed in place)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code in list(responses):
                # Every refusal is our JSON ErrorResponse, whatever the route's own media type is
                # (FastAPI documents a text/plain route's 403 as text/plain; it is JSON).
                if code.isdigit() and 400 <= int(code) < 500 and int(code) in _DESCRIPTIONS:
                    responses[code] = _error_response(int(code))
            has_body = "requestBody" in operation
            for code in _middleware_codes(
                path, method, has_body, rate_limited_prefix, json_prefix, upload_path
            ):
                responses.setdefault(str(code), _error_response(code))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _VALIDATION_COMPONENTS:
        components.pop(name, None)
    for component, field in QUESTION_FIELDS:
        if component in components:
            components[component]["properties"][field]["maxLength"] = max_question_chars
    return schema


def honest_openapi(app: FastAPI, **options: Any) -> Callable[[], dict[str, Any]]:
    """Return a replacement for `app.openapi` that builds FastAPI's schema once and completes it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete_schema(schema, **options)
        return app.openapi_schema

    return openapi
