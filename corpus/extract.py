"""Plain text from the formats policies are published in: web pages, Word files, PDFs, text files.

The output has the form of the bundled `corpus/data/*.txt` files so `corpus.parse.parse_text` reads it
unchanged: one paragraph per line, the 公文 header fields ("索引号 … 发布机构 …") as lines, table cells
one per line led by a tab (the 专栏 layout, see `corpus/tables.py`). Extraction only removes what is not
the document (site navigation, share widgets, page numbers, running headers) and re-joins lines a PDF
broke at the page width; it never rewrites the document's words.

Libraries: BeautifulSoup over lxml (HTML), python-docx (DOCX), pypdf (PDF); each is imported when its
format is first met.
"""

from __future__ import annotations

import hashlib
import io
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus.metadata import METADATA_LABELS
from corpus.models import Document
from corpus.numbering import match_numbering
from corpus.parse import parse_text
from corpus.sentences import ends_sentence
from corpus.text import compact

FORMAT_TEXT = "text"
FORMAT_HTML = "html"
FORMAT_DOCX = "docx"
FORMAT_PDF = "pdf"
SUFFIX_FORMATS = {
    ".txt": FORMAT_TEXT,
    ".text": FORMAT_TEXT,
    ".html": FORMAT_HTML,
    ".htm": FORMAT_HTML,
    ".shtml": FORMAT_HTML,
    ".docx": FORMAT_DOCX,
    ".pdf": FORMAT_PDF,
}
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")  # Chinese government text files are UTF-8 or GBK
# A document id becomes part of clause ids and URLs: letters (any script), digits, "-", "_", ".".
DOC_ID_PATTERN = re.compile(r"^[^\W_][\w.-]{0,79}$")

# --- HTML ------------------------------------------------------------------------------------------
_HTML_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "form", "button", "input",
    "select", "textarea", "nav", "aside", "footer", "link", "meta", "object", "embed",
)  # fmt: skip
# class/id words of site furniture: share bars, breadcrumbs, menus, font-size and print tools ...
_HTML_CLUTTER = re.compile(
    r"(^|[-_\s])(nav|navbar|menu|breadcrumb|crumbs?|position|location|share|bdshare|fenxiang|toolbar|"
    r"tools?|print|fontsize|font-size|zoom-tool|footer|foot|copyright|banner|sidebar|side|related|"
    r"xgwz|xgxx|links?|friendlink|qrcode|ewm|search|login|top-bar|topbar|skip|gotop|back-?top)($|[-_\s])",
    re.IGNORECASE,
)
_HTML_BLOCK_TAGS = frozenset(
    ("address", "article", "blockquote", "body", "caption", "center", "dd", "div", "dl", "dt",
     "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol",
     "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul")
)  # fmt: skip
_CJK = re.compile(r"[\u3400-\u9fff]")
_WIDE = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"  # CJK characters and full-width punctuation
_WRAP_BETWEEN_CJK = re.compile(rf"(?<={_WIDE})[ \t\r]*\n\s*(?={_WIDE})")  # a source line break
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_CONTENT_SHARE = 0.85  # a child holding this share of a node's text is the content container
_LAYOUT_CELL_CHARS = 200  # a table cell this long is page layout, not a data table

# --- PDF -------------------------------------------------------------------------------------------
_PAGE_NUMBER = re.compile(
    r"^[-—–－\s]*(?:第\s*)?[0-9０-９]{1,4}\s*(?:页)?(?:\s*[/／共]\s*[0-9０-９]{1,4}\s*页?)?[-—–－\s]*$"
)
_FULL_LINE_SHARE = 0.85  # a line this close to the page's usual width was broken by the page edge
_RUNNING_SHARE = 0.6  # a top/bottom line repeated on this share of pages is a running header/footer
_EDGE_LINES = 2


class ExtractionError(ValueError):
    """The file cannot be read as the format its name says (or the format is not supported)."""


@dataclass(frozen=True)
class ExtractedText:
    """Text extracted from a source file, with the format it was read as and the source's sha256."""

    text: str
    format: str
    source_file: str
    checksum: str


def format_of(filename: str) -> str:
    """Return the format of a file from its suffix; raise `ExtractionError` for unsupported suffixes."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        supported = ", ".join(sorted(SUFFIX_FORMATS))
        raise ExtractionError(f"unsupported file type {suffix or '(none)'!r} for {filename}; use {supported}")
    return SUFFIX_FORMATS[suffix]


def is_doc_id(text: str) -> bool:
    """True when `text` is a usable document id: a letter or digit, then letters, digits, "-", "_" or
    ".", 80 characters at most."""
    return DOC_ID_PATTERN.fullmatch(text) is not None


def doc_id_for(filename: str) -> str | None:
    """Return the default document id of a source file (its name without suffix), None if unusable."""
    stem = Path(filename.replace("\\", "/").rsplit("/", 1)[-1]).stem
    return stem if is_doc_id(stem) else None


def extract_bytes(data: bytes, filename: str) -> ExtractedText:
    """Return the plain text of a source file given as bytes; the format comes from `filename`."""
    kind = format_of(filename)
    readers = {
        FORMAT_TEXT: text_to_text,
        FORMAT_HTML: html_to_text,
        FORMAT_DOCX: docx_to_text,
        FORMAT_PDF: pdf_to_text,
    }
    try:
        text = readers[kind](data)
    except ExtractionError:
        raise
    except Exception as error:  # every library has its own exception types for a damaged file
        raise ExtractionError(
            f"{filename} is not a readable {kind} file ({type(error).__name__}: {error})"
        ) from error
    if not compact(text):
        raise ExtractionError(f"{filename} holds no text (a scanned PDF needs OCR first)")
    return ExtractedText(text, kind, Path(filename).name, hashlib.sha256(data).hexdigest())


def extract_file(path: Path) -> ExtractedText:
    """Return the plain text of the file at `path`."""
    return extract_bytes(Path(path).read_bytes(), Path(path).name)


def parse_extracted(extracted: ExtractedText, doc_id: str) -> Document:
    """Parse extracted text into a `Document` whose checksum is that of the source file's bytes."""
    document = parse_text(extracted.text, doc_id, extracted.source_file)
    return replace(document, meta=replace(document.meta, checksum=extracted.checksum))


# ---- plain text -----------------------------------------------------------------------------------
def text_to_text(data: bytes) -> str:
    """Decode a text file (UTF-8 with or without BOM, else GB18030); line ends become "\\n"."""
    for encoding in TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise ExtractionError("the text file is neither UTF-8 nor GB18030")


# ---- HTML -----------------------------------------------------------------------------------------
def html_to_text(data: bytes | str) -> str:
    """Return the 公文 of a saved government web page: title, header fields, body; site chrome dropped.

    The header field block (索引号/发布机构/发文字号 …) is found by its labels and printed one table row
    per line; the body is the smallest element holding nearly all of the page's non-link text.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    body = soup.body or soup
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in body.find_all(_HTML_DROP_TAGS):
        tag.decompose()
    for tag in body.find_all(True):
        if tag.decomposed or tag.attrs is None:
            continue
        classes: Any = tag.get("class") or []
        words = " ".join([*(classes if isinstance(classes, list) else [classes]), str(tag.get("id") or "")])
        if (
            words
            and _HTML_CLUTTER.search(words)
            and not _holds_metadata(tag)
            and _text_share(tag, body) < 0.5
        ):
            tag.decompose()
    metadata = _metadata_block(body)
    metadata_lines = _render_metadata(metadata) if metadata is not None else []
    if metadata is not None:
        metadata.extract()
    content = _content_container(body)
    # The page <title> stands in for the heading only when the page prints none of its own.
    heading = _title_outside(content, body) or ("" if content.find(["h1", "h2", "h3"]) else page_title)
    lines = [*metadata_lines]
    if heading and compact(heading) not in compact(content.get_text()[:400]):
        lines += ["", heading]
    lines += ["", *_render_blocks(content)]
    return _tidy_lines(lines)


def _holds_metadata(tag: Any) -> bool:
    text = compact(tag.get_text())
    return sum(label in text for label in ("索引号", "发布机构", "发文字号", "成文日期", "发文机关")) >= 2


def _plain_length(tag: Any) -> int:
    """CJK characters of the tag's text outside links (navigation is mostly links)."""
    total = len(_CJK.findall(tag.get_text()))
    linked = sum(len(_CJK.findall(a.get_text())) for a in tag.find_all("a"))
    return total - linked


def _text_share(tag: Any, root: Any) -> float:
    whole = _plain_length(root)
    return _plain_length(tag) / whole if whole else 0.0


def _metadata_block(body: Any) -> Any:
    """The smallest element stating at least two 公文 header fields, else None."""
    best = None
    for tag in body.find_all(["table", "div", "ul", "dl", "section"]):
        size = len(compact(tag.get_text()))
        if _holds_metadata(tag) and size < 600 and (best is None or size < len(compact(best.get_text()))):
            best = tag
    return best


def _render_metadata(block: Any) -> list[str]:
    rows = block.find_all("tr") if block.name == "table" or block.find("tr") else []
    if rows:
        return [" ".join(_clean(c.get_text(" ")) for c in row.find_all(["td", "th"])).strip() for row in rows]
    items = block.find_all(["li", "dt", "dd", "p", "span", "div"])
    leaves = [item for item in items if not item.find(["li", "p", "div", "dd", "dt"])]
    lines: list[str] = []
    for leaf in leaves or [block]:
        text = _clean(leaf.get_text(" "))
        if not text:
            continue
        # "<dt>发文字号</dt><dd>…</dd>": a bare label joins the value that follows it.
        if lines and compact(lines[-1]).rstrip(":：") in METADATA_LABELS:
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(text)
    return lines


def _content_container(body: Any) -> Any:
    node = body
    while True:
        total = _plain_length(node)
        children = [c for c in node.find_all(True, recursive=False)]
        best = max(children, key=_plain_length, default=None)
        if best is None or total == 0 or _plain_length(best) < _CONTENT_SHARE * total:
            return node
        node = best


def _title_outside(content: Any, body: Any) -> str:
    """The page's <h1> (or first heading) when it sits outside the content container."""
    for name in ("h1", "h2"):
        for tag in body.find_all(name):
            if content not in tag.parents and tag is not content:
                text = _clean(tag.get_text(" "))
                if _CJK.search(text):
                    return text
    return ""


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _WRAP_BETWEEN_CJK.sub("", text)).strip()


def _render_blocks(root: Any) -> list[str]:
    """Lines of an element: one per block, <br> breaks a line, data tables one cell per line."""
    from bs4 import NavigableString, Tag

    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        # A blank line after every block, as in text copied from a browser: the parser then never
        # joins two paragraphs as if a line were broken inside a sentence.
        text = _clean("".join(current))
        if text:
            lines.extend((text, ""))
        current.clear()

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment, CDATA or doctype
                    current.append(str(child))
            elif isinstance(child, Tag):
                if child.name == "br":
                    flush()
                elif child.name == "table" and _is_data_table(child):
                    flush()
                    lines.extend(_render_data_table(child))
                elif child.name in _HTML_BLOCK_TAGS:
                    flush()
                    walk(child)
                    flush()
                else:
                    walk(child)

    walk(root)
    flush()
    return lines


def _is_data_table(table: Any) -> bool:
    """A table of data (cells flattened one per line), not a table used for page layout."""
    if table.find("table"):
        return False
    cells = table.find_all(["td", "th"])
    return bool(cells) and all(len(compact(c.get_text())) < _LAYOUT_CELL_CHARS for c in cells)


def _render_data_table(table: Any) -> list[str]:
    lines = [""]
    for row in table.find_all("tr"):
        for cell in row.find_all(["td", "th"], recursive=False):
            lines.append("\t" + _clean(cell.get_text(" ")))
            lines.extend("\t" for _ in range(int(cell.get("colspan", 1) or 1) - 1))
        lines.append("")
    return lines


# ---- DOCX -----------------------------------------------------------------------------------------
def docx_to_text(data: bytes) -> str:
    """Return a Word file's text: paragraphs and tables in document order.

    Every paragraph (headings included) is a line followed by a blank line; a table is flattened one
    cell per line, led by a tab, with a blank line after each row; a vertically merged cell repeats as
    an empty cell, as in a table copied from a web page.
    """
    from docx import Document as open_docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    word = open_docx(io.BytesIO(data))
    lines: list[str] = []
    for block in word.iter_inner_content():
        if isinstance(block, Paragraph):
            # Each Word paragraph is a real paragraph: a blank line keeps the parser from joining it
            # to the next one as a mid-sentence break.
            lines += [block.text.strip(), ""]
        elif isinstance(block, Table):
            lines += ["", *_docx_table_lines(block)]
    return _tidy_lines(lines)


def _docx_table_lines(table: Any) -> list[str]:
    from docx.oxml.ns import qn

    lines: list[str] = []
    for row in table._tbl.tr_lst:
        for tc in row.tc_lst:
            merge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
            continued = merge is not None and merge.get(qn("w:val"), "continue") == "continue"
            paragraphs = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.iter(qn("w:p"))]
            text = "" if continued else "".join(p.strip() for p in paragraphs)
            lines.append("\t" + text)
            lines.extend("\t" for _ in range(tc.grid_span - 1))
        lines.append("")
    return lines


# ---- PDF ------------------------------------------------------------------------------------------
def pdf_to_text(data: bytes) -> str:
    """Return a PDF's text: running headers, footers and page numbers dropped, and lines broken at
    the page edge (inside a sentence, within or across pages) joined again."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as error:
            raise ExtractionError("the PDF is encrypted") from error
    pages = [[line.strip() for line in (page.extract_text() or "").split("\n")] for page in reader.pages]
    pages = _drop_running_lines([[line for line in page if line] for page in pages])
    lines = [line for page in pages for line in page]
    full = _usual_width(lines)
    out: list[str] = []
    for line in lines:
        if out and _broken_at_edge(out[-1], line, full):
            out[-1] = out[-1] + line
        else:
            out.append(line)
    return _tidy_lines(out)


def _running_key(line: str) -> str:
    return re.sub(r"\d+", "#", compact(line))


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers, and lines printed at the top or bottom of most pages."""
    counts: Counter[str] = Counter()
    for page in pages:
        edges = {_running_key(line) for line in [*page[:_EDGE_LINES], *page[-_EDGE_LINES:]]}
        counts.update(edges)
    running = {
        key for key, n in counts.items() if len(pages) >= 2 and n >= max(2, _RUNNING_SHARE * len(pages))
    }
    kept: list[list[str]] = []
    for page in pages:
        out = []
        dropped: set[str] = set()
        for position, line in enumerate(page):
            at_edge = position < _EDGE_LINES or position >= len(page) - _EDGE_LINES
            if _PAGE_NUMBER.match(line) and at_edge:
                continue
            key = _running_key(line)
            # Once per page: a title printed under a running header of the same words is kept.
            if at_edge and key in running and key not in dropped:
                dropped.add(key)
                continue
            out.append(line)
        kept.append(out)
    return kept


def _width(line: str) -> float:
    # Full-width characters take one em, ASCII about half.
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in line)


def _usual_width(lines: Iterable[str]) -> float:
    widths = sorted(_width(line) for line in lines)
    if not widths:
        return 0.0
    top = widths[len(widths) * 3 // 4 :]  # most lines of a policy are full lines of body text
    return float(statistics.median(top))


def _broken_at_edge(previous: str, line: str, full: float) -> bool:
    return (
        full > 0
        and _width(previous) >= _FULL_LINE_SHARE * full
        and not ends_sentence(previous)
        and match_numbering(line) is None
    )


# ---- shared ---------------------------------------------------------------------------------------
def _tidy_lines(lines: Iterable[str]) -> str:
    """Join lines, keeping tab-led cells as they are, stripping the rest, and at most one blank line
    in a row."""
    out: list[str] = []
    for raw in lines:
        line = raw if raw.startswith("\t") else raw.strip()
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def iter_sources(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders to the supported files inside them (sorted); files are passed through."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS)
        else:
            yield path
