"""Width folding and comparison keys: one character for one, used only for matching."""

from __future__ import annotations

from corpus.text import compact, normalize


def test_normalisation_is_one_to_one_and_only_for_matching() -> None:
    text = "（一）１．ＡＢＣ\u3000\u2003，：；"
    assert normalize(text) == "(一)1.ABC  ,:;"
    assert len(normalize(text)) == len(text)
    assert compact(" 第一条\u3000总则 ") == "第一条总则"
    assert normalize("①〔〕《》“”") == "①〔〕《》“”"  # circled numbers and CJK brackets stay
