"""Admin access: `require_admin` checks the admin key (`POLICYQA_ADMIN_KEY`) in constant time.

The key is sent as `Authorization: Bearer <key>` or `X-Admin-Key: <key>`. With no key configured
every admin endpoint is refused (403), so a forgotten setting never leaves them open. The key is
never logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.deps import SettingsDep

ADMIN_KEY_HEADER = "x-admin-key"
BEARER_PREFIX = "bearer "


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    if authorization[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return authorization[len(BEARER_PREFIX) :].strip()
    return request.headers.get(ADMIN_KEY_HEADER)


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Return when the request carries the admin key; raise 403 (no key configured) or 401 otherwise."""
    if not settings.admin_key:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "未配置管理密钥（POLICYQA_ADMIN_KEY），管理接口已关闭。"
        )
    presented = _presented_key(request)
    # Compare bytes: compare_digest on str refuses non-ASCII, which would turn a wrong key into a 500.
    if presented is None or not hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), settings.admin_key.encode("utf-8")
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "管理密钥缺失或不正确。",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Annotated[None, Depends(require_admin)]
