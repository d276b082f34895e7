"""Place names: administrative suffixes and the short forms people say (北川羌族自治县 -> 北川).

The index adds these names to its dictionary, clause lookup and place filtering recognise them in
questions, and metadata reads them at the start of titles: all from the rules here.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

PROVINCES_PATH = Path(__file__).with_name("resources") / "provinces.json"

# The 55 minority nationalities: autonomous areas are named after them (北川羌族自治县, 恩施土家族苗族自治州)
# and people drop them with the suffix (北川, 恩施).
ETHNIC_GROUPS = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒",
    "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴",
    "珞巴", "基诺",
)  # fmt: skip
# Administrative suffixes of ordinary places, longest first.
ADMIN_SUFFIXES = ("特别行政区", "街道", "新区", "省", "市", "区", "县", "旗", "镇", "乡")
_GROUPS = "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True))
# Tried in order; the first that leaves at least two characters gives the short form.
_SHORT_FORM_SUFFIXES = (
    # 北川羌族自治县 -> 北川, 新疆维吾尔自治区 -> 新疆 (the only autonomous name without 族)
    re.compile(rf"(?:(?:{_GROUPS})族|维吾尔)+自治[区州县旗]$"),
    # 内蒙古自治区 -> 内蒙古, 西藏自治区 -> 西藏
    re.compile(r"自治[区州县旗]$"),
    re.compile("(?:" + "|".join(ADMIN_SUFFIXES) + ")$"),
)
_MIN_SHORT_FORM = 2  # 区 alone, or 内 of 内蒙古自治区, is no name


def place_short_name(place: str) -> str | None:
    """Return the everyday name of an administrative place (北川羌族自治县 -> 北川), or None."""
    for suffix in _SHORT_FORM_SUFFIXES:
        found = suffix.search(place)
        if found and found.start() >= _MIN_SHORT_FORM:
            return place[: found.start()]
    return None


def place_names(place: str) -> tuple[str, ...]:
    """Return the names people use for `place`: as printed, then its short form when it has one."""
    short = place_short_name(place)
    return (place, short) if short else (place,)


@lru_cache(maxsize=1)
def province_names() -> dict[str, str]:
    """Map every province-level name, full or short (广西壮族自治区, 广西), to its full name."""
    full_names: list[str] = json.loads(PROVINCES_PATH.read_text(encoding="utf-8"))
    return {name: full for full in full_names for name in place_names(full)}
