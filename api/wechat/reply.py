"""Passive-reply texts: an Answer cut to fit WeChat's size limit, and the fixed channel messages.

A passive reply must stay under `MAX_REPLY_BYTES` UTF-8 bytes, envelope included; callers pass the bytes
left for the text (`max_bytes`) and every size here is measured as the text will sit inside CDATA.
The clause is quoted verbatim: it is only ever cut at a sentence end, with "……" marking what was left out.
"""

from __future__ import annotations

from urllib.parse import quote

from api.wechat.messages import escape_cdata
from corpus.sentences import CLOSING_MARKS, SENTENCE_ENDS
from rag.messages import EXAMPLE_QUESTIONS, NOT_FOUND
from rag.models import STATUS_FOUND, STATUS_PARTIAL, Answer, Hit

MAX_REPLY_BYTES = 2000  # the whole passive reply XML stays strictly below this
SOFT_BREAKS = "，、：；,;:"  # used only when a single sentence is longer than the whole budget
ELLIPSIS = "……"
CITATION_MAX_BYTES = 300
LINK_QUESTION_MAX_CHARS = 50  # longer questions are cut in the link; the chat page shows the full answer
MIN_EXCERPT_BYTES = 120  # below this, drop the question from the link to leave room for the clause

NOT_FOUND_MESSAGE = NOT_FOUND
WELCOME_MESSAGE = (
    "欢迎关注！这里可以查询儿童友好城市建设相关政策：直接发送文字或语音提问，"
    "我们会回复政策文件的原文条款，并注明文件名称和发文字号。"
)
UNSUPPORTED_MESSAGE = "目前只能回答文字或语音提问。请直接输入您想了解的政策问题。"
VOICE_UNRECOGNISED_MESSAGE = "抱歉，没能识别这条语音。请再说一遍，或直接输入文字提问。"
EMPTY_QUESTION_MESSAGE = "请输入您想了解的政策问题。"
BUSY_MESSAGE = "抱歉，系统暂时无法回答，请稍后再试。"


def content_bytes(text: str) -> int:
    """UTF-8 bytes `text` takes inside a CDATA section (after "]]>" splitting)."""
    return len(escape_cdata(text).encode("utf-8"))


def chat_link(public_url: str, question: str) -> str:
    """Return the chat-page link that shows the full answer: `<public_url>/?q=<question>`."""
    base = public_url.rstrip("/") + "/"
    question = question.strip()[:LINK_QUESTION_MAX_CHARS]
    return f"{base}?q={quote(question, safe='')}" if question else base


def short_citation(hit: Hit) -> str:
    """Return the hit's citation, or 《title》(doc number) when the full one is too long for a reply."""
    if hit.citation and content_bytes(hit.citation) <= CITATION_MAX_BYTES:
        return hit.citation
    title = hit.doc.title if hit.doc.title.startswith("《") else f"《{hit.doc.title}》"
    return cut_verbatim(title + (f"({hit.doc.doc_number})" if hit.doc.doc_number else ""), CITATION_MAX_BYTES)


def answer_text(answer: Answer, public_url: str, max_bytes: int) -> str:
    """Return the reply for an answer.

    found: the answering sentence(s) first, then the clause verbatim (cut to fit), its citation and a link
    to the chat page. partial: the plain "文件没有写明…" sentence first, then the most related clause with
    its citation. not_found: the refusal with nearby topics and example questions.
    """
    if answer.status not in (STATUS_FOUND, STATUS_PARTIAL) or not answer.hits:
        return not_found_text(answer, max_bytes)
    hit = answer.hits[0]
    question = answer.resolved_question or answer.question
    others = len(answer.hits) - 1
    if answer.status == STATUS_PARTIAL:
        lead = answer.message.strip() + "\n"
    else:
        lead = "".join(s.text for s in hit.answer_sentences)
        lead = lead + "\n\n条款原文：" if lead and lead.strip() != hit.clause.text.strip() else ""
        if answer.message.strip():  # whose plan is quoted (南宁市属于广西壮族自治区…)
            lead = answer.message.strip() + "\n" + lead
    for link in (chat_link(public_url, question), chat_link(public_url, "")):
        tail = f"\n\n出处：{short_citation(hit)}\n" + (f"另有{others}条相关条款，" if others else "")
        tail += f"完整回答：{link}"
        budget = max_bytes - content_bytes(tail)
        if budget - content_bytes(lead) >= MIN_EXCERPT_BYTES:
            break
    if lead and content_bytes(lead) + MIN_EXCERPT_BYTES <= budget:
        body = lead + clause_excerpt(hit, budget - content_bytes(lead))
    elif lead and answer.status == STATUS_PARTIAL:
        body = cut_verbatim(lead.strip(), budget)  # the plain "没有写明" sentence matters most
    else:
        body = clause_excerpt(hit, budget)
    return body + tail if body.strip() else cut_verbatim(tail.strip(), max_bytes)


def clause_excerpt(hit: Hit, max_bytes: int) -> str:
    """Return the clause text verbatim, cut at a sentence end to fit `max_bytes`.

    When the best-matching sentence (the hit's first highlight) would fall past the cut, the excerpt starts
    at that sentence instead, marked with a leading "……".
    """
    text = hit.clause.text.strip()
    excerpt = cut_verbatim(text, max_bytes)
    if excerpt == text or not hit.highlights:
        return excerpt
    kept = excerpt.removesuffix(ELLIPSIS)
    for highlight in hit.highlights:
        position = text.find(highlight.strip())
        if position < 0:
            continue
        if position + len(highlight.strip()) <= len(kept):
            return excerpt
        start = max((b for b in sentence_boundaries(text) if b <= position), default=0)
        rest = text[start:].lstrip()
        return ELLIPSIS + cut_verbatim(rest, max_bytes - content_bytes(ELLIPSIS)) if start else excerpt
    return excerpt


def sentence_boundaries(text: str) -> list[int]:
    """Return the indices where sentences end: after 。；！？ (and closing quotes), or at a line end."""
    ends: set[int] = set()
    for index, char in enumerate(text):
        if char in SENTENCE_ENDS:
            end = index + 1
            while end < len(text) and text[end] in CLOSING_MARKS:
                end += 1
            ends.add(end)
        elif char == "\n":
            ends.add(index)
    return sorted(e for e in ends if 0 < e <= len(text))


def cut_verbatim(text: str, max_bytes: int) -> str:
    """Return `text` if it fits `max_bytes`, else its longest prefix ending a sentence, plus "……".

    Falls back to a comma-like break, then to a character boundary, when even the first sentence is too long.
    """
    if content_bytes(text) <= max_bytes:
        return text
    room = max_bytes - content_bytes(ELLIPSIS)
    if room <= 0:
        return ""
    for end in reversed(sentence_boundaries(text)):
        prefix = text[:end].rstrip()
        if prefix and content_bytes(prefix) <= room:
            return prefix + ELLIPSIS
    soft = [i + 1 for i, char in enumerate(text) if char in SOFT_BREAKS]
    for end in reversed(soft):
        prefix = text[:end].rstrip()
        if prefix and content_bytes(prefix) <= room:
            return prefix + ELLIPSIS
    low, high = 0, len(text)
    while low < high:  # the longest character prefix that fits
        middle = (low + high + 1) // 2
        if content_bytes(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS if low else ""


def not_found_text(answer: Answer | None, max_bytes: int) -> str:
    """Return the refusal with nearby topics and example questions, as many as fit."""
    message = (answer.message.strip() if answer else "") or NOT_FOUND_MESSAGE
    text = cut_verbatim(message, max_bytes)
    if answer and answer.suggestions:
        topics = f"\n相近的主题：{'、'.join(answer.suggestions)}"
        if content_bytes(text + topics) <= max_bytes:
            text += topics
    return _with_examples(text, max_bytes)


def welcome_text(max_bytes: int = MAX_REPLY_BYTES) -> str:
    """Return the welcome message for new followers, with example questions."""
    return _with_examples(WELCOME_MESSAGE, max_bytes)


def unsupported_text(max_bytes: int = MAX_REPLY_BYTES) -> str:
    """Return the polite hint for images, locations, links and other messages we cannot answer."""
    return _with_examples(UNSUPPORTED_MESSAGE, max_bytes)


def voice_unrecognised_text() -> str:
    """Return the reply for a voice message without a speech-recognition result."""
    return VOICE_UNRECOGNISED_MESSAGE


def empty_question_text(max_bytes: int = MAX_REPLY_BYTES) -> str:
    """Return the reply for an empty (or whitespace-only) text message."""
    return _with_examples(EMPTY_QUESTION_MESSAGE, max_bytes)


def question_too_long_text(limit_chars: int) -> str:
    """Return the reply for a question longer than the configured limit."""
    return f"问题太长了，请控制在{limit_chars}字以内，例如：{EXAMPLE_QUESTIONS[0]}"


def busy_text() -> str:
    """Return the apology sent when answering failed."""
    return BUSY_MESSAGE


def _with_examples(text: str, max_bytes: int) -> str:
    lines = [text, "", "您可以这样问："]
    added = 0
    for number, question in enumerate(EXAMPLE_QUESTIONS, start=1):
        candidate = "\n".join([*lines, f"{number}. {question}"])
        if content_bytes(candidate) > max_bytes:
            break
        lines.append(f"{number}. {question}")
        added += 1
    return "\n".join(lines) if added else text
