"""Raw policy text -> document tree -> clauses with number, section path and source span.

The tree is built in one pass over blocks (numbered lines, 专栏 boxes, tables, project items and
unnumbered paragraphs). A numbering style already open on the stack closes everything below it;
a style not seen yet opens a deeper level, so each document's own nesting order is learnt as it is
read. Clause text is always the exact slice of source lines of its span (lines joined by "\\n"),
except indicator-table rows, which render their cells as one readable line.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from corpus.clean import REASON_METADATA, classify_lines
from corpus.docnumber import normalize_doc_number
from corpus.metadata import PreambleFacts, extract_meta, notice_parts, parse_date
from corpus.models import (
    KIND_CLAUSE,
    KIND_HEADING,
    KIND_INDICATOR,
    KIND_PREAMBLE,
    KIND_PROJECT,
    Clause,
    Document,
    DroppedLine,
)
from corpus.numbering import (
    LEGAL_RANK,
    STYLE_BOX,
    STYLE_DASH,
    Numbering,
    first_sentence_length,
    format_number,
    match_numbering,
    split_glued_heading,
    split_heading,
)
from corpus.sentences import ends_sentence
from corpus.tables import Table, match_project, parse_table, unit_fields
from corpus.text import compact

_ID_HASH_CHARS = 10
_LOST_HEADING_MAX = 30  # characters of a standalone line that can be a heading printed without number
_TITLE_LINE_MAX = 60
_MIN_WRAPPED_LINE = 15  # a line broken by page width is long; a short unpunctuated line is a heading
_SHORT_TITLE = 25  # a heading sentence "加强组织领导。" is at most this long
_TITLED_SHARE = 0.6  # share of titled siblings above which an untitled sibling is split by lexicon
_HEADING_STYLES_FOR_BODY = ("cn_comma", "cn_paren", "arabic_dot", "arabic_paren", *LEGAL_RANK)


def parse_document(path: Path, doc_id: str | None = None) -> Document:
    """Parse one source file; the doc id defaults to the file stem."""
    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    return _parse(text, doc_id or path.stem, path.name, hashlib.sha256(data).hexdigest())


def parse_text(text: str, doc_id: str, source_file: str = "") -> Document:
    """Parse policy text given as a string (line numbers count from 1 in `text`)."""
    # A Python string may hold lone surrogates, which no decoded file does: they become U+FFFD.
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return _parse(text, doc_id, source_file, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _parse(text: str, doc_id: str, source_file: str, checksum: str) -> Document:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    body_start = _first_heading(lines)
    dropped = classify_lines(lines, body_start)
    builder = _Builder(doc_id, lines, dropped)
    facts = builder.preamble(0, body_start if body_start is not None else len(lines))
    if body_start is not None:
        builder.body(body_start)
    clauses = builder.finish()
    metadata_lines = sorted(i for i, reason in dropped.items() if reason == REASON_METADATA)
    meta = extract_meta(doc_id, lines, metadata_lines, facts, source_file, checksum)
    dropped_lines = tuple(DroppedLine(i + 1, lines[i], dropped[i]) for i in sorted(dropped))
    return Document(meta=meta, clauses=clauses, dropped=dropped_lines)


def _first_heading(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        numbering = match_numbering(line)
        if numbering and numbering.style in _HEADING_STYLES_FOR_BODY and numbering.separated:
            return index
    return None


@dataclass(eq=False)
class _Entry:
    """An open heading on the stack."""

    style: str
    value: int | None
    printed: str | None
    title: str
    parent: _Entry | None = None
    draft: _Draft | None = None
    rest: str = ""
    inline_body: bool = False
    has_children: bool = False
    last_child: dict[str, int] = field(default_factory=dict)
    last_printed: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class _Draft:
    """A clause being built; `start`/`end` are 0-based inclusive line indexes."""

    start: int
    end: int
    number: str | None
    path: tuple[_Entry, ...]
    kind: str
    fields: dict[str, str] = field(default_factory=dict)
    entry: _Entry | None = None
    has_body: bool = False
    rendered: str | None = None
    title_path: tuple[str, ...] | None = None  # fixed path for preamble clauses


@dataclass(frozen=True)
class _Block:
    kind: str  # numbered | box | table | project | para
    first: int
    last: int
    numbering: Numbering | None = None
    table: Table | None = None


class _Builder:
    def __init__(self, doc_id: str, lines: list[str], dropped: dict[int, str]) -> None:
        self.doc_id = doc_id
        self.lines = lines
        self.dropped = dropped
        self._dropped_sorted = sorted(dropped)
        self.drafts: list[_Draft] = []
        self.root = _Entry("root", None, None, "")
        self.stack: list[_Entry] = [self.root]

    # ---- helpers -------------------------------------------------------------------------
    def _is_content(self, index: int) -> bool:
        return 0 <= index < len(self.lines) and bool(self.lines[index].strip()) and index not in self.dropped

    def _barrier(self, first: int, second: int) -> bool:
        """Whether a dropped line lies strictly between two line indexes."""
        position = bisect.bisect_right(self._dropped_sorted, first)
        return position < len(self._dropped_sorted) and self._dropped_sorted[position] < second

    def _continues(self, previous: int, index: int) -> bool:
        """Whether line `index` continues the paragraph of line `previous` (a PDF-style break)."""
        return (
            index == previous + 1
            and self._is_content(index)
            and not ends_sentence(self.lines[previous])
            and match_numbering(self.lines[index]) is None
        )

    def _path(self) -> tuple[_Entry, ...]:
        return tuple(self.stack[1:])

    def _add(self, draft: _Draft) -> _Draft:
        self.drafts.append(draft)
        return draft

    # ---- preamble ------------------------------------------------------------------------
    def preamble(self, start: int, end: int) -> PreambleFacts:
        """Split the text before the first numbered heading into title blocks, the 通知 and
        paragraphs; return what they state for the manifest."""
        content = [i for i in range(start, end) if self._is_content(i)]
        notice_title: tuple[str, int] | None = None
        doc_number: tuple[str, int] | None = None
        signature_issuer: tuple[str, int] | None = None
        signature_date: tuple[str, int] | None = None
        titles: list[tuple[str, int]] = []
        position = 0
        while position < len(content):
            index = content[position]
            key = compact(self.lines[index])
            if _is_addressee(key):
                group_end, issuer, date = self._notice_group(content, position)
                path = (notice_title[0],) if notice_title else ()
                self._add(_Draft(index, content[group_end - 1], None, (), KIND_PREAMBLE, title_path=path))
                signature_issuer = signature_issuer or issuer
                signature_date = signature_date or date
                position = group_end
                continue
            if _is_title_line(key) or normalize_doc_number(key):
                group = [index]
                position += 1
                while position < len(content):
                    nxt = content[position]
                    nxt_key = compact(self.lines[nxt])
                    if self._barrier(group[-1], nxt) or _is_addressee(nxt_key) or not _is_title_line(nxt_key):
                        break
                    group.append(nxt)
                    position += 1
                self._add(_Draft(group[0], group[-1], None, (), KIND_HEADING, title_path=()))
                text_lines = [i for i in group if not normalize_doc_number(self.lines[i])]
                for i in group:
                    if normalize_doc_number(self.lines[i]) and doc_number is None:
                        doc_number = (self.lines[i].strip(), i + 1)
                if not text_lines:
                    continue
                joined = "".join(self.lines[i].strip() for i in text_lines)
                if notice_title is None and notice_parts(joined):
                    notice_title = (joined, text_lines[0] + 1)
                else:
                    titles.append((joined, text_lines[0] + 1))
                continue
            last = index
            while position + 1 < len(content) and self._continues(last, content[position + 1]):
                position += 1
                last = content[position]
            self._add(_Draft(index, last, None, (), KIND_PREAMBLE, title_path=()))
            position += 1
        return PreambleFacts(notice_title, signature_issuer, signature_date, doc_number, tuple(titles))

    def _notice_group(
        self, content: list[int], position: int
    ) -> tuple[int, tuple[str, int] | None, tuple[str, int] | None]:
        """The 通知 body: addressee line to the signature date and an optional （此件…公开） note."""
        issuer: tuple[str, int] | None = None
        date: tuple[str, int] | None = None
        cursor = position
        while cursor < len(content):
            index = content[cursor]
            key = compact(self.lines[index])
            if cursor > position and self._barrier(content[cursor - 1], index):
                break
            if date is not None:
                if key.startswith(("(", "（")) and "公开" in key:
                    cursor += 1
                break
            if _is_date_line(key):
                date = (self.lines[index].strip(), index + 1)
                previous = compact(self.lines[content[cursor - 1]]) if cursor > position else ""
                if previous and len(previous) <= 30 and not any(p in previous for p in "，,。:："):
                    issuer = (previous, content[cursor - 1] + 1)
            cursor += 1
        return cursor, issuer, date

    # ---- body ----------------------------------------------------------------------------
    def body(self, start: int) -> None:
        blocks = self._blocks(start)
        consumed: set[int] = set()
        for position, block in enumerate(blocks):
            if position in consumed:
                continue
            if block.kind == "numbered":
                self._numbered(block)
            elif block.kind == "box":
                self._box(block)
            elif block.kind == "table":
                self._table(block)
            elif block.kind == "project":
                self._project(blocks, position, consumed)
            else:
                self._paragraph(blocks, position)
        self._refine_glued_titles()

    def _blocks(self, start: int) -> list[_Block]:
        blocks: list[_Block] = []
        last_value: dict[str, int] = {}
        index = start
        previous: int | None = None
        while index < len(self.lines):
            if not self._is_content(index):
                index += 1
                continue
            line = self.lines[index]
            numbering = match_numbering(line)
            if numbering and not self._accept_numbering(numbering, previous, index, last_value):
                numbering = None
            if numbering and numbering.style == STYLE_BOX:
                blocks.append(_Block("box", index, index, numbering))
                table = parse_table(self.lines, index + 1)
                previous = index
                if table is not None and table.rows:
                    blocks.append(_Block("table", index + 1, table.end - 1, table=table))
                    index = table.end
                    previous = table.end - 1
                else:
                    index += 1
                continue
            last = index
            while self._continues(last, last + 1):
                last += 1
            if numbering:
                if numbering.value is not None:
                    last_value[numbering.style] = numbering.value
                blocks.append(_Block("numbered", index, last, numbering))
            elif match_project(line):
                blocks.append(_Block("project", index, last))
            else:
                blocks.append(_Block("para", index, last))
            previous = last
            index = last + 1
        return blocks

    def _accept_numbering(
        self, numbering: Numbering, previous: int | None, index: int, last_value: dict[str, int]
    ) -> bool:
        """Reject a number that is really a cross-reference or a PDF line starting mid-sentence."""
        expected = numbering.value in (1, last_value.get(numbering.style, 0) + 1)
        if numbering.style in LEGAL_RANK and not numbering.separated and not expected:
            return False  # "第十三条规定的情形除外" at the start of a wrapped line
        return not (self._wrapped_before(previous, index) and numbering.style != STYLE_DASH and not expected)

    def _wrapped_before(self, previous: int | None, index: int) -> bool:
        """Whether line `index` directly follows a body line broken mid-sentence (PDF layout);
        a short heading line without final punctuation ("第三章　附则") does not count."""
        if previous is None or previous != index - 1 or ends_sentence(self.lines[previous]):
            return False
        before = match_numbering(self.lines[previous])
        if before is not None and not split_heading(self.lines[previous], before).inline_body:
            return len(compact(self.lines[previous])) > _TITLE_LINE_MAX
        return len(compact(self.lines[previous])) >= _MIN_WRAPPED_LINE

    def _numbered(self, block: _Block) -> None:
        numbering = block.numbering
        assert numbering is not None
        styles = [entry.style for entry in self.stack]
        if numbering.style in styles:
            del self.stack[styles.index(numbering.style) :]
        elif numbering.style in LEGAL_RANK:
            rank = LEGAL_RANK[numbering.style]
            keep = 1
            for position, entry in enumerate(self.stack):
                if entry.style in LEGAL_RANK and LEGAL_RANK[entry.style] < rank:
                    keep = position + 1
            del self.stack[keep:]
        line = self.lines[block.first]
        parts = split_heading(line, numbering)
        fields = {"heading": parts.title}
        if numbering.style == STYLE_DASH:
            fields["marker"] = numbering.printed
        entry = self._push(numbering.style, numbering.value, numbering.printed, parts.title)
        entry.rest, entry.inline_body = numbering.rest, parts.inline_body
        number = None if numbering.style == STYLE_DASH else numbering.printed
        draft = self._add(
            _Draft(block.first, block.last, number, self._path()[:-1], KIND_CLAUSE, fields, entry)
        )
        draft.has_body = block.last > block.first
        entry.draft = draft

    def _push(self, style: str, value: int | None, printed: str | None, title: str) -> _Entry:
        parent = self.stack[-1]
        parent.has_children = True
        if value is not None:
            parent.last_child[style] = value
        if printed is not None:
            parent.last_printed[style] = printed
        entry = _Entry(style, value, printed, title, parent=parent)
        self.stack.append(entry)
        return entry

    def _box(self, block: _Block) -> None:
        numbering = block.numbering
        assert numbering is not None
        styles = [entry.style for entry in self.stack]
        if STYLE_BOX in styles:
            del self.stack[styles.index(STYLE_BOX) :]
        else:
            # A box sits beside the items of a section, not inside the last item.
            while len(self.stack) > 2 and not self.stack[-1].has_children:
                self.stack.pop()
        title = self.lines[block.first].strip()
        entry = self._push(STYLE_BOX, numbering.value, numbering.printed, title)
        draft = self._add(
            _Draft(
                block.first,
                block.first,
                numbering.printed,
                self._path()[:-1],
                KIND_HEADING,
                {"heading": title},
                entry,
            )
        )
        entry.draft = draft

    def _table(self, block: _Block) -> None:
        table = block.table
        assert table is not None
        box = self.stack[-1]
        if box.draft is not None and box.style == STYLE_BOX:
            box.draft.end = max(box.draft.end, table.header_last)
            box.draft.fields["columns"] = " | ".join(table.header)
        box.has_children = True
        for row in table.rows:
            fields = dict(row.fields)
            if row.inherited_number:
                fields["sub_row"] = "true"
            self._add(
                _Draft(
                    row.first,
                    row.last,
                    row.fields.get("number"),
                    self._path(),
                    KIND_INDICATOR,
                    fields,
                    rendered=row.rendered,
                )
            )

    def _project(self, blocks: list[_Block], position: int, consumed: set[int]) -> None:
        block = blocks[position]
        styles = [entry.style for entry in self.stack]
        if STYLE_BOX not in styles:
            # Items printed before their box title: attach them to the next box if that box has
            # no items of its own.
            after = position + 1
            while after < len(blocks) and blocks[after].kind == "project":
                after += 1
            if (
                after < len(blocks)
                and blocks[after].kind == "box"
                and (after + 1 >= len(blocks) or blocks[after + 1].kind not in ("project", "table"))
            ):
                self._box(blocks[after])
                consumed.add(after)
                styles = [entry.style for entry in self.stack]
        if STYLE_BOX in styles:
            del self.stack[styles.index(STYLE_BOX) + 1 :]
            box = self.stack[-1]
            box.has_children = True
        text = "\n".join(self.lines[block.first : block.last + 1])
        name = match_project(self.lines[block.first]) or ""
        fields = {"name": name}
        if STYLE_BOX in styles:
            box = self.stack[-1]
            fields["box"] = box.printed or ""
            fields["box_title"] = box.title[len(box.printed or "") :].strip()
        fields.update(unit_fields(text))
        self._add(_Draft(block.first, block.last, None, self._path(), KIND_PROJECT, fields))

    def _paragraph(self, blocks: list[_Block], position: int) -> None:
        block = blocks[position]
        styles = [entry.style for entry in self.stack]
        if STYLE_BOX in styles:
            box_at = styles.index(STYLE_BOX)
            box = self.stack[box_at]
            if box.has_children or len(self.stack) > box_at + 1:
                del self.stack[box_at:]  # the box ended; this paragraph belongs to its section
        following = position
        while following < len(blocks) and blocks[following].kind == "para":
            following += 1
        nxt = blocks[following] if following < len(blocks) and blocks[following].kind == "numbered" else None
        if nxt is not None and self._lost_heading(block, nxt.numbering):
            return
        if nxt is not None and self._lost_item(block, nxt.numbering, following - position):
            return
        top = self.stack[-1]
        draft = top.draft
        if (
            draft is not None
            and self.drafts
            and self.drafts[-1] is draft
            and draft.kind in (KIND_CLAUSE, KIND_HEADING)
            and not self._barrier(draft.end, block.first)
        ):
            draft.end = block.last
            draft.has_body = True
            return
        self._add(_Draft(block.first, block.last, None, self._path(), KIND_CLAUSE))

    def _lost_heading(self, block: _Block, numbering: Numbering | None) -> bool:
        """A short standalone line before a list that restarts: a heading printed without its
        number (e.g. "依法落实儿童法律保护体系。" where "（七）" is missing)."""
        if numbering is None or numbering.value is None or block.first != block.last:
            return False
        text = self.lines[block.first].strip()
        key = compact(text)
        if (
            len(key) > _LOST_HEADING_MAX
            or any(mark in key[:-1] for mark in "，,；;：:。")
            or key.endswith(("：", ":"))
        ):
            return False
        for position in range(len(self.stack) - 1, 0, -1):
            owner = self.stack[position]
            last = owner.last_child.get(numbering.style)
            if last is None:
                continue
            if numbering.value > last:
                return False
            del self.stack[position:]
            value = (owner.value or 0) + 1
            inferred = format_number(owner.style, value, owner.printed)
            entry = self._push(owner.style, value, None, text)
            fields = {"heading": text, "inferred_number": inferred}
            entry.draft = self._add(
                _Draft(block.first, block.last, None, self._path()[:-1], KIND_CLAUSE, fields, entry)
            )
            return True
        return False

    def _lost_item(self, block: _Block, numbering: Numbering | None, count: int) -> bool:
        """Unnumbered paragraphs filling a gap in a list (1., 2., 3., ¶, 5.): each is the lost item."""
        if numbering is None or numbering.value is None:
            return False
        top = self.stack[-1]
        styles = [entry.style for entry in self.stack]
        if top is not self.root and top.style == numbering.style and top.value is not None:
            if numbering.value != top.value + count + 1:
                return False
            self.stack.pop()
            value, like = top.value + 1, top.printed
        elif numbering.style not in styles and numbering.style not in top.last_child:
            if top is self.root or count < 1 or numbering.value != count + 1:
                return False
            value, like = 1, numbering.printed
        else:
            return False
        text = self.lines[block.first].strip()
        fields = {"inferred_number": format_number(numbering.style, value, like)}
        head = text[: text.find("。") + 1] if "。" in text else ""
        if head and len(compact(head)) <= _SHORT_TITLE:
            fields["heading"] = head
        entry = self._push(numbering.style, value, None, fields.get("heading", text))
        entry.draft = self._add(
            _Draft(block.first, block.last, None, self._path()[:-1], KIND_CLAUSE, fields, entry)
        )
        entry.draft.has_body = True
        return True

    def _refine_glued_titles(self) -> None:
        """Settle the heading of items with inline body text by looking at their siblings.

        In a list of "X。body" items, an item whose first sentence is long has its heading glued
        to its body ("9.加强儿童健康保障体系建设关注生命早期…") and is split by lexicon; in a list of
        untitled items ("(1)将儿童友好城区建设纳入…") the heading is just the printed number.
        """
        groups: dict[tuple[int, str], list[_Entry]] = defaultdict(list)
        for draft in self.drafts:
            entry = draft.entry
            if entry is not None and entry.printed and entry.parent is not None and entry.style != STYLE_BOX:
                groups[(id(entry.parent), entry.style)].append(entry)
        for siblings in groups.values():
            inline = [e for e in siblings if e.inline_body]
            titled = [e for e in inline if first_sentence_length(e.rest) <= _SHORT_TITLE]
            share = len(titled) / len(inline) if inline else 0.0
            if inline and share < 1 - _TITLED_SHARE:
                # An untitled list: a lone one-sentence item has no heading either.
                inline += [
                    e
                    for e in siblings
                    if not e.inline_body and not e.has_children and e.draft and not e.draft.has_body
                ]
            for entry in inline:
                if entry in titled and share >= 1 - _TITLED_SHARE:
                    continue
                cut = split_glued_heading(entry.rest.lstrip()) if share >= _TITLED_SHARE else None
                if cut is not None and entry.draft is not None:
                    line = self.lines[entry.draft.start].strip()
                    lead = len(line) - len(entry.rest.lstrip())
                    entry.title = line[: lead + cut]
                elif entry.style not in LEGAL_RANK and entry.printed is not None:
                    entry.title = entry.printed
                if entry.draft is not None:
                    entry.draft.fields["heading"] = entry.title

    # ---- output --------------------------------------------------------------------------
    def finish(self) -> tuple[Clause, ...]:
        """Freeze drafts into clauses in reading order with stable content-derived ids."""
        clauses: list[Clause] = []
        seen: dict[str, int] = {}
        for draft in sorted(self.drafts, key=lambda d: (d.start, d.end)):
            text = draft.rendered or "\n".join(self.lines[draft.start : draft.end + 1])
            path = draft.title_path if draft.title_path is not None else tuple(e.title for e in draft.path)
            kind = draft.kind
            entry = draft.entry
            if (
                kind == KIND_CLAUSE
                and entry is not None
                and entry.has_children
                and not draft.has_body
                and not entry.inline_body
            ):
                kind = KIND_HEADING
            fields = dict(draft.fields)
            if kind == KIND_CLAUSE:
                fields.update({k: v for k, v in unit_fields(text).items() if k not in fields})
            digest = hashlib.sha1(f"{draft.number}\x1f{'/'.join(path)}\x1f{text}".encode()).hexdigest()
            clause_id = f"{self.doc_id}-{digest[:_ID_HASH_CHARS]}"
            seen[clause_id] = seen.get(clause_id, 0) + 1
            if seen[clause_id] > 1:
                clause_id = f"{clause_id}-{seen[clause_id]}"
            clauses.append(
                Clause(
                    id=clause_id,
                    doc_id=self.doc_id,
                    number=draft.number,
                    path=path,
                    text=text,
                    lines=(draft.start + 1, draft.end + 1),
                    kind=kind,
                    fields=fields,
                )
            )
        return tuple(clauses)


def _is_addressee(key: str) -> bool:
    # "区政府各部门、各管委会,各街道办事处,有关单位:" -- the 通知's recipients.
    return 4 <= len(key) <= 80 and key.endswith((":", "：")) and any(m in key for m in "，,、")


def _is_title_line(key: str) -> bool:
    return 0 < len(key) <= _TITLE_LINE_MAX and "。" not in key and not key.endswith((":", "："))


def _is_date_line(key: str) -> bool:
    return parse_date(key) is not None and len(key) <= 12
