"""Place awareness: which places a question names, from the documents' own metadata.

The covered places (and their short forms) are derived from `DocumentMeta.region` and
`region_parents`, so a document added for another place works the same way. Places the corpus does
not cover are recognised by jieba's place-name tag (ns) and common administrative suffixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import jieba
import jieba.posseg

from corpus.models import DocumentMeta

# Administrative suffixes, longest first, stripped to get the short form people say (渝中区 -> 渝中).
ADMIN_SUFFIXES = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "自治区",
    "特别行政区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "镇",
)
# Words tagged or shaped like places that are not places in questions about these policies.
NOT_PLACES = frozenset(
    {
        "社区",
        "街区",
        "城区",
        "园区",
        "景区",
        "校区",
        "学区",
        "片区",
        "辖区",
        "商圈",
        "全区",
        "全市",
        "本市",
        "本区",
        "城市",
        "儿童友好城市",
        "友好城市",
        "地区",
        "农村",
        "城乡",
        "国家",
        "全国",
        "中国",
        "东盟",
        "小区",
        "市区",
        "郊区",
        "新区",
        "市民",
        "区域",
        "区级",
        "市级",
        "我区",
        "我市",
        "该区",
        "示范区",
        "先行区",
        "试点区",
        "湾区",
        "核心区",
        "风景区",
        "保护区",
        "服务区",
        "住宅区",
        "老城区",
        "主城区",
        "中心城区",
        "各区",
        "各市",
        "分区",
    }
)


def short_forms(place: str) -> set[str]:
    """Return the names people use for `place`: as printed and without its administrative suffix."""
    names = {place}
    for suffix in ADMIN_SUFFIXES:
        if place.endswith(suffix) and len(place) - len(suffix) >= 2:
            names.add(place[: -len(suffix)])
            break
    return names


@dataclass(frozen=True)
class PlaceMatch:
    """Places a question names: those the corpus covers (canonical names) and those it does not."""

    covered: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()


@dataclass
class PlaceIndex:
    """Maps every spoken form of a covered place to the documents about it."""

    alias_to_place: dict[str, str] = field(default_factory=dict)
    place_to_docs: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_documents(cls, documents: Iterable[DocumentMeta]) -> PlaceIndex:
        """Build the index from document metadata (region and enclosing regions)."""
        index = cls()
        for doc in documents:
            for place in (doc.region, *doc.region_parents):
                if not place:
                    continue
                index.place_to_docs.setdefault(place, set()).add(doc.id)
                for alias in short_forms(place):
                    index.alias_to_place.setdefault(alias, place)
        for alias in index.alias_to_place:
            jieba.add_word(alias, freq=200000, tag="ns")
        return index

    @property
    def covered_places(self) -> tuple[str, ...]:
        """Canonical names of the places some document is about (regions, not their parents first)."""
        return tuple(sorted(self.place_to_docs, key=lambda p: (-len(self.place_to_docs[p]) > 1, p)))

    def docs_for(self, places: Iterable[str]) -> set[str]:
        """Return ids of the documents about any of `places`."""
        docs: set[str] = set()
        for place in places:
            docs |= self.place_to_docs.get(place, set())
        return docs

    def without(self, text: str, places: Iterable[str]) -> str:
        """Return `text` with every spoken form of `places` removed."""
        wanted = set(places)
        for alias in sorted(self.alias_to_place, key=len, reverse=True):
            if self.alias_to_place[alias] in wanted:
                text = text.replace(alias, " ")
        return " ".join(text.split())

    def find(self, text: str) -> PlaceMatch:
        """Return the covered and uncovered places named in `text`."""
        covered: list[str] = []
        spans: list[tuple[int, int]] = []
        for alias in sorted(self.alias_to_place, key=len, reverse=True):
            start = text.find(alias)
            while start >= 0:
                end = start + len(alias)
                if not any(s < end and start < e for s, e in spans):
                    spans.append((start, end))
                    place = self.alias_to_place[alias]
                    if place not in covered:
                        covered.append(place)
                start = text.find(alias, end)
        masked = list(text)
        for s, e in spans:
            masked[s:e] = [" "] * (e - s)
        uncovered = [p for p in _place_candidates("".join(masked)) if p not in self.alias_to_place]
        return PlaceMatch(tuple(covered), tuple(dict.fromkeys(uncovered)))


def _place_candidates(text: str) -> list[str]:
    return [
        word
        for word, flag in _posseg(text)
        if flag == "ns" and len(word) >= 2 and word not in NOT_PLACES and not word.endswith(("社区", "街道"))
    ]


@lru_cache(maxsize=4096)
def _posseg(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(text))
