"""Document metadata read by rule from what the text states (公文 header, 通知, signature, title).

A value the text does not state stays None. Every value found records its 1-based source line in
`DocumentMeta.evidence`. Document numbers cited inside paragraphs (the basis documents of a plan) are
never taken: only a header field or a line that is nothing but a document number counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from corpus.docnumber import normalize_doc_number
from corpus.models import DocumentMeta, Relation
from corpus.placenames import province_names
from corpus.text import compact, normalize

RELATION_INTERPRETS = "interprets"
TYPE_INTERPRETATION = "政策解读"

# Longest first: "行动计划" before "计划", "实施方案" before "方案".
DOC_TYPES = (
    "政策解读",
    "行动计划",
    "实施方案",
    "实施意见",
    "指导意见",
    "实施细则",
    "管理办法",
    "工作方案",
    "规划",
    "方案",
    "计划",
    "意见",
    "办法",
    "细则",
    "规定",
    "条例",
    "决定",
    "通知",
    "纲要",
)
# Metadata labels of a 公文 header (government website layout) and of a news page.
METADATA_LABELS = (
    "索引号",
    "发布机构",
    "发文机关",
    "成文日期",
    "发布日期",
    "主题分类",
    "体裁分类",
    "组配分类",
    "发文字号",
    "文号",
    "有效性",
    "公开方式",
    "信息来源",
    "文章来源",
    "来源",
)
_METADATA_LINE = re.compile("^(" + "|".join(sorted(METADATA_LABELS, key=len, reverse=True)) + r")(\s|[:]|$)")
_LABEL_RE = re.compile("(" + "|".join(sorted(METADATA_LABELS, key=len, reverse=True)) + r")\s*[:：]?")
_DATE_ISO = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})")
_DATE_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_NOTICE_TITLE = re.compile(r"^(?P<issuer>.+?)关于印发(?P<inner>.+)的通知$")
_QUOTED = re.compile(r"《([^《》]+)》")
_TRAILING_YEARS = re.compile(r"[(（][^()（）]*\d{4}[^()（）]*[)）]$")
_COUNTY = re.compile(r"^([\u4e00-\u9fa5]{1,3}?(?:区|县|旗))")
_PREFECTURE = re.compile(r"^([\u4e00-\u9fa5]{2,3}?(?:市|州|盟))")


@dataclass(frozen=True)
class PreambleFacts:
    """What the preamble parser found; each value with its 1-based line number."""

    notice_title: tuple[str, int] | None = None
    signature_issuer: tuple[str, int] | None = None
    signature_date: tuple[str, int] | None = None
    doc_number: tuple[str, int] | None = None
    titles: tuple[tuple[str, int], ...] = ()  # title blocks outside the 通知, in reading order


def is_metadata_line(line: str) -> bool:
    """Whether a line is a header field line such as "索引号 … 发布机构 …" or "发布日期:2022-12-15"."""
    return bool(_METADATA_LINE.match(normalize(line).strip()))


def parse_header_fields(lines: Iterable[str]) -> dict[str, str]:
    """Read "label value label value" header lines (either layout) into {label: value}."""
    fields: dict[str, str] = {}
    for line in lines:
        text = normalize(line).strip()
        found = list(_LABEL_RE.finditer(text))
        for index, match in enumerate(found):
            end = found[index + 1].start() if index + 1 < len(found) else len(text)
            label = match.group(1)
            fields.setdefault(label, text[match.end() : end].strip())
    return fields


def parse_date(text: str) -> str | None:
    """Return the first date in `text` as ISO yyyy-mm-dd ("2024年3月14日", "2024-03-14"), else None."""
    norm = normalize(text)
    found = _DATE_CN.search(norm) or _DATE_ISO.search(norm)
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def notice_parts(title: str) -> tuple[str, str] | None:
    """Split "X关于印发《Y》的通知" into (X, Y); None when the title is not a 印发 notice."""
    found = _NOTICE_TITLE.match(compact(title))
    if not found:
        return None
    inner = found.group("inner")
    quoted = _QUOTED.fullmatch(inner)
    return found.group("issuer"), quoted.group(1) if quoted else inner


def doc_type_of(title: str) -> str | None:
    """Document type from the title suffix (规划, 行动计划, 实施方案, 政策解读 …), else None."""
    text = compact(title)
    while _TRAILING_YEARS.search(text):
        text = _TRAILING_YEARS.sub("", text)
    text = text.rstrip("》")
    for doc_type in DOC_TYPES:
        if text.endswith(doc_type):
            return doc_type
    return None


def region_of(title: str) -> tuple[str, tuple[str, ...]] | None:
    """Region named at the start of a title, most specific first, with its enclosing places.

    "重庆市渝中区…" -> ("渝中区", ("重庆市",)); "广西推进…" -> ("广西壮族自治区", ()).
    """
    text = compact(title).lstrip("《")
    places: list[str] = []
    provinces = province_names()
    for name in sorted(provinces, key=len, reverse=True):
        if text.startswith(name):
            places.append(provinces[name])
            text = text[len(name) :]
            break
    for pattern in (_PREFECTURE, _COUNTY):
        found = pattern.match(text)
        if found and not found.group(1).startswith(("关于", "推进", "儿童")):
            places.append(found.group(1))
            text = text[found.end() :]
    if not places:
        return None
    return places[-1], tuple(places[:-1])


def title_key(title: str) -> str:
    """Key for matching titles across documents: no spaces, 《》, province prefix; unified dashes."""
    text = compact(title).replace("《", "").replace("》", "")
    for dash in "—–－―":
        text = text.replace(dash, "-")
    for name in sorted(province_names(), key=len, reverse=True):
        if text.startswith(name):
            return text[len(name) :]
    return text


def extract_meta(
    doc_id: str,
    lines: Sequence[str],
    metadata_lines: Sequence[int],
    preamble: PreambleFacts,
    source_file: str = "",
    checksum: str = "",
) -> DocumentMeta:
    """Build the manifest record of one document from its header lines and preamble facts.

    `metadata_lines` are the 0-based indexes of header field lines; line numbers in `evidence`
    are 1-based like clause spans.
    """
    header: dict[str, tuple[str, int]] = {}
    for index in metadata_lines:
        for label, value in parse_header_fields([lines[index]]).items():
            if value and label not in header:
                header[label] = (value, index + 1)
    evidence: dict[str, int] = {}
    values: dict[str, str | None] = {}

    def take(field: str, found: tuple[str, int] | None, value: str | None = None) -> None:
        if field in values or found is None:
            return
        chosen = value if value is not None else found[0]
        if chosen:
            values[field] = chosen
            evidence[field] = found[1]

    notice = notice_parts(preamble.notice_title[0]) if preamble.notice_title else None
    title_source = preamble.titles[0] if preamble.titles else None
    if title_source is not None:
        take("title", title_source, _strip_breadcrumb(title_source[0]))
    if notice is not None and preamble.notice_title is not None:
        take("title", preamble.notice_title, notice[1])

    take("issuer", preamble.signature_issuer)
    if notice is not None and preamble.notice_title is not None:
        take("issuer", preamble.notice_title, notice[0])
    for label in ("发文机关", "发布机构", "文章来源", "信息来源", "来源"):
        take("issuer", header.get(label))

    for label in ("发文字号", "文号"):
        number = header.get(label)
        if number:
            take("doc_number", number, normalize_doc_number(number[0]) or number[0])
    if preamble.doc_number:
        take("doc_number", preamble.doc_number, normalize_doc_number(preamble.doc_number[0]))

    for field, labels, fallback in (
        ("date_written", ("成文日期",), preamble.signature_date),
        ("date_published", ("发布日期",), None),
    ):
        for label in labels:
            found = header.get(label)
            if found:
                take(field, found, parse_date(found[0]))
        if fallback:
            take(field, fallback, parse_date(fallback[0]))

    title = values.get("title") or doc_id
    title_line = evidence.get("title")
    doc_type = doc_type_of(title)
    if doc_type and title_line:
        take("type", (doc_type, title_line))
    genre = header.get("体裁分类")
    if genre and genre[0] in DOC_TYPES:
        take("type", genre)

    region = region_of(title)
    if region is None and notice is not None:
        region = region_of(notice[1]) or region_of(notice[0])
    parents: tuple[str, ...] = ()
    if region is not None and title_line:
        name, parents = region
        # A short form in the title ("广西") is expanded only with the line stating the full name.
        stated = title_line if name in compact(title) else _line_containing(lines, name)
        take("region", (name, stated or title_line))

    return DocumentMeta(
        id=doc_id,
        title=title,
        issuer=values.get("issuer"),
        doc_number=values.get("doc_number"),
        date_written=values.get("date_written"),
        date_published=values.get("date_published"),
        region=values.get("region"),
        region_parents=parents if "region" in values else (),
        type=values.get("type"),
        source_file=source_file,
        checksum=checksum,
        evidence=evidence,
    )


def resolve_relations(metas: Sequence[DocumentMeta]) -> list[DocumentMeta]:
    """Link each 政策解读 to the document whose title it quotes in 《》 (relation "interprets")."""
    by_key = {title_key(meta.title): meta.id for meta in metas}
    resolved: list[DocumentMeta] = []
    for meta in metas:
        if meta.type != TYPE_INTERPRETATION:
            resolved.append(meta)
            continue
        relations = list(meta.relations)
        for quoted in _QUOTED.findall(meta.title):
            target = by_key.get(title_key(quoted))
            if target and target != meta.id and all(r.target != target for r in relations):
                relations.append(Relation(RELATION_INTERPRETS, target))
        evidence = dict(meta.evidence)
        if relations and "title" in evidence:
            evidence["relations"] = evidence["title"]
        resolved.append(replace(meta, relations=tuple(relations), evidence=evidence))
    return resolved


def _strip_breadcrumb(title: str) -> str:
    # A scraped page title "栏目 | 标题": the document title is the last part.
    parts = [part.strip() for part in re.split(r"\s[|｜>]\s", title)]
    return parts[-1] if parts else title


def _line_containing(lines: Sequence[str], text: str) -> int | None:
    for index, line in enumerate(lines):
        if text in compact(line):
            return index + 1
    return None
