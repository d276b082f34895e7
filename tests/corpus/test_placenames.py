"""Place-name rule: the short form people say for an administrative place, one answer per place."""

from __future__ import annotations

import pytest

from corpus.placenames import place_names, place_short_name, province_names


@pytest.mark.parametrize(
    ("place", "short"),
    [
        # the bundled documents' places
        ("渝中区", "渝中"),
        ("大渡口区", "大渡口"),
        ("长宁区", "长宁"),
        ("重庆市", "重庆"),
        ("上海市", "上海"),
        ("广西壮族自治区", "广西"),
        # autonomous areas are named after one or more nationalities, dropped with the suffix
        ("北川羌族自治县", "北川"),
        ("恩施土家族苗族自治州", "恩施"),
        ("黔东南苗族侗族自治州", "黔东南"),
        ("西双版纳傣族自治州", "西双版纳"),
        ("新疆维吾尔自治区", "新疆"),
        ("宁夏回族自治区", "宁夏"),
        ("内蒙古自治区", "内蒙古"),
        ("西藏自治区", "西藏"),
        ("香港特别行政区", "香港"),
        ("浦东新区", "浦东"),
        ("黑龙江省", "黑龙江"),
        ("解放碑街道", "解放碑"),
        # no shorter name: a bare suffix, one character left, or no suffix at all
        ("区", None),
        ("市区", None),
        ("北京", None),
    ],
)
def test_short_name(place: str, short: str | None) -> None:
    assert place_short_name(place) == short
    assert place_names(place) == ((place, short) if short else (place,))


def test_province_names_map_full_and_short_forms_to_the_full_name() -> None:
    provinces = province_names()
    assert len(set(provinces.values())) == 34
    assert provinces["广西"] == provinces["广西壮族自治区"] == "广西壮族自治区"
    assert provinces["内蒙古"] == "内蒙古自治区" and provinces["新疆"] == "新疆维吾尔自治区"
    assert provinces["重庆"] == "重庆市" and provinces["香港"] == "香港特别行政区"
