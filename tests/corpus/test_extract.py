"""Text extraction from the formats policies are published in, on files the tests generate.

Each generated file carries real policy text (a bundled document, or a 专栏 table in the bundled
layout) wrapped in what the format adds around it: site navigation, share bars and footers (HTML),
heading styles and merged table cells (DOCX), running headers, page numbers and lines broken at the
page edge inside sentences and across pages (PDF). Extraction must give text the parser reads into
the same clauses as the bundled plain text.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import lru_cache
from html import escape
from pathlib import Path

import pytest

from corpus.extract import (
    ExtractionError,
    doc_id_for,
    extract_bytes,
    parse_extracted,
    pdf_to_text,
)
from corpus.models import KIND_INDICATOR, KIND_PROJECT, Document
from corpus.parse import parse_document
from tests.conftest import CORPUS_DIR

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
NAV_WORDS = (
    "首页",
    "政务公开",
    "政民互动",
    "网站标识码",
    "ICP备",
    "长者模式",
    "欢迎访问",
    "微博",
    "搜索",
    "当前位置",
)


def _lines_only(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line.strip())


def _body_clauses(document: Document) -> list[tuple[str | None, tuple[str, ...], str]]:
    return [(c.number, c.path, _lines_only(c.text)) for c in document.clauses]


def _unbroken(
    clauses: list[tuple[str | None, tuple[str, ...], str]],
) -> list[tuple[str | None, tuple[str, ...], str]]:
    # A full line ending in "。" at the page edge may or may not end its paragraph; a PDF does not say.
    return [(number, path, text.replace("\n", "")) for number, path, text in clauses]


# --- HTML ------------------------------------------------------------------------------------------


def government_page(source: Path) -> str:
    """A saved government web page: nav, breadcrumb, header-field table, share bar, 公文 body, related
    links and footer. The body paragraphs are the bundled document's lines after its site header."""
    lines = source.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("区政府各部门"))
    notice = next(line for line in lines if "关于印发" in line)
    body = "\n".join(
        f"<p style='text-indent:2em'>&emsp;{escape(x.strip())}</p>" for x in lines[start:] if x.strip()
    )
    fields = [
        ("索引号", "12844103567866362S/2024-00002", "发布机构", "渝中区政府办公室"),
        ("成文日期", "2024-03-14", "发布日期", "2024-04-01"),
        ("发文字号", "渝中府办〔2024〕7号", "有效性", ""),
    ]
    rows = "".join("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in row) + "</tr>" for row in fields)
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>重庆市渝中区人民政府 | {escape(notice)}</title>
<script>var _hmt = _hmt || []; document.write("首页");</script><style>.nav {{ color: red }}</style></head>
<body><div class="top-bar"><a href="/">无障碍</a> <a href="/">长者模式</a> 欢迎访问本网站</div>
<header class="header"><img src="logo.png" alt="渝中区人民政府">
<div class="search"><input name="q"><button>搜索</button></div></header>
<nav class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
<li><a href="/bs">政务服务</a></li><li><a href="/hd">政民互动</a></li></ul></nav>
<div class="main"><div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a>政务公开</a></div>
<div class="xxgk"><table class="xxgk-table">{rows}</table></div>
<div class="article"><h1 class="title">{escape(notice)}</h1>
<div class="share-tools">字号：<a>大</a> <a>中</a> <a>小</a> <a>打印</a> 分享到：<a>微信</a><a>微博</a></div>
<div class="TRS_Editor">{body}</div>
<div class="related"><h3>相关解读</h3>
<ul><li><a href="/jd">《渝中区儿童友好城市建设三年行动计划》政策解读</a></li></ul></div>
</div></div>
<footer class="footer"><p>主办单位：重庆市渝中区人民政府办公室　承办：渝中区大数据发展局</p>
<p>网站标识码：5001030001　渝ICP备05003300号</p></footer></body></html>"""


def test_html_page_gives_the_clauses_of_the_bundled_text() -> None:
    source = CORPUS_DIR / "yuzhong-plan.txt"
    extracted = extract_bytes(government_page(source).encode("utf-8"), "yuzhong-plan.html")
    document = parse_extracted(extracted, "yuzhong-plan")
    bundled = parse_document(source)
    assert extracted.format == "html"
    # Same clauses, same content-derived ids: the page furniture left no trace in the parse.
    assert [c.id for c in document.clauses] == [c.id for c in bundled.clauses]
    assert [c.to_dict() | {"lines": None} for c in document.clauses] == [
        c.to_dict() | {"lines": None} for c in bundled.clauses
    ]
    for word in NAV_WORDS:
        assert word not in source.read_text(encoding="utf-8")  # so its absence means it was dropped
        assert word not in extracted.text, word


def test_html_header_table_becomes_metadata() -> None:
    page = government_page(CORPUS_DIR / "yuzhong-plan.txt")
    extracted = extract_bytes(page.encode("utf-8"), "page.htm")
    meta = parse_extracted(extracted, "page").meta
    assert meta.doc_number == "渝中府办〔2024〕7号"
    assert meta.issuer == "重庆市渝中区人民政府办公室"
    assert (meta.date_written, meta.date_published) == ("2024-03-14", "2024-04-01")
    assert meta.title == "重庆市渝中区儿童友好城市建设三年行动计划(2024—2026年)"
    assert meta.region == "渝中区" and meta.region_parents == ("重庆市",)
    assert extracted.text.startswith("索引号 12844103567866362S/2024-00002 发布机构 渝中区政府办公室\n")


def test_html_page_without_article_markup_keeps_title_and_drops_footer() -> None:
    page = """<html><head><title>关于印发某某办法的通知</title></head><body>
    <div id="menu"><a href="/">首页</a> | <a href="/a">机构</a> | <a href="/b">信息公开</a></div>
    <table width="100%"><tr><td><h2>某某县儿童托育服务管理办法</h2>
    <p>第一条　为规范托育服务，根据有关规定，制定本办法。</p>
    <p>第二条　本办法适用于本县行政区域内的托育机构。<br>第三条　县卫生健康局负责托育服务的监督管理。</p>
    </td></tr></table>
    <div class="foot">版权所有：某某县人民政府　地址：某某路1号</div></body></html>"""
    document = parse_extracted(extract_bytes(page.encode("gb18030"), "x.html"), "x")
    assert [c.number for c in document.clauses if c.number] == ["第一条", "第二条", "第三条"]
    assert document.meta.title == "某某县儿童托育服务管理办法"
    assert all("版权所有" not in c.text and "首页" not in c.text for c in document.clauses)


# --- DOCX ------------------------------------------------------------------------------------------

INDICATORS = (
    ("儿童与健康", "1", "新生儿死亡率（‰）", "≤1.3", "约束性", "区卫生健康委"),
    ("", "2", "婴儿死亡率（‰）", "≤2.3", "约束性", "区卫生健康委"),
    ("儿童与教育", "3", "学前教育毛入园率（%）", "≥95", "预期性", "区教委"),
)


def policy_docx() -> bytes:
    """A Word file: title, 通知, Heading 1/2 styled sections, body text, a 专栏 indicator table with a
    vertically merged 类别 column, and a 专栏 of projects."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    word = docx.Document()
    word.add_paragraph("大渡口府发〔2023〕7号").alignment = WD_ALIGN_PARAGRAPH.CENTER
    word.add_heading("重庆市大渡口区儿童发展规划（2021—2030年）", level=0)
    word.add_heading("一、总体要求", level=1)
    word.add_heading("（一）指导思想", level=2)
    word.add_paragraph("坚持以习近平新时代中国特色社会主义思想为指导，坚持儿童优先原则。")
    word.add_heading("（二）主要目标", level=2)
    word.add_paragraph("到2030年，儿童健康、教育、福利等领域的发展指标达到全市平均水平以上。")
    word.add_paragraph("专栏一 2021—2030年大渡口区儿童发展主要指标")
    table = word.add_table(rows=1 + len(INDICATORS), cols=6)
    for cell, label in zip(
        table.rows[0].cells,
        ("类别", "序号", "指标名称（单位）", "2030年规划指标", "属性", "责任单位"),
        strict=True,
    ):
        cell.text = label
    for row, values in zip(table.rows[1:], INDICATORS, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            if value:
                cell.text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # 儿童与健康 spans two rows, as printed
    table.cell(1, 0).text = "儿童与健康"
    word.add_heading("二、主要任务", level=1)
    word.add_paragraph("1.加强儿童健康服务。完善儿童健康服务体系，提升儿童医疗服务能力。")
    word.add_paragraph("专栏二 儿童健康重点项目")
    word.add_paragraph("儿童医务人员提升项目：每年培训儿科医务人员不少于100人次。（责任单位：区卫生健康委）")
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def test_docx_headings_paragraphs_and_table_cells() -> None:
    extracted = extract_bytes(policy_docx(), "dadukou-plan.docx")
    lines = extracted.text.split("\n")
    assert "一、总体要求" in lines and "（一）指导思想" in lines  # heading styles kept as lines
    assert "\t类别" in lines and "\t指标名称（单位）" in lines  # one cell per line, tab-led
    document = parse_extracted(extracted, "dadukou-plan")
    assert document.meta.doc_number == "大渡口府发〔2023〕7号"
    assert document.meta.title == "重庆市大渡口区儿童发展规划（2021—2030年）"
    by_number = {c.number: c for c in document.clauses}
    assert by_number["（一）"].path == ("一、总体要求",)
    assert "坚持儿童优先原则" in by_number["（一）"].text
    rows = [c for c in document.clauses if c.kind == KIND_INDICATOR]
    assert [
        (r.fields["number"], r.fields["category"], r.fields["target_2030"], r.fields["responsible_unit"])
        for r in rows
    ] == [
        ("1", "儿童与健康", "≤1.3", "区卫生健康委"),
        ("2", "儿童与健康", "≤2.3", "区卫生健康委"),  # merged cell inherited from the row above
        ("3", "儿童与教育", "≥95", "区教委"),
    ]
    assert rows[0].path[-1].startswith("专栏一")
    project = next(c for c in document.clauses if c.kind == KIND_PROJECT)
    assert project.fields["name"] == "儿童医务人员提升项目" and project.fields["box"] == "专栏二"
    assert project.fields["responsible_unit"] == "区卫生健康委"


# --- PDF -------------------------------------------------------------------------------------------

CHARS_PER_LINE = 30
LINES_PER_PAGE = 24
FONT_NAME = "PolicyCJK"
FONT_SIZE = 14
RUNNING_HEADER = "广西推进儿童友好城市建设实施方案"


def _installed_cjk_fonts() -> list[str]:
    """Font files fontconfig knows for Chinese, after the usual candidates (empty without fc-list)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    listed = subprocess.run([fc_list, ":lang=zh", "file"], capture_output=True, text=True, check=False)
    return sorted({line.split(":")[0].strip() for line in listed.stdout.splitlines() if line.strip()})


@lru_cache(maxsize=1)
def _loadable_cjk_font() -> str | None:
    """Register and return the first installed CJK font reportlab can load and that has Chinese glyphs.

    reportlab reads TrueType outlines only: Noto CJK (CFF/PostScript outlines, fonts-noto-cjk) is refused
    with "postscript outlines are not supported", so merely finding a Chinese font is not enough.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for candidate in dict.fromkeys([*FONT_CANDIDATES, *_installed_cjk_fonts()]):
        if not Path(candidate).is_file():
            continue
        options = {"subfontIndex": 0} if candidate.lower().endswith(".ttc") else {}
        try:
            font = TTFont(FONT_NAME, candidate, **options)
        except (TTFError, OSError, ValueError):
            continue
        if all(ord(char) in font.face.charToGlyph for char in "政策儿童"):
            pdfmetrics.registerFont(font)
            return candidate
    return None


def _cjk_font() -> str:
    font = _loadable_cjk_font()
    if font is None:
        message = (
            "no CJK font that reportlab can load (TrueType outlines); `apt-get install fonts-wqy-microhei` "
            "(scripts/install_system_deps.sh installs it)"
        )
        if os.environ.get("CI"):  # CI installs it: a missing font must fail there, not skip
            pytest.fail(message)
        pytest.skip(message)
    return font


def _wrap(paragraph: str, width: float) -> list[str]:
    # Break where the text reaches the page width, as a PDF does, wherever the sentence happens to be.
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, current = [], ""
    for char in paragraph:
        if current and stringWidth(current + char, FONT_NAME, FONT_SIZE) > width:
            lines.append(current)
            current = ""
        current += char
    return [*lines, current] if current else lines


def policy_pdf(paragraphs: list[str]) -> bytes:
    """A PDF of `paragraphs` wrapped at a fixed width over pages with a running header and a
    "— n —" page number; paragraphs continue across page breaks."""
    from reportlab.pdfgen import canvas

    _cjk_font()  # registers FONT_NAME
    lines = [line for paragraph in paragraphs for line in _wrap(paragraph, CHARS_PER_LINE * FONT_SIZE)]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842))
    for page, start in enumerate(range(0, len(lines), LINES_PER_PAGE), start=1):
        pdf.setFont(FONT_NAME, 10)
        pdf.drawCentredString(297, 800, RUNNING_HEADER)
        pdf.setFont(FONT_NAME, FONT_SIZE)
        for row, line in enumerate(lines[start : start + LINES_PER_PAGE]):
            pdf.drawString(70, 760 - 28 * row, line)
        pdf.setFont(FONT_NAME, 10)
        pdf.drawCentredString(297, 40, f"— {page} —")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def guangxi_pdf() -> tuple[bytes, Document]:
    source = CORPUS_DIR / "guangxi-plan.txt"
    bundled = parse_document(source)
    lines = source.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("为深入贯彻"))
    title = "广西推进儿童友好城市建设实施方案"
    paragraphs = [title, *(line.strip() for line in lines[start:] if line.strip())]
    return policy_pdf(paragraphs), bundled


def test_pdf_rejoins_lines_and_drops_page_furniture(guangxi_pdf: tuple[bytes, Document]) -> None:
    data, _ = guangxi_pdf
    text = pdf_to_text(data)
    assert "— 2 —" not in text and "— 1 —" not in text
    assert text.count(RUNNING_HEADER) == 1  # the title once; the running header of every page dropped
    joined = next(line for line in text.split("\n") if line.startswith("(一)指导思想。"))
    assert len(joined) > 2 * CHARS_PER_LINE  # a clause broken over several lines is one line again


def test_pdf_gives_the_clauses_of_the_bundled_text(guangxi_pdf: tuple[bytes, Document]) -> None:
    data, bundled = guangxi_pdf
    document = parse_extracted(extract_bytes(data, "guangxi-plan.pdf"), "guangxi-plan")
    expected = [c for c in _body_clauses(bundled) if c[2] and not c[2].startswith(("城市实践", "发布日期"))]
    got = [c for c in _body_clauses(document) if c[2] != RUNNING_HEADER]
    numbered = [c for c in expected if c[0]]
    assert len(numbered) > 20
    # Every numbered clause: number, section path and text (line breaks aside) ...
    assert _unbroken([c for c in got if c[0]]) == _unbroken(numbered)
    # ... and most of them exactly, their line breaks re-joined. (The rest have a full line that
    # ends in "。" or "：" at the page edge; without first-line indentation that break is kept.)
    exact = sum(g == e for g, e in zip([c for c in got if c[0]], numbered, strict=True))
    assert exact >= 0.8 * len(numbered)
    # A clause that crossed a page break is whole: its text equals the bundled clause.
    page_break_clauses = [c for c in got if c[0] and len(c[2]) > LINES_PER_PAGE * CHARS_PER_LINE // 4]
    assert page_break_clauses


# --- plain text and errors -------------------------------------------------------------------------


def test_text_files_in_utf8_bom_and_gbk_decode_the_same() -> None:
    text = "某某县托育服务办法\n第一条　为规范托育服务，制定本办法。\n"
    utf8 = extract_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"), "a.txt")
    gbk = extract_bytes(text.replace("\n", "\r\n").encode("gb18030"), "a.TXT")
    assert utf8.text == gbk.text == text
    assert utf8.checksum != gbk.checksum  # the checksum identifies the source bytes


def test_unsupported_or_broken_files_raise_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="unsupported file type"):
        extract_bytes(b"x", "policy.doc")
    with pytest.raises(ExtractionError, match="not a readable pdf"):
        extract_bytes(b"not a pdf at all", "policy.pdf")
    with pytest.raises(ExtractionError, match="not a readable docx"):
        extract_bytes(b"PK\x03\x04 broken", "policy.docx")
    with pytest.raises(ExtractionError, match="no text"):
        extract_bytes(b"<html><body><script>x()</script></body></html>", "empty.html")


def test_doc_id_for_file_names() -> None:
    assert doc_id_for("uploads/长宁区行动计划.docx") == "长宁区行动计划"
    assert doc_id_for("C:\\docs\\guangxi-plan.pdf") == "guangxi-plan"
    assert doc_id_for("../.hidden.txt") is None
