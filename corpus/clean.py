"""Which source lines are not document text: page clutter, 公文 header fields and duplicated scraped blocks.

Lines are compared on `corpus.text.compact` keys; the lines themselves are never changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from corpus.metadata import is_metadata_line, parse_header_fields
from corpus.numbering import match_numbering
from corpus.text import compact, normalize

REASON_CLUTTER = "clutter"
REASON_DUPLICATE = "duplicate"
REASON_METADATA = "metadata"

# Site furniture printed around the document by the web page it was scraped from.
_CLUTTER_LINES = {
    "打印",
    "打印打印",
    "纠错",
    "纠错纠错",
    "分享到",
    "分享",
    "分享:",
    "字号:",
    "字号",
    "字号:大中小",
    "扫一扫在手机打开当前页",
    "业务动态",
    "视频点播更多>>",
    "当前位置:",
    "关闭",
    "关闭窗口",
    "打印本页",
    "【打印】",
    "【关闭】",
    "【打印】【关闭】",
    "收藏",
    "返回顶部",
    "上一篇",
    "下一篇",
}
_CLUTTER_PATTERNS = (
    re.compile(r"^Produced\s*By", re.IGNORECASE),
    re.compile(r"^当前位置[:>]"),
    re.compile(r"浏览次数[:]"),
    re.compile(r"^字体[:]\[?"),
    re.compile(r"^分享到"),
    re.compile(r"^\S{2,40}\d{4}年\d{1,2}月\d{1,2}日印发$"),
)
# A label that opens a block of links (file downloads, related readings); the links follow it.
# The colon is required: a bare "政策解读" can be a heading of the document itself.
_LINK_LABEL = re.compile(
    r"^(文件下载|附件下载|相关附件|部门解读|政策解读|一图读懂|图解|视频解读|媒体视角|政策原文|相关链接|相关文件|相关阅读):$"
)
# Everything after these belongs to the site or to the 公文 版记, not to the policy text.
_TRAILER_START = re.compile(r"^(转载声明|免责声明|版权声明)")
_COPY_TO = re.compile(r"^抄送[:]")
_MIN_DUPLICATE_PARAGRAPH = 30
_MIN_DUPLICATE_TITLE = 20


def classify_lines(lines: Sequence[str], body_start: int | None = None) -> dict[int, str]:
    """Return {0-based line index: reason} for every non-empty line that is not document text.

    Reasons: "clutter" (page furniture, link blocks, 转载声明 and 抄送 trailers), "metadata" (header
    fields, read into the manifest) and "duplicate" (a scraped block printed twice; the first copy is
    kept). `body_start` is the index of the first numbered heading; lines before it form the header
    zone where repeated titles are expected.
    """
    dropped: dict[int, str] = {}
    keys = [compact(line) for line in lines]
    header_end = body_start if body_start is not None else len(lines)
    _mark_metadata(lines, keys, dropped, header_end)
    _mark_clutter(lines, keys, dropped)
    _mark_duplicates(keys, dropped, header_end)
    return dropped


def _mark_clutter(lines: Sequence[str], keys: Sequence[str], dropped: dict[int, str]) -> None:
    in_links = False
    for index, key in enumerate(keys):
        if not key or index in dropped:
            continue
        norm = normalize(lines[index]).strip()
        if _TRAILER_START.match(norm):
            for rest in range(index, len(lines)):
                if keys[rest] and rest not in dropped:
                    dropped[rest] = REASON_CLUTTER
            return
        if _COPY_TO.match(norm):
            _mark_copy_to(lines, keys, index, dropped)
            continue
        if _LINK_LABEL.match(key):
            in_links = True
            dropped[index] = REASON_CLUTTER
            continue
        if in_links and (len(key) > 80 and key.endswith("。")):
            in_links = False
        if in_links or key in _CLUTTER_LINES or any(p.search(norm) for p in _CLUTTER_PATTERNS):
            dropped[index] = REASON_CLUTTER


def _mark_copy_to(lines: Sequence[str], keys: Sequence[str], start: int, dropped: dict[int, str]) -> None:
    # 抄送 names the bodies receiving copies; its list may wrap onto following short lines.
    dropped[start] = REASON_CLUTTER
    for index in range(start + 1, len(lines)):
        if not keys[index] or index in dropped:
            continue
        if len(keys[index]) > 80 or match_numbering(lines[index]):
            return
        dropped[index] = REASON_CLUTTER


def _mark_metadata(
    lines: Sequence[str], keys: Sequence[str], dropped: dict[int, str], header_end: int
) -> None:
    """Header field lines become metadata; a second printing of the same fields is a duplicate."""
    blocks: list[list[int]] = []
    for index in range(len(lines)):
        if index in dropped or not keys[index] or not is_metadata_line(lines[index]):
            continue
        if index >= header_end and not keys[index].startswith(("文章来源", "来源", "信息来源")):
            continue
        starts_block = keys[index].startswith("索引号") or not blocks or blocks[-1][-1] < index - 2
        if starts_block:
            blocks.append([index])
        else:
            blocks[-1].append(index)
    seen: list[dict[str, str]] = []
    for block in blocks:
        fields = parse_header_fields(lines[i] for i in block)
        reason = REASON_DUPLICATE if fields and fields in seen else REASON_METADATA
        seen.append(fields)
        for index in block:
            dropped[index] = reason


def _mark_duplicates(keys: Sequence[str], dropped: dict[int, str], header_end: int) -> None:
    """Repeated title lines in the header zone and long repeated paragraphs anywhere."""
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if not key or index in dropped:
            continue
        # A repeated page/document title; short lines such as an issuer name legitimately recur
        # (title block and signature).
        repeat_allowed = index < header_end and len(key) >= _MIN_DUPLICATE_TITLE
        if key in seen and (repeat_allowed or len(key) >= _MIN_DUPLICATE_PARAGRAPH):
            dropped[index] = REASON_DUPLICATE
        seen.add(key)
