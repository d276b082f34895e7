"""The character rule for questions (rag/normalize.py, applied by api/validation.py on every channel).

Refused with a 422 naming the character: controls, bidirectional controls (they make a logged
question display as something else) and lone surrogates (no UTF-8 exists for them: they used to be a
500). Removed: invisible characters that input methods and copy-paste insert.
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.main import create_app
from api.schemas import USER_TEXT_PATTERN
from api.validation import clean_question
from config import Settings
from policyqa.localserver import HOST
from rag.engine import Engine
from rag.normalize import to_matching_form
from tests.api.live import serve

JSON = {"content-type": "application/json"}
QUESTION = "长宁区宝宝屋建设"
DIRECTION_CONTROLS = ["\u202e", "\u202d", "\u202c", "\u2066", "\u2069", "\u200f", "\u200e", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u180e", "\ufeff", "\u00ad", "\u3164", "\U000e0041"]
# Format characters (Cf) that are visible marks of their scripts (Arabic number signs, Syriac
# abbreviation mark, Egyptian hieroglyph format controls...): no rule is needed for them.
VISIBLE_FORMAT_MARKS = re.compile(
    "[\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd\U00013430-\U0001343f]"
)


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=0), engine=engine)) as test_client:
        yield test_client


def _accepted(text: str) -> bool:
    try:
        clean_question(text, 10_000)
    except HTTPException:
        return False
    return True


# --- item 1: a lone surrogate -----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "field"), [("/api/v1/ask", "question"), ("/api/v1/search", "query")])
def test_a_lone_surrogate_is_422_with_a_chinese_message(client: TestClient, path: str, field: str) -> None:
    body = f'{{"{field}": "托育\\ud800服务"}}'  # the JSON escape of a lone surrogate
    response = client.post(path, content=body.encode(), headers=JSON)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "代理项" in detail and "U+D800" in detail


def test_a_lone_surrogate_as_a_field_name_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/ask", content=b'{"question": "x", "\\udfff": 1}', headers=JSON)
    assert response.status_code == 422 and response.json()["detail"]


def test_a_lone_surrogate_leaves_the_connection_usable(built_index: Path, tmp_path: Path) -> None:
    with serve(built_index, tmp_path / "server.log", {"POLICYQA_RATE_LIMIT": "0"}) as server:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
        connection.request("POST", "/api/v1/ask", body=b'{"question": "\\ud800"}', headers=JSON)
        refused = connection.getresponse()
        assert refused.status == 422 and "代理项" in json.loads(refused.read())["detail"]
        assert not refused.will_close
        sock = connection.sock
        connection.request("POST", "/api/v1/ask", body=json.dumps({"question": QUESTION}), headers=JSON)
        answered = connection.getresponse()
        assert answered.status == 200 and json.loads(answered.read())["status"] == "found"
        assert connection.sock is sock  # the same keep-alive connection carried both
        connection.close()
        assert "Traceback" not in server.log_text()


def test_matching_form_drops_what_cannot_be_encoded() -> None:
    # The command line reaches rag/ without the API's check (a surrogate from a badly decoded argv).
    assert to_matching_form("托育\ud800服务\u202e") == "托育服务"


# --- item 7: direction controls refused, invisible characters removed ------------------------------


@pytest.mark.parametrize("char", DIRECTION_CONTROLS)
def test_direction_controls_are_refused_naming_the_character(client: TestClient, char: str) -> None:
    response = client.post("/api/v1/ask", json={"question": f"长宁区{char}宝宝屋建设"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "方向" in detail and f"U+{ord(char):04X}" in detail


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_are_removed_before_answering(client: TestClient, char: str) -> None:
    plain = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    response = client.post("/api/v1/ask", json={"question": f"长宁区{char}宝宝屋{char}建设"})
    assert response.status_code == 200, response.text
    spoofed = response.json()
    assert spoofed["question"] == QUESTION  # what was searched is what a person sees
    assert [h["id"] for h in spoofed["hits"]] == [h["id"] for h in plain["hits"]]


def test_the_query_log_stores_what_was_searched(engine: Engine, tmp_path: Path) -> None:
    log_path = tmp_path / "queries.sqlite"
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_QUERY_LOG=log_path)
    smuggled = "".join(chr(0xE0000 + ord(c)) for c in "ignore")  # tag characters: invisible ASCII
    with TestClient(create_app(settings=settings, engine=engine)) as test_client:
        hidden = test_client.post("/api/v1/ask", json={"question": f"长宁区{smuggled}宝宝屋"})
        reversed_ = test_client.post("/api/v1/ask", json={"question": "长宁区\u202e屋宝宝"})
    assert hidden.status_code == 200 and reversed_.status_code == 422
    connection = sqlite3.connect(log_path)
    try:
        questions = [row[0] for row in connection.execute("SELECT question FROM queries")]
    finally:
        connection.close()
    assert questions == ["长宁区宝宝屋"]


def test_every_format_character_has_a_rule() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) != "Cf" or VISIBLE_FORMAT_MARKS.match(char):
            continue
        refused = not _accepted(f"托育{char}")
        removed = _accepted(f"托育{char}") and clean_question(f"托育{char}", 100) == "托育"
        assert refused or removed, f"U+{code:04X} {unicodedata.name(char, '?')}"


# --- the same rule, as the OpenAPI schema publishes it -------------------------------------------

SPECIAL = st.sampled_from(
    [*DIRECTION_CONTROLS, *INVISIBLE, "\x00", "\x1f", "\x7f", "\x85", "\u2028", " ", "\u3000", "\t", "\n"]
)


@settings(max_examples=400, deadline=None)
# A JSON string cannot carry a lone surrogate, so the schema's pattern is compared on text without them
# (the server's refusal of "\ud800" escapes is tested above).
@given(
    text=st.text(
        st.one_of(SPECIAL, st.characters(exclude_categories=["Cs"]), st.sampled_from("托育宝屋")), max_size=12
    )
)
def test_the_published_pattern_accepts_exactly_what_the_server_accepts(text: str) -> None:
    # JSON Schema: minLength 1 and `pattern` (searched, as JSON Schema does, not matched).
    schema_accepts = len(text) >= 1 and re.search(USER_TEXT_PATTERN, text) is not None
    assert schema_accepts == _accepted(text), ascii(text)
