"""A readable outline of a parsed document, for checking the parse by eye (`policyqa clauses --tree`)."""

from __future__ import annotations

from corpus.models import KIND_CLAUSE, Document
from corpus.text import compact

_SNIPPET_CHARS = 28


def format_tree(doc: Document) -> str:
    """Return the document's outline: one line per clause, indented by section depth, showing the
    heading or number, the line span, the kind when not a plain clause, and the start of the text."""
    meta = doc.meta
    facts = " · ".join(
        value for value in (meta.issuer, meta.doc_number, meta.date_written, meta.region, meta.type) if value
    )
    out = [f"{meta.id}  {meta.title}", f"  {facts}" if facts else "  (no metadata stated)"]
    for clause in doc.clauses:
        indent = "  " * (len(clause.path) + 1)
        label = clause.fields.get("heading") or clause.number or ""
        if "inferred_number" in clause.fields:
            label = f"[{clause.fields['inferred_number']}?] {label}"
        kind = "" if clause.kind == KIND_CLAUSE else f"<{clause.kind}> "
        snippet = compact(clause.text)
        if label and snippet.startswith(compact(label)):
            snippet = snippet[len(compact(label)) :]
        snippet = snippet[:_SNIPPET_CHARS] + ("…" if len(snippet) > _SNIPPET_CHARS else "")
        start, end = clause.lines
        span = f"L{start}" if start == end else f"L{start}-{end}"
        head = f"{label}  " if label else ""
        out.append(f"{indent}{kind}{head}[{span}] {snippet}".rstrip())
    if doc.dropped:
        reasons: dict[str, int] = {}
        for line in doc.dropped:
            reasons[line.reason] = reasons.get(line.reason, 0) + 1
        summary = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        out.append(f"  dropped lines: {summary}")
    return "\n".join(out)
