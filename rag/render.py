"""Readable plain-text rendering of answers and search results for the terminal."""

from __future__ import annotations

from rag.models import STATUS_FOUND, STATUS_PARTIAL, Answer, Hit, SearchResult


def render_hit(hit: Hit, rank: int) -> str:
    """Return one hit as: rank, citation, retrievers, then the clause text verbatim."""
    superseded = "" if hit.doc.in_force else "（该文件已失效或被替代）"
    head = f"[{rank}] {hit.citation}{superseded}  ({'+'.join(hit.retrievers)} {hit.score:.4f})"
    return f"{head}\n{hit.clause.text}"


def render_answer(answer: Answer) -> str:
    """Return the answer as text: found clauses with citations, or the refusal and suggestions."""
    lines = [f"问：{answer.question}"]
    if answer.rewrites:
        lines.append(f"（已按“{answer.resolved_question}”查找）")
    if answer.status == STATUS_FOUND:
        if answer.message:
            lines.append(answer.message)
        for rank, hit in enumerate(answer.hits, 1):
            if hit.answer_sentences:
                lines.append("答：" + "".join(s.text for s in hit.answer_sentences))
            lines.append(render_hit(hit, rank))
    elif answer.status == STATUS_PARTIAL:
        lines.append(answer.message)
        lines.extend("（相关条款）" + render_hit(hit, i) for i, hit in enumerate(answer.hits, 1))
    else:
        lines.append(answer.message)
        if answer.suggestions:
            lines.append("您可以试试：" + "；".join(answer.suggestions))
    lines.append(f"（检索方式：{'、'.join(answer.retrievers)}）")
    return "\n".join(lines)


def render_search(result: SearchResult) -> str:
    """Return search hits as text."""
    if not result.hits:
        return f"{result.query}: 没有找到相关条款"
    return "\n".join(render_hit(hit, i) for i, hit in enumerate(result.hits, 1))
