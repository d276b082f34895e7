"""Answer-type checks: a question that asks for an amount of a kind (money, days, a ratio) is only
answerable by a clause that states an amount of that kind. Policy plans often name a topic (托育补贴)
without its figure; quoting the topic's clause as if it answered "多少钱" would mislead."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class AmountKind:
    """A kind of quantity: how questions ask for it and how clauses state it."""

    name: str
    asked: re.Pattern[str]
    stated: re.Pattern[str]
    message: str


AMOUNT_KINDS = (
    AmountKind(
        "money",
        re.compile(
            r"多少钱|几块钱|多少元|收费|学费|工资|费用是多少|交多少|奖励多少|补贴多少|补多少|报销多少|一个月多少|每月多少"
        ),
        re.compile(r"\d[\d.,]*\s*(?:万|千|百)?元"),
        "收录的政策文件没有写明具体金额。",
    ),
    AmountKind(
        "days",
        re.compile(r"几天|多少天|多少日|几个月假|有几周"),
        re.compile(r"\d+\s*(?:天|日|周)|[一二三四五六七八九十]+\s*(?:天|日)"),
        "收录的政策文件没有写明具体天数。",
    ),
    AmountKind(
        "ratio",
        re.compile(r"比例是多少|报销比例|占比多少|百分之几"),
        re.compile(r"\d[\d.]*\s*%|百分之"),
        "收录的政策文件没有写明具体比例。",
    ),
)


def unmet_amount(question: str, clause_texts: list[str]) -> AmountKind | None:
    """Return the kind of amount the question asks for that none of the clauses states, if any."""
    for kind in AMOUNT_KINDS:
        if kind.asked.search(question) and not any(kind.stated.search(text) for text in clause_texts):
            return kind
    return None
