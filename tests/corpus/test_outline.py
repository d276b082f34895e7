"""The outline staff read to check a parse by eye."""

from __future__ import annotations

from corpus.models import Document
from corpus.outline import format_tree


def test_outline_shows_structure_spans_and_metadata(documents: dict[str, Document]) -> None:
    tree = format_tree(documents["yuzhong-plan"])
    lines = tree.split("\n")
    assert lines[0].startswith("yuzhong-plan  重庆市渝中区儿童友好城市建设三年行动计划")
    assert "渝中府办〔2024〕7号" in lines[1]
    assert "        (17)加快婴幼儿照护服务发展。  [L161-163] 制定实施本区托育服务" in tree
    assert "  <heading> 二、基本原则  [L39]" in tree
    assert lines[-1] == "  dropped lines: 11 clutter, 8 duplicate, 3 metadata"
    assert len(lines) == len(documents["yuzhong-plan"].clauses) + 3


def test_outline_marks_inferred_numbers_and_tables(documents: dict[str, Document]) -> None:
    tree = format_tree(documents["dadukou-plan"])
    assert "[（七）?] 依法落实儿童法律保护体系。" in tree
    assert "[4．?] 加强儿童校外活动场所建设和管理。" in tree
    assert "<indicator> 1  [L73-86]" in tree
    assert "<project>" in tree
