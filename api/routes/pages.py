"""The public chat page (/), the staff pages (/staff, /staff/gaps) and the document view (/doc/{id}).

Every page is sent with a Content-Security-Policy that allows only our own scripts, styles and API (the
pages have no inline code). The chat page and the document view may be framed by the origins in
POLICYQA_CORS_ORIGINS (the embeddable widget, `/static/embed.js`); the staff pages by no other site.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)

_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)


def _page(name: str, framed_by: list[str] | None = None) -> FileResponse:
    # Origins come from validated settings; anything that is not a plain origin is left out of the header.
    ancestors = " ".join(["'self'", *(o for o in framed_by or [] if _is_origin(o))])
    return FileResponse(
        STATIC_DIR / name,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": _POLICY.format(ancestors=ancestors)},
    )


def _is_origin(value: str) -> bool:
    scheme, _, rest = value.partition("://")
    return scheme in ("http", "https") and bool(rest) and all(c.isalnum() or c in ".-:[]" for c in rest)


@router.get("/")
def chat_page(settings: SettingsDep) -> FileResponse:
    """The public chat page (embeddable by the POLICYQA_CORS_ORIGINS sites)."""
    return _page("index.html", settings.cors_origins)


@router.get("/staff")
def staff_page() -> FileResponse:
    """The staff lookup page."""
    return _page("staff.html")


@router.get("/staff/gaps")
def gaps_page() -> FileResponse:
    """The staff gap list (the data behind it needs the admin key)."""
    return _page("gaps.html")


@router.get("/doc/{doc_id}")
def document_page(doc_id: str, settings: SettingsDep) -> FileResponse:
    """The original-text view (the page reads the document id from the URL)."""
    page = "doc.html" if (STATIC_DIR / "doc.html").exists() else "index.html"
    return _page(page, settings.cors_origins)
