"""The public chat page (/), the staff page (/staff) and the document view (/doc/{id})."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(
        STATIC_DIR / name, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@router.get("/")
def chat_page() -> FileResponse:
    """The public chat page."""
    return _page("index.html")


@router.get("/staff")
def staff_page() -> FileResponse:
    """The staff lookup page."""
    return _page("staff.html")


@router.get("/doc/{doc_id}")
def document_page(doc_id: str) -> FileResponse:
    """The original-text view (the page reads the document id from the URL)."""
    page = "doc.html" if (STATIC_DIR / "doc.html").exists() else "index.html"
    return _page(page)
