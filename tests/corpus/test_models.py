"""Document statuses: a document applies until staff repeal it (失效) or another supersedes it."""

from __future__ import annotations

from dataclasses import replace

from corpus.models import STATUS_IN_FORCE, STATUS_REPEALED, DocumentMeta


def test_status_values_are_the_words_of_a_gongwen_header() -> None:
    assert (STATUS_IN_FORCE, STATUS_REPEALED) == ("有效", "失效")


def test_a_document_is_in_force_until_repealed_or_superseded() -> None:
    meta = DocumentMeta(id="yuzhong-plan", title="重庆市渝中区创建儿童友好城区三年行动计划")
    assert meta.status == STATUS_IN_FORCE and meta.in_force
    assert not replace(meta, status=STATUS_REPEALED).in_force
    assert not replace(meta, superseded_by="yuzhong-plan-2027").in_force
    assert DocumentMeta.from_dict(replace(meta, status=STATUS_REPEALED).to_dict()).status == "失效"
    assert "in_force" not in meta.to_dict()  # a derived value, not a stored field
