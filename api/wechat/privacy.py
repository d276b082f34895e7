"""Keep followers' OpenIDs and request signatures out of access logs.

WeChat puts the follower's `openid` (and `signature`, `msg_signature`, `echostr`) in the query string of
every request, and uvicorn's access log prints the full path with its query. Attach the filter when the
server starts: `logging.getLogger("uvicorn.access").addFilter(RedactWeChatQuery())`.
"""

from __future__ import annotations

import logging

WECHAT_PATH = "/wechat"
REDACTED_QUERY = "?[redacted]"


def redact_wechat_path(path: str) -> str:
    """Return `path` with its query string replaced when it is a WeChat request; other paths unchanged."""
    route, separator, _ = path.partition("?")
    if separator and route.rstrip("/") == WECHAT_PATH:
        return route + REDACTED_QUERY
    return path


class RedactWeChatQuery(logging.Filter):
    """Rewrites log records whose arguments include a /wechat path with a query (uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_wechat_path(a) if isinstance(a, str) else a for a in record.args)
        return True
