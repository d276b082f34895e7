"""Place awareness: which places a question names, from the documents' own metadata.

The covered places (and their short forms, `corpus.placenames`) are derived from `DocumentMeta.region`
and `region_parents`, so a document added for another place works the same way. Places the corpus does
not cover are recognised by jieba's place-name tag (ns), its dictionary taught the country's administrative
divisions (`corpus.gazetteer`: 徐汇区, 沙坪坝). Each `PlaceIndex` cuts text with its own jieba dictionary, so
the place names of one index never leak into another (or into the process-wide jieba).

What encloses what decides between them: a place inside a covered region is answered from that region's
documents (南宁 in 广西); a place inside a covered *enclosing* place names where the question is about
(上海浦东: 浦东, which the corpus does not cover, not 上海, whose only document is 长宁区's).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import jieba.posseg

from corpus import gazetteer
from corpus.models import DocumentMeta
from corpus.placenames import place_names
from index.tokenize import new_jieba_tokenizer

PLACE_TAG = "ns"  # jieba's part-of-speech tag for place names
_PLACE_WORD_FREQ = 200_000  # high enough that jieba keeps a covered place name whole
TAG_CACHE = 4096  # questions whose words are kept per index

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


@dataclass(frozen=True)
class PlaceMatch:
    """Places a question names: those the corpus covers (canonical names) and those it does not."""

    covered: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()
    # Places the documents do not name that lie inside a covered region: place -> that region (南宁 -> 广西…).
    inside: tuple[tuple[str, str], ...] = ()


class _PlaceTagger(jieba.posseg.POSTokenizer):
    """jieba's part-of-speech cutter over a private dictionary that knows `place_words` as places."""

    def __init__(self, place_words: Iterable[str], other_places: Iterable[str] = ()) -> None:
        # Not super().__init__: it would read jieba's word-tag table from disk again (about 0.5 s). The
        # table jieba.posseg loaded at import is shared read-only; this index's own tags sit in front of it.
        self.tokenizer = new_jieba_tokenizer()
        self.word_tag_tab = ChainMap({}, jieba.posseg.dt.word_tag_tab)
        for word in place_words:
            self.tokenizer.add_word(word, freq=_PLACE_WORD_FREQ, tag=PLACE_TAG)
        for word in other_places:  # known, at jieba's own weight: never cut across a covered name
            if self.word_tag_tab.get(word) != PLACE_TAG:
                self.tokenizer.add_word(word, tag=PLACE_TAG)
        self.makesure_userdict_loaded()


@dataclass
class PlaceIndex:
    """Maps every spoken form of a covered place to the documents about it."""

    alias_to_place: dict[str, str] = field(default_factory=dict)
    place_to_docs: dict[str, set[str]] = field(default_factory=dict)
    regions: frozenset[str] = frozenset()  # the places documents are about (not their enclosing ones)

    def __post_init__(self) -> None:
        self._tagger = _PlaceTagger(self.alias_to_place, gazetteer.dictionary_words())
        self._tags = lru_cache(maxsize=TAG_CACHE)(self._cut_with_tags)

    @classmethod
    def from_documents(cls, documents: Iterable[DocumentMeta]) -> PlaceIndex:
        """Build the index from document metadata (region and enclosing regions)."""
        alias_to_place: dict[str, str] = {}
        place_to_docs: dict[str, set[str]] = {}
        regions: set[str] = set()
        for doc in documents:
            if doc.region:
                regions.add(doc.region)
            for place in (doc.region, *doc.region_parents):
                if not place:
                    continue
                place_to_docs.setdefault(place, set()).add(doc.id)
                for alias in place_names(place):
                    alias_to_place.setdefault(alias, place)
        return cls(alias_to_place, place_to_docs, frozenset(regions))

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

    def words(self, text: str) -> tuple[tuple[str, str], ...]:
        """Return the words of `text` with their part-of-speech tags, as this index's dictionary cuts them."""
        return self._tags(text)

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
        uncovered = [p for p in self._place_candidates("".join(masked)) if p not in self.alias_to_place]
        return self._enclosed(covered, list(dict.fromkeys(uncovered)))

    def _enclosed(self, covered: list[str], uncovered: list[str]) -> PlaceMatch:
        """Apply what encloses what to the places found: one inside a covered region is covered by it;
        one inside a named enclosing place (上海 of 上海浦东) is what the question is about."""
        inside: list[tuple[str, str]] = []
        for place in list(uncovered):
            regions = gazetteer.enclosing(place, sorted(self.regions))
            if regions:
                uncovered.remove(place)
                inside.extend((place, region) for region in regions)
                covered.extend(r for r in regions if r not in covered)
                continue
            covered = [c for c in covered if c in self.regions or not gazetteer.within(place, [c])]
        # 重庆渝中区: 渝中区 says which of 重庆's documents (not 大渡口区's too).
        named_regions = [c for c in covered if c in self.regions]
        covered = [
            c
            for c in covered
            if c in self.regions or not any(gazetteer.within(r, [c]) for r in named_regions)
        ]
        return PlaceMatch(tuple(covered), tuple(uncovered), tuple(inside))

    def _place_candidates(self, text: str) -> list[str]:
        return [
            word
            for word, tag in self.words(text)
            if tag == PLACE_TAG
            and len(word) >= 2
            and word not in NOT_PLACES
            and not word.endswith(("社区", "街道"))
        ]

    def _cut_with_tags(self, text: str) -> tuple[tuple[str, str], ...]:
        return tuple((pair.word, pair.flag) for pair in self._tagger.cut(text))
