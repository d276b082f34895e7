"""Properties over arbitrary input: parser and tokenizer never raise; /api/v1/ask never answers 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from config import Settings
from corpus.parse import parse_text
from rag.engine import Engine

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text with a bias towards what policy documents and questions are made of.
POLICY_CHARS = st.sampled_from(
    list("一二三四五六七八九十（）()、．.：:；;，。第条章节款专栏序号\t\n\r 　—①⑴〔〕号渝中长宁广西托育儿童")
)
# Text a JSON body can carry as UTF-8 (a lone surrogate can only come as a \ud800 escape: tested in
# tests/api/test_api.py).
_UNICODE = st.characters(exclude_categories=["Cs"])
TEXT = st.one_of(
    st.text(_UNICODE, max_size=400), st.text(POLICY_CHARS, max_size=400), st.text(_UNICODE, max_size=60)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@EXAMPLES
@given(text=TEXT)
def test_parser_never_raises(text: str) -> None:
    document = parse_text(text, "prop-doc")
    for clause in document.clauses:
        assert clause.doc_id == "prop-doc" and isinstance(clause.text, str)


@EXAMPLES
@given(text=TEXT)
def test_tokenizer_never_raises(engine: Engine, text: str) -> None:
    tokens = engine.index.tokenizer(text)
    assert all(isinstance(t, str) and t.strip() for t in tokens)


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)) as test_client:
        yield test_client


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body["detail"], str) and body["detail"]
    else:
        assert body["status"] in ("found", "not_found")


@EXAMPLES
@given(question=TEXT, session=st.none() | st.text(max_size=80))
def test_ask_with_any_question_is_never_5xx(client: TestClient, question: str, session: str | None) -> None:
    _check(client.post("/api/v1/ask", json={"question": question, "session_id": session}))


@EXAMPLES
@given(body=JSON_VALUES | st.fixed_dictionaries({"question": JSON_VALUES}))
def test_ask_with_any_json_is_never_5xx(client: TestClient, body: Any) -> None:
    _check(client.post("/api/v1/ask", content=json.dumps(body), headers={"content-type": "application/json"}))


@EXAMPLES
@given(raw=st.binary(max_size=300))
def test_ask_with_any_bytes_is_never_5xx(client: TestClient, raw: bytes) -> None:
    _check(client.post("/api/v1/ask", content=raw, headers={"content-type": "application/json"}))
