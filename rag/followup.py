"""Rewriting a follow-up question into a standalone one using the previous turn."""

from __future__ import annotations

import re

from corpus.placenames import place_names
from rag.conversation import Turn
from rag.lookup import parse_reference
from rag.places import PlaceIndex

# What is left of "那长宁区的呢？" once the place is removed: nothing a question is made of.
_FOLLOW_UP_REST = re.compile(r"^[那么还有的呢吗嘛怎样如何怎么样情况方面这个那个又是呀啊,，。?？!！\s]*$")
_NEXT = re.compile(r"^(那)?(下一条|下一项|下一个|后一条|再下一条)(呢|是什么|讲什么|说了什么)?[?？。!！]*$")
_PREVIOUS = re.compile(r"^(那)?(上一条|上一项|前一条)(呢|是什么|讲什么|说了什么)?[?？。!！]*$")
NEXT, PREVIOUS = 1, -1


def resolve_follow_up(question: str, previous: Turn | None, places: PlaceIndex) -> tuple[str, int]:
    """Return (standalone question, step) where step is NEXT/PREVIOUS for "下一条呢" and 0 otherwise.

    "那长宁区呢？" after a question about 渝中区 becomes that question about 长宁区; a bare clause
    reference ("第二条呢？") stays as it is (its document comes from the previous turn).
    """
    if previous is None:
        return question, 0
    compact = question.strip()
    if _NEXT.match(compact):
        return previous.question, NEXT
    if _PREVIOUS.match(compact):
        return previous.question, PREVIOUS
    match = places.find(compact)
    if match.covered and parse_reference(compact) is None:
        rest = compact
        for place in match.covered:
            for alias in sorted(place_names(place), key=len, reverse=True):
                rest = rest.replace(alias, "")
        if _FOLLOW_UP_REST.match(rest):
            return _swap_places(previous, match.covered, places), 0
    return question, 0


def _swap_places(previous: Turn, new_places: tuple[str, ...], places: PlaceIndex) -> str:
    text = previous.question
    replaced = False
    for old in previous.regions:
        for alias in sorted(place_names(old), key=len, reverse=True):
            if alias in text:
                text = text.replace(alias, new_places[0])
                replaced = True
                break
    return text if replaced else f"{new_places[0]} {text}"
