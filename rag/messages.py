"""What the answer says to the user, in plain Chinese: refusals, partial answers and suggested questions.

Messages state what the documents do or do not say; they never add a fact (no phone number, address or
fee that is not in a clause). Suggestions are whole questions a resident could send, made from the
headings of related clauses, never a cut-off heading or a document title.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence

from corpus.models import KIND_CLAUSE, KIND_INDICATOR, KIND_PROJECT, Clause, DocumentMeta
from corpus.numbering import match_numbering
from rag.coverage import CoverageScorer, covers
from rag.detail import DetailType

NOT_FOUND = "抱歉，没有在收录的政策文件中找到与您的问题直接相关的条款。"
BAD_REFERENCE = "没有找到您引用的文件或条款，请核对文件名称、发文字号和条款编号。"
END_OF_DOCUMENT = "这已经是该文件的最后（或第一）条了。"
RELATED_FOLLOW = "以下是相关条款，供参考："

# Questions shown when nothing close was found (and as WeChat's examples): each is answered by the corpus.
EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "渝中区托育服务要达到什么目标？",
    "广西如何推进城市公共空间适儿化改造？",
    "长宁区公共场所母婴室建设有什么要求？",
    "大渡口区家庭教育指导服务有哪些措施？",
)

# How a partial answer names the detail it lacks; "{topic}" is the subject the question asked about.
_DETAIL_PHRASES = {
    "fee": "{topic}的具体收费或金额",
    "free": "{topic}是否收费",
    "hours": "{topic}的开放时间",
    "frequency": "{topic}的具体频次",
    "duration": "{topic}的具体天数或时长",
    "date": "{topic}的具体时间",
    "day": "{topic}的具体日期",
    "month": "{topic}在哪个月份",
    "address": "{topic}的具体地址",
    "contact": "{topic}的联系电话或联系方式",
    "procedure": "{topic}的办理流程或所需材料",
    "list": "{topic}的具体名单",
    "place": "{topic}的具体地点或地址",
    "measure": "{topic}的具体尺寸或身高",
    "eligibility": "{topic}的适用条件或年龄",
    "agency": "负责{topic}的具体部门",
    "number": "{topic}的具体数量",
    "service": "{topic}关于“{term}”的安排",
}
TOPIC_MAX_CHARS = 14
SUGGESTION_TOPIC_MAX_CHARS = 16
MAX_SUGGESTIONS = 3
# Policy verbs that open a heading ("全面推进社区托育“宝宝屋”建设"); the topic is what follows them.
_LEADING_VERBS = re.compile(
    r"^(?:(?:全面|持续|大力|积极|深入|进一步|不断|加快|着力|统筹|切实|扎实|稳步|有序|广泛|创新|强化|"
    r"推进|推动|加强|完善|健全|实施|开展|提升|提高|建设|建立|优化|落实|深化|构建|打造|促进|保障|"
    r"丰富|拓展|扩大|营造|培育|发展|规范|支持|鼓励|坚持|增强|巩固|关爱|关注|做好|办好|抓好|呵护)\s*)+"
)
_HEADING_TAIL = re.compile(r"[，,。；;：:].*$", re.S)


def partial_message(detail: DetailType, topic: str, issuer: str, term: str = "") -> str:
    """Return the plain sentence of a partial answer: what the documents do not state, then the lead-in.

    `term` is what the question asked for in its own words (管饭), named for services."""
    topic = topic or "这方面"
    phrase = _DETAIL_PHRASES.get(detail.name, "{topic}的" + detail.label).format(topic=topic, term=term)
    head = f"收录的政策文件没有写明{phrase}。"
    ask = f"具体情况可向文件发布单位（{issuer}）咨询。" if issuer else ""
    return head + ask + RELATED_FOLLOW


def partial_answer_message(
    detail: DetailType,
    asked: str,
    question: str,
    coverage: CoverageScorer,
    related_tokens: Collection[str],
    issuer: str,
    related_text: str = "",
) -> str:
    """Return the message of a partial answer to `question`: `asked` (the question without the words that
    ask for the detail) names the topic, as typed, by the words the related clauses cover — as words, or
    as text (屋 of 宝宝屋, which the clauses hold as one word) in `related_text` (normalised)."""
    words = coverage.topic_words(asked)
    covered = [w for w in words if covers(related_tokens, w) or (len(w) > 1 and w in related_text)]
    topic = question_topic(asked, words, coverage.weight, covered)
    if topic and related_text:
        # jieba may cut a document's term across words (宝宝屋有 -> 宝宝 屋有): name the whole term, as
        # far as the question's text goes on as the clauses' text does.
        start = asked.find(topic)
        end = start + len(topic)
        while (
            start >= 0
            and end < len(asked)
            and asked[end].isalnum()  # a term ends at punctuation (“有义方·家庭教育成长营”)
            and asked[start : end + 1].lower() in related_text
        ):
            end += 1
        topic = asked[start:end] if start >= 0 else topic
    return partial_message(detail, topic, issuer, detail.asked_term(question))


def inside_region_message(inside: Sequence[tuple[str, str]]) -> str:
    """Return the note on an answer about a place inside a covered region (南宁市 in 广西壮族自治区)."""
    regions = list(dict.fromkeys(region for _, region in inside))
    places = "、".join(dict.fromkeys(place for place, _ in inside))
    return f"{places}属于{'、'.join(regions)}，以下是{'、'.join(regions)}的政策原文。"


def uncovered_place_message(places: Sequence[str], covered_regions: Sequence[str]) -> str:
    """Return the refusal for a place the corpus does not cover, naming the places it does."""
    return (
        f"目前收录的政策文件不涉及{'、'.join(places)}。"
        f"本库覆盖的地区有：{'、'.join(covered_regions)}。您可以问这些地区的相关政策。"
    )


def question_topic(
    question: str, words: Sequence[str], weight: Callable[[str], float], covered: Collection[str] = ()
) -> str:
    """Return the subject of the question as typed: the run of adjacent topic words (joined directly or
    by 的) that carries the most weight of the words the related clauses cover, trimmed to start and end
    with such a word (托育补贴怎么申请 -> 托育补贴; 宝宝屋收费吗 -> 宝宝屋); '' when there is none."""
    covered = set(covered) if covered else set(words)
    runs: list[list[tuple[str, int]]] = []
    position = 0
    folded = question.lower()  # the tokenizer lower-cases Latin letters (HPV -> hpv)
    for word in words:
        found = folded.find(word, position)
        if found < 0:
            continue
        if runs and question[runs[-1][-1][1] + len(runs[-1][-1][0]) : found] in ("", "的"):
            runs[-1].append((word, found))
        else:
            runs.append([(word, found)])
        position = found + len(word)
    best: tuple[float, str] = (0.0, "")
    for run in runs:
        kept = [i for i, (w, _) in enumerate(run) if w in covered]
        if not kept:
            continue
        first, last = run[kept[0]], run[kept[-1]]
        score = sum(weight(run[i][0]) for i in kept)
        text = question[first[1] : last[1] + len(last[0])].strip()
        if score > best[0]:
            best = (score, text)
    topic = best[1]
    return topic if len(topic) <= TOPIC_MAX_CHARS else topic[:TOPIC_MAX_CHARS].rstrip("的")


def suggest_questions(
    clauses: Iterable[Clause], documents: dict[str, DocumentMeta], exclude: str = ""
) -> tuple[str, ...]:
    """Return up to three whole questions about the clauses' topics ("长宁区在社区托育“宝宝屋”建设方面
    有什么政策？"), made from their headings; clauses without a short, clean heading are skipped."""
    questions: list[str] = []
    for clause in clauses:
        topic = heading_topic(clause)
        if not topic:
            continue
        doc = documents.get(clause.doc_id)
        region = doc.region if doc and doc.region else ""
        question = f"{region}在{topic}方面有什么政策？"
        if question != exclude and question not in questions:
            questions.append(question)
        if len(questions) >= MAX_SUGGESTIONS:
            break
    return tuple(questions)


def suggestions_for(
    clauses: Iterable[Clause], documents: dict[str, DocumentMeta], exclude: str = ""
) -> tuple[str, ...]:
    """Return questions about the clauses' topics (`suggest_questions`), else the example questions."""
    return suggest_questions(clauses, documents, exclude) or EXAMPLE_QUESTIONS[:MAX_SUGGESTIONS]


def heading_topic(clause: Clause) -> str:
    """Return the topic a clause's heading names, without its number and leading verbs, or ''."""
    if clause.kind == KIND_INDICATOR:
        name = clause.fields.get("indicator", "")
        return name if 2 <= len(name) <= SUGGESTION_TOPIC_MAX_CHARS else ""
    if clause.kind not in (KIND_CLAUSE, KIND_PROJECT):
        return ""
    heading = clause.text.strip().splitlines()[0] if clause.text.strip() else ""
    numbered = match_numbering(heading)
    if numbered is not None:
        heading = numbered.rest
    heading = _HEADING_TAIL.sub("", heading).strip()
    topic = _LEADING_VERBS.sub("", heading).strip("“”\"' ")
    if not 2 <= len(topic) <= SUGGESTION_TOPIC_MAX_CHARS or topic.count("“") != topic.count("”"):
        return ""
    return topic
