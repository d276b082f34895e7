"""Request and response schemas of the JSON API, split by direction."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_SESSION_ID = 64
MAX_TOP_K = 50


class AskRequest(BaseModel):
    """POST /api/v1/ask."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(..., description="用户的问题", examples=["渝中区托育服务有什么政策？"])
    session_id: str | None = Field(None, max_length=MAX_SESSION_ID, pattern=r"^[A-Za-z0-9_.:-]+$")


class SearchRequest(BaseModel):
    """POST /api/v1/search."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(..., examples=["长宁区行动计划第(20)条"])
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    mode: Literal["hybrid", "bm25", "vector"] = "hybrid"
    doc_id: str | None = Field(None, max_length=128)
    region: str | None = Field(None, max_length=32)
    include_superseded: bool = True


class SpanResponse(BaseModel):
    """A verbatim piece of a clause: `text == clause.text[start:end]`."""

    text: str
    start: int
    end: int


class DetailResponse(BaseModel):
    """The kind of detail a `partial` answer says the documents do not state."""

    type: str
    label: str


class CorrectionResponse(BaseModel):
    """A typo corrected in the question."""

    model_config = ConfigDict(populate_by_name=True)
    wrong: str = Field(..., alias="from")
    right: str = Field(..., alias="to")


class HitResponse(BaseModel):
    """One clause with provenance (the `hits` items)."""

    id: str
    doc_id: str
    number: str | None
    path: list[str]
    text: str
    lines: list[int]
    kind: str
    fields: dict[str, str]
    doc: dict[str, Any]
    score: float
    retrievers: list[str]
    citation: str
    highlights: list[str]
    answer_sentences: list[SpanResponse] = Field(
        default_factory=list, description="回答问题的原文句子及其在条款 text 中的字符位置"
    )
    role: Literal["answer", "related"] = Field(
        "answer", description="answer：条款回答了问题；related：相关条款（未写明所问细节）"
    )
    label: str = Field("", description="文件自身的编号方式，如“（二）第4项”“专栏一第34行”")


class AskResponse(BaseModel):
    """The `ask --json` object plus the session id."""

    status: Literal["found", "partial", "not_found"]
    question: str
    resolved_question: str
    hits: list[HitResponse]
    regions: list[str]
    message: str
    suggestions: list[str]
    retrievers: list[str]
    detail: DetailResponse | None = None
    corrections: list[CorrectionResponse] = Field(default_factory=list)
    rewrites: list[Literal["follow_up", "place", "typo"]] = Field(default_factory=list)
    session_id: str
    query_id: str | None = Field(None, description="本次提问的日志编号，用于反馈（未开启查询日志时为空）")


class SearchResponse(BaseModel):
    """The `search --json` object."""

    query: str
    hits: list[HitResponse]
    retrievers: list[str]


class DocumentSummary(BaseModel):
    """A document's metadata and clause count."""

    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    clause_count: int


class DocumentTree(BaseModel):
    """A document with its clauses in reading order and its outline."""

    doc: dict[str, Any]
    clauses: list[HitResponse]
    outline: list[dict[str, Any]]


class HealthResponse(BaseModel):
    """GET /health."""

    status: Literal["ok"]
    index_format: int | str
    corpus_checksum: str
    clauses: int
    documents: int
    retrievers: list[str]
    embed_model: str | None


class ErrorResponse(BaseModel):
    """Every 4xx body: a clear message (Chinese) and, for validation errors, where."""

    detail: str
    errors: list[dict[str, Any]] | None = None
