"""Records that leave the corpus stage: document metadata and clause-level chunks.

Every downstream stage (index, rag, api, eval) consumes these and nothing else from `corpus/`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Clause kinds. A "clause" is ordinary numbered or unnumbered policy text under a heading;
# table rows and 专栏 projects are kept apart so answers can render them differently.
KIND_CLAUSE = "clause"
KIND_PREAMBLE = "preamble"  # text before the first numbered heading (通知 body, 前言)
KIND_INDICATOR = "indicator"  # one row of a flattened indicator table (专栏一)
KIND_PROJECT = "project"  # one project of a 专栏 box
KIND_HEADING = "heading"  # a heading with no body of its own (kept so the outline is complete)

# Document statuses (有效性 of a 公文): staff mark a repealed document 失效; it is then no longer answered by
# default, staff search still finds it, and answers say so.
STATUS_IN_FORCE = "有效"
STATUS_REPEALED = "失效"


@dataclass(frozen=True)
class Relation:
    """A typed link between two documents, e.g. ("interprets", "yuzhong-plan")."""

    type: str
    target: str


@dataclass(frozen=True)
class DocumentMeta:
    """Metadata of one policy document; a value the text does not state is None.

    `evidence` maps a field name to the 1-based source line the value was read from, so tests
    and staff can see which values came from the text.
    """

    id: str
    title: str
    issuer: str | None = None
    doc_number: str | None = None
    date_written: str | None = None  # ISO yyyy-mm-dd
    date_published: str | None = None  # ISO yyyy-mm-dd
    region: str | None = None  # as printed: 渝中区, 大渡口区, 广西壮族自治区, 长宁区
    region_parents: tuple[str, ...] = ()  # enclosing places, outermost first: ("重庆市",)
    type: str | None = None  # 规划, 行动计划, 实施方案, 政策解读, ...
    relations: tuple[Relation, ...] = ()
    source_file: str = ""
    checksum: str = ""  # sha256 of the source bytes
    status: str = STATUS_IN_FORCE  # STATUS_IN_FORCE / STATUS_REPEALED
    superseded_by: str | None = None
    evidence: dict[str, int] = field(default_factory=dict, hash=False, compare=False)

    @property
    def in_force(self) -> bool:
        """Whether the document still applies: neither repealed (失效) nor superseded by another."""
        return self.status != STATUS_REPEALED and not self.superseded_by

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the `doc` field of clause output)."""
        data = asdict(self)
        data["region_parents"] = list(self.region_parents)
        data["relations"] = [asdict(r) for r in self.relations]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentMeta:
        """Inverse of `to_dict`."""
        values = dict(data)
        values["region_parents"] = tuple(values.get("region_parents", ()))
        values["relations"] = tuple(Relation(**r) for r in values.get("relations", ()))
        values["evidence"] = dict(values.get("evidence", {}))
        return cls(**values)


@dataclass(frozen=True)
class Clause:
    """One clause (条款): the unit we retrieve, quote verbatim and cite.

    `text` is exactly the source text of the clause (heading and body together, lines joined by
    "\\n"); `lines` is its 1-based inclusive span in the source file. `fields` carries structured
    cells for table rows and 专栏 projects (e.g. target, attribute, responsible unit).
    """

    id: str
    doc_id: str
    number: str | None
    path: tuple[str, ...]
    text: str
    lines: tuple[int, int]
    kind: str = KIND_CLAUSE
    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with the public clause fields."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "number": self.number,
            "path": list(self.path),
            "text": self.text,
            "lines": list(self.lines),
            "kind": self.kind,
            "fields": dict(self.fields),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clause:
        """Inverse of `to_dict`."""
        return cls(
            id=data["id"],
            doc_id=data["doc_id"],
            number=data.get("number"),
            path=tuple(data.get("path", ())),
            text=data["text"],
            lines=(int(data["lines"][0]), int(data["lines"][1])),
            kind=data.get("kind", KIND_CLAUSE),
            fields=dict(data.get("fields", {})),
        )


@dataclass(frozen=True)
class Document:
    """A parsed document: its metadata, its clauses in reading order, and what was dropped."""

    meta: DocumentMeta
    clauses: tuple[Clause, ...]
    dropped: tuple[DroppedLine, ...] = ()


@dataclass(frozen=True)
class DroppedLine:
    """A non-empty source line that is in no clause, with the reason (clutter, duplicate...)."""

    line: int
    text: str
    reason: str
