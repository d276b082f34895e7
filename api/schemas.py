"""Request and response schemas of the JSON API, split by direction.

Request models state what the server enforces, so that a client generated from /openapi.json (or
schemathesis) can trust it: lengths, patterns, strict types (`0` is not a boolean, `"5"` not an
integer), closed objects. Question text follows the character rule of rag/normalize.py; its `maxLength`
is the configured POLICYQA_MAX_QUESTION_CHARS, published per app by `api.openapi`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from corpus.extract import DOC_ID_PATTERN
from rag.normalize import BIDI_CHARS, CONTROL_CHARS, INVISIBLE_CHARS, WHITESPACE_CHARS

MAX_SESSION_ID = 64
MAX_TOP_K = 50
DEFAULT_MAX_QUESTION_CHARS = 500  # config's default; the app publishes the configured value
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"

# Question text: no refused character anywhere, and at least one character that is neither whitespace
# nor invisible (what is left once those are removed must not be empty). Lone surrogates are refused
# too (422), but a JSON Schema string cannot hold one, so the pattern does not name them.
_REFUSED = CONTROL_CHARS + BIDI_CHARS
USER_TEXT_PATTERN = f"^[^{_REFUSED}]*[^{_REFUSED}{INVISIBLE_CHARS}{WHITESPACE_CHARS}][^{_REFUSED}]*$"
# (component, property) of every question field, whose maxLength the app sets from its settings.
QUESTION_FIELDS = (("AskRequest", "question"), ("SearchRequest", "query"))


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0; text ("5") and booleans are not numbers and stay refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _user_text(max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> dict[str, Any]:
    return {"minLength": 1, "maxLength": max_chars, "pattern": USER_TEXT_PATTERN}


class AskRequest(BaseModel):
    """POST /api/v1/ask."""

    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(
        ...,
        description="用户的问题。控制字符、改变文字方向的字符（如 U+202E）会被拒绝（422）；"
        "零宽空格等不可见字符会被删除；去掉空白后不能为空。",
        examples=["渝中区托育服务有什么政策？"],
        json_schema_extra=_user_text(),
    )
    session_id: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_SESSION_ID,
        pattern=SESSION_ID_PATTERN,
        description="上一次回答返回的 session_id，用于追问",
    )


class SearchRequest(BaseModel):
    """POST /api/v1/search."""

    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(..., examples=["长宁区行动计划第(20)条"], json_schema_extra=_user_text())
    top_k: WholeNumber = Field(5, ge=1, le=MAX_TOP_K)
    mode: Literal["hybrid", "bm25", "vector"] = "hybrid"
    doc_id: str | None = Field(None, max_length=128, description="只在这个文件中查找")
    region: str | None = Field(None, max_length=32, description="只在这个地区的文件中查找")
    include_superseded: bool = True


class ValidationErrorItem(BaseModel):
    """Where a request failed validation, and pydantic's error type."""

    loc: list[str | int]
    type: str
    msg: str


class ErrorResponse(BaseModel):
    """Every 4xx body: a clear message (Chinese) and, for validation errors, where."""

    detail: str
    errors: list[ValidationErrorItem] | None = None


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


# --- admin ------------------------------------------------------------------------------------------

MAX_DOC_ID = 80
MAX_FILENAME = 255
# Standard base64 with its padding; whitespace is not accepted (the server decodes with validate=True).
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
FORM_BOOLEANS = ("true", "false")  # multipart fields are text: these two spellings, nothing else


class DocumentUpload(BaseModel):
    """JSON form of an upload: the file name (its suffix gives the format) and the bytes in base64."""

    model_config = ConfigDict(extra="forbid", strict=True)

    filename: str = Field(min_length=1, max_length=MAX_FILENAME, description="文件名，后缀决定格式")
    content_base64: str = Field(min_length=1, pattern=BASE64_PATTERN, description="文件内容（Base64）")
    id: str | None = Field(
        None, max_length=MAX_DOC_ID, pattern=DOC_ID_PATTERN.pattern, description="文件编号；默认取文件名"
    )
    dry_run: bool = Field(False, description="只解析并返回目录，不修改索引")


def _exactly_one_status(schema: dict[str, Any]) -> None:
    # What the validator below enforces, stated for clients: one key, with a usable value.
    schema["properties"] = {
        "superseded_by": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_DOC_ID,
            "description": "被哪个已收录的文件取代（文件编号）",
        },
        "repealed": {"const": True, "description": "已废止（失效）"},
        "in_force": {"const": True, "description": "恢复为有效"},
    }
    schema["oneOf"] = [{"required": [name]} for name in ("superseded_by", "repealed", "in_force")]
    schema["minProperties"] = schema["maxProperties"] = 1


class StatusChange(BaseModel):
    """Exactly one of: `{"superseded_by": id}`, `{"repealed": true}`, `{"in_force": true}`."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_exactly_one_status)

    superseded_by: str | None = Field(None, min_length=1, max_length=MAX_DOC_ID)
    repealed: Literal[True] | None = None
    in_force: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> StatusChange:
        given = self.model_fields_set
        if len(given) != 1 or getattr(self, next(iter(given))) is None:
            raise PydanticCustomError(
                "status_choice", "give exactly one of superseded_by, repealed: true, in_force: true"
            )
        return self


class IndexReport(BaseModel):
    """What an index change did (index/update.py's report)."""

    model_config = ConfigDict(extra="allow")
    index_dir: str
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    removed: list[str]
    status_changed: list[str]
    clause_count: int
    document_count: int
    written: bool


class DocumentChangeResponse(BaseModel):
    """POST /api/v1/admin/documents: the parsed outline and metadata, and (unless a dry run) the change."""

    status: Literal["dry_run", "added", "replaced", "unchanged"]
    id: str
    format: str
    doc: dict[str, Any]
    outline: str
    clause_count: int
    dropped_lines: int
    index: IndexReport | None = None


class DocumentRemovedResponse(BaseModel):
    """DELETE /api/v1/admin/documents/{id}."""

    status: Literal["removed"]
    id: str
    index: IndexReport


class StatusChangedResponse(BaseModel):
    """POST /api/v1/admin/documents/{id}/status: the document's new metadata."""

    status: Literal["updated"]
    doc: dict[str, Any]


class IndexSummary(BaseModel):
    """An index being served: when it was built, from which corpus, how big."""

    corpus_checksum: str
    created_at: str
    clauses: int
    documents: int
    retrievers: list[str]


class ReloadResponse(BaseModel):
    """POST /api/v1/admin/reload."""

    status: Literal["reloaded"]
    index: str
    seconds: float
    previous: IndexSummary
    current: IndexSummary
    warnings: list[str]
