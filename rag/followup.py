"""Rewriting a follow-up question into a standalone one using the previous turn."""

from __future__ import annotations

import re

from corpus.placenames import place_names
from rag.conversation import Turn
from rag.detail import asked_detail
from rag.lookup import parse_reference
from rag.places import PlaceIndex

# What is left of "那长宁区的呢？" once the place is removed: nothing a question is made of.
_FOLLOW_UP_REST = re.compile(r"^[那么还有的呢吗嘛怎样如何怎么样情况方面这个那个又是呀啊,，。?？!！\s]*$")
_NEXT = re.compile(r"^(那)?(下一条|下一项|下一个|后一条|再下一条)(呢|是什么|讲什么|说了什么)?[?？。!！]*$")
_PREVIOUS = re.compile(r"^(那)?(上一条|上一项|前一条)(呢|是什么|讲什么|说了什么)?[?？。!！]*$")
NEXT, PREVIOUS = 1, -1
# A question in a conversation that reads as a follow-up: "那…呢", "还有…", or a short message.
_LEAD = re.compile(r"^(那么|那|还有|另外)")
_TAIL = re.compile(r"(呢|吗|嘛|啊|呀)?[?？。!！,，\s]*$")
SHORT_FOLLOW_UP_CHARS = 12
# What is left once the detail-asking words are gone from "那收费呢" / "具体是哪几所": no topic of its own.
_NO_TOPIC = re.compile(r"^[那么还有另外的呢吗嘛具体是都有哪些几个什么啥子这个那个一下请问,，。?？!！\s]*$")


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
    if parse_reference(compact) is not None:
        return question, 0
    if match.covered:
        rest = compact
        for place in match.covered:
            for alias in sorted(place_names(place), key=len, reverse=True):
                rest = rest.replace(alias, "")
        if _FOLLOW_UP_REST.match(rest):
            return _swap_places(previous, match.covered, places), 0
        return question, 0
    if match.uncovered or not _reads_as_follow_up(compact):
        return question, 0
    core = _TAIL.sub("", _LEAD.sub("", compact)) or compact
    detail = asked_detail(core)
    if core.endswith("的") and len(core) <= SHORT_FOLLOW_UP_CHARS:
        # A modifier of the previous question's topic ("那5岁以下的呢" after 新生儿死亡率): ask them together.
        return f"{previous.question} {core.rstrip('的')}", 0
    if detail is not None and _NO_TOPIC.match(detail.without_asking(core)):
        # Only a detail is asked ("那收费呢"): it is about the previous question's topic.
        earlier = previous.question
        earlier_detail = asked_detail(earlier)
        topic = earlier_detail.without_asking(earlier) if earlier_detail else earlier
        return f"{topic.strip(' ，,')} {core}", 0
    carried = [r for r in previous.regions if r in places.place_to_docs]
    if carried:
        # A new topic in the same conversation stays in the place asked about before, when the library
        # covers it (after "不涉及浦东", a short new question is asked of every document, not refused again).
        return f"{carried[0]} {core}", 0
    return question, 0


def _reads_as_follow_up(question: str) -> bool:
    return (
        bool(_LEAD.match(question))
        or question.rstrip("?？。!！ ").endswith("呢")
        or (len(question) <= SHORT_FOLLOW_UP_CHARS)
    )


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
