"""Sentences of a clause with their character offsets, and the sentence(s) that answer a question.

A found answer leads with the sentence that says what was asked, verbatim, and the whole clause follows.
The answering sentence is chosen by the question's topic words it covers (idf-weighted), whether it
states the detail asked for (a sum in 元 for "多少钱"), and it prefers the body over the clause's own
heading. Offsets index `clause.text`, so `text[start:end]` is the sentence exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from corpus.models import KIND_INDICATOR, Clause
from corpus.sentences import sentence_spans
from rag.coverage import covers
from rag.detail import DetailType, states_detail
from rag.models import Span

# An answering sentence shorter than this is a heading or a fragment; its neighbour is shown with it.
MIN_ANSWER_CHARS = 12
# A second sentence is shown when it is nearly as good as the best one and the takeaway stays short
# enough to read at a glance on a phone (about three lines).
SECOND_SENTENCE_RATIO = 0.8
TAKEAWAY_MAX_CHARS = 90
# A clause's own heading counts for this share of its score when choosing the answering sentence.
HEADING_WEIGHT = 0.5
HEADING_MAX_CHARS = 40


@dataclass(frozen=True)
class Sentence:
    """One sentence of a clause: where it is, and its tokens (for matching question words)."""

    start: int
    end: int
    text: str
    tokens: frozenset[str]


def split_sentences(text: str, tokenize: Callable[[str], list[str]]) -> tuple[Sentence, ...]:
    """Return the sentences of `text` with their tokens."""
    return tuple(
        Sentence(start, end, text[start:end], frozenset(tokenize(text[start:end])))
        for start, end in sentence_spans(text)
    )


def sentence_score(
    sentence: Sentence, words: Sequence[str], weight: Callable[[str], float], detail: DetailType | None
) -> float:
    """The idf weight of the question's topic words in the sentence, doubled when it states the detail."""
    score = sum(weight(w) for w in words if covers(sentence.tokens, w))
    if score and detail is not None and states_detail(detail, sentence.text):
        score *= 2.0
    return score


def is_heading_sentence(clause: Clause, sentence: Sentence) -> bool:
    """True when the sentence is the clause's own numbered heading ("(17)加快婴幼儿照护服务发展。")."""
    number = (clause.number or "").strip()
    return (
        bool(number)
        and sentence.start <= len(clause.text) - len(clause.text.lstrip()) + 1
        and (sentence.text.startswith(number) and len(sentence.text) <= HEADING_MAX_CHARS)
    )


def answering_sentences(
    clause: Clause,
    sentences: Sequence[Sentence],
    words: Sequence[str],
    weight: Callable[[str], float],
    detail: DetailType | None = None,
) -> tuple[Span, ...]:
    """Return the sentence(s) of the clause that answer the question, verbatim with offsets.

    A table row is one record: the whole row answers. Otherwise the best-scoring sentence, with the
    next one when the best is a bare heading or fragment, and a second good sentence when it is
    nearly as good. Empty when no sentence shares a word with the question.
    """
    text = clause.text
    if clause.kind == KIND_INDICATOR or len(sentences) <= 1:
        stripped = text.strip()
        if not stripped:
            return ()
        start = text.index(stripped)
        return (Span(stripped, start, start + len(stripped)),)
    scores = [sentence_score(s, words, weight, detail) for s in sentences]
    # The clause's own heading ("(20)全面推进社区托育“宝宝屋”建设。") names the topic; the body answers.
    if scores[0] and is_heading_sentence(clause, sentences[0]):
        scores[0] *= HEADING_WEIGHT
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    if not scores[best]:
        return ()
    chosen = {best}
    if len(sentences[best].text) < MIN_ANSWER_CHARS and best + 1 < len(sentences):
        chosen.add(best + 1)
    runner_up = max(
        (i for i in range(len(sentences)) if i not in chosen), key=lambda i: (scores[i], -i), default=None
    )
    shown = sum(len(sentences[i].text) for i in chosen)
    if (
        runner_up is not None
        and scores[runner_up] >= SECOND_SENTENCE_RATIO * scores[best]
        and shown + len(sentences[runner_up].text) <= TAKEAWAY_MAX_CHARS
    ):
        chosen.add(runner_up)
    return tuple(Span(sentences[i].text, sentences[i].start, sentences[i].end) for i in sorted(chosen))


def highlight_sentences(
    sentences: Sequence[Sentence], query_tokens: Collection[str], limit: int = 2
) -> tuple[str, ...]:
    """Return up to `limit` sentences sharing the most query tokens, in text order (the `highlights`)."""
    if not query_tokens:
        return ()
    scored = []
    for position, sentence in enumerate(sentences):
        overlap = len(set(query_tokens) & sentence.tokens)
        if overlap:
            scored.append((overlap, position, sentence.text))
    top = sorted(scored, key=lambda s: (-s[0], s[1]))[:limit]
    return tuple(s for _, _, s in sorted(top, key=lambda s: s[1]))
