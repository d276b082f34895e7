"""End to end in a real headless Chromium against a real uvicorn server running the real app on an index
built from the bundled corpus: the chat page, the staff pages, the original-text view and the embeddable
widget, on a phone (390x844) and a desktop (1366x900), in light, dark and large type. axe-core runs on
every page state and any serious or critical violation fails the test.

Most answers are the real engine's (a BM25-only index of the bundled corpus; `partial` included). Answer
states that index gives only for some questions (answering sentences, typo corrections) are also driven
by intercepting /api/v1/ask with JSON built from real answers, so each state is drawn on every device.

Needs Debian's chromium (`scripts/install_system_deps.sh`), the Python `playwright` package (never runs
`playwright install`) and axe-playwright-python (for its copy of axe-core). Screenshots of each state go
to tests/artifacts/screenshots/ (committed).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest

from rag.messages import RELATED_FOLLOW
from tests.api.browser_helpers import (
    CHROMIUM_PATH,
    REPO_ROOT,
    axe_source,
    axe_violations,
    launch_chromium,
    new_context,
    running_server,
    screenshot,
    static_site,
)

pytestmark = pytest.mark.browser

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

QUESTION = "渝中区托育服务有什么政策"
FOLLOW_UP = "那长宁区呢？"
BAOBAOWU = "长宁区社区托育宝宝屋覆盖率要达到多少"
EXPECT_TIMEOUT_MS = 30_000
ADMIN_KEY = "e2e-admin-key"
DEMO_PAGE = REPO_ROOT / "api" / "static" / "embed-demo.html"
DEMO_CSS = REPO_ROOT / "api" / "static" / "embed-demo.css"
DEMO_APP_ORIGIN = "http://127.0.0.1:8000"  # what the committed demo page points at


@dataclass(frozen=True)
class Site:
    """The app under test, the query log it writes, and two static sites on other origins."""

    base_url: str
    log_path: Path | None
    admin_key: str | None
    demo_url: str | None  # an origin allowed to embed the chat (POLICYQA_CORS_ORIGINS)
    other_url: str | None  # an origin that is not


def _write_demo(folder: Path, base_url: str, **script_attributes: str) -> None:
    """The committed demo page, pointed at the app under test (and optionally reconfigured)."""
    folder.mkdir(parents=True, exist_ok=True)
    html = DEMO_PAGE.read_text(encoding="utf-8").replace(DEMO_APP_ORIGIN, base_url)
    for name, value in script_attributes.items():
        html = re.sub(rf'(<script src="[^"]+embed\.js"[^>]*?){name}="[^"]*"', rf'\1{name}="{value}"', html)
    (folder / "embed-demo.html").write_text(html, encoding="utf-8")
    (folder / "embed-demo.css").write_text(DEMO_CSS.read_text(encoding="utf-8"), encoding="utf-8")


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The real app served by uvicorn on a free loopback port, on the session's built index, with a query
    log, an admin key and one embedding origin allowed; plus the two static demo sites.

    POLICYQA_E2E_URL points the tests at a server that is already running instead (the tests that need
    the log, the admin key or the embedding origins are then skipped)."""
    external = os.environ.get("POLICYQA_E2E_URL")
    if external:
        yield Site(external.rstrip("/"), None, None, None, None)
        return
    built_index: Path = request.getfixturevalue("built_index")
    root = tmp_path_factory.mktemp("e2e")
    allowed_dir, other_dir = root / "allowed", root / "other"
    allowed_dir.mkdir()
    other_dir.mkdir()
    log_path = root / "queries.sqlite"
    with static_site(allowed_dir) as demo_url, static_site(other_dir) as other_url:
        env = {
            "POLICYQA_INDEX": str(built_index),
            "POLICYQA_QUERY_LOG": str(log_path),
            "POLICYQA_ADMIN_KEY": ADMIN_KEY,
            "POLICYQA_CORS_ORIGINS": json.dumps([demo_url]),
            "POLICYQA_RATE_LIMIT": "0",
            # Offline: the server must never reach for a model hub during the test.
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        with running_server("api.main:create_app", env, factory=True) as base_url:
            _write_demo(allowed_dir, base_url)
            _write_demo(
                allowed_dir / "custom",
                base_url,
                **{"data-title": "问政策", "data-color": "#ffd400", "data-position": "left"},
            )
            _write_demo(other_dir, base_url)
            yield Site(base_url, log_path, ADMIN_KEY, demo_url, other_url)


@pytest.fixture(scope="module")
def server_url(site: Site) -> str:
    return site.base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """System Chromium, headless, shared by the tests of this module; axe-core must be installed too."""
    needed = ((CHROMIUM_PATH, os.path.exists(CHROMIUM_PATH)), ("axe-playwright-python", axe_source()))
    missing = [what for what, ok in needed if not ok]
    if missing:
        if os.environ.get("CI"):  # CI installs both (system deps script, the project's dev extras)
            pytest.fail(f"missing in CI: {missing}")
        pytest.skip(f"missing: {missing} (scripts/install_system_deps.sh, pip install -e '.[dev]')")
    with playwright_sync.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


OpenPage = Callable[..., Any]


@pytest.fixture()
def open_page(browser: Any, server_url: str) -> Iterator[OpenPage]:
    """Open a fresh page: `open_page(device="phone"|"desktop", scheme="light"|"dark")`. The test fails if
    any page throws an uncaught script error."""
    contexts: list[Any] = []
    script_errors: list[str] = []

    def make(device: str = "phone", scheme: str = "light", base_url: str | None = None) -> Any:
        context = new_context(browser, base_url or server_url, device, scheme)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda error: script_errors.append(str(error)))
        return tab

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        yield make
        assert script_errors == [], f"uncaught script errors: {script_errors}"
    finally:
        for context in contexts:
            context.close()


@pytest.fixture()
def page(open_page: OpenPage) -> Any:
    """A fresh phone-sized page in light mode."""
    return open_page()


def check(target: Any, state: str, *, full_page: bool = False, exclude: list[str] | None = None) -> None:
    """Screenshot a page state and fail on any serious or critical axe-core violation in it."""
    page = getattr(target, "page", target)
    screenshot(page, state, full_page=full_page)
    violations = axe_violations(target, exclude)
    assert violations == [], f"{state}: {json.dumps(violations, ensure_ascii=False, indent=1)}"


def ask(page: Any, question: str, submit_with_enter: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Type a question and send it; return (request body, response JSON) of POST /api/v1/ask."""
    page.fill("#question", question)
    with (
        page.expect_request("**/api/v1/ask") as request_info,
        page.expect_response("**/api/v1/ask") as response_info,
    ):
        if submit_with_enter:
            page.press("#question", "Enter")
        else:
            page.click("#send")
    response = response_info.value
    assert response.status == 200, response.text()
    return request_info.value.post_data_json, response.json()


def canned_reply(reply: dict[str, Any] | None) -> Callable[[Any], None]:
    """A route handler answering with `reply` (Route.fulfill keywords), or failing like a lost network."""

    def handle(route: Any) -> None:
        if reply is None:
            route.abort("internetdisconnected")
        else:
            route.fulfill(**reply)

    return handle


def ask_canned(page: Any, question: str, answer: dict[str, Any]) -> Any:
    """Send `question` while /api/v1/ask answers with `answer`; return the rendered answer."""
    page.route("**/api/v1/ask", canned_reply({"json": answer}))
    try:
        page.fill("#question", question)
        page.click("#send")
        reply = last_answer(page)
        expect(reply).to_have_attribute("data-status", answer["status"])
    finally:
        page.unroute("**/api/v1/ask")
    return reply


def real_answer(page: Any, question: str) -> dict[str, Any]:
    """The server's answer to `question` (a fresh conversation), for building canned answers."""
    response = page.request.post("/api/v1/ask", data={"question": question})
    assert response.ok, response.text()
    return dict(response.json())


def sentence_span(text: str, keyword: str) -> dict[str, Any]:
    """The sentence of `text` holding `keyword`, as an answer_sentences item {text, start, end}."""
    at = text.index(keyword)
    start = max(text.rfind(mark, 0, at) for mark in "。；\n") + 1
    ends = [i for i in (text.find(mark, at) for mark in "。；") if i >= 0]
    end = (min(ends) + 1) if ends else len(text)
    while text[start] in " \u3000\t":
        start += 1
    return {"text": text[start:end], "start": start, "end": end}


def last_answer(page: Any) -> Any:
    """The newest finished answer in the conversation."""
    answer = page.locator(".msg-bot:not(.msg-loading)").last
    expect(answer).to_be_visible()
    return answer


def assert_card_matches_hit(card: Any, hit: dict[str, Any]) -> None:
    """The card shows the clause verbatim, the API's highlights as <mark>, and the full provenance."""
    assert card.get_attribute("data-clause-id") == hit["id"]
    assert card.locator(".clause-text").text_content() == hit["text"]
    marks = card.locator(".clause-text mark").all_text_contents()
    present = [h for h in hit["highlights"] if h.strip() and h.strip() in hit["text"]]
    for sentence in present:
        assert any(sentence.strip() in mark for mark in marks), f"highlight not marked: {sentence}"
    for mark in marks:
        assert any(h.strip() in mark for h in present), f"marked text is no highlight: {mark}"
    provenance = card.locator(".provenance").text_content() or ""
    assert hit["doc"]["title"] in provenance
    if hit["doc"].get("doc_number"):
        assert hit["doc"]["doc_number"] in provenance
    if hit["path"]:
        assert hit["path"][-1] in provenance
    assert hit["label"] and hit["label"] in provenance
    assert not re.search(r"第[(（]?\d+[)）]?条", provenance), provenance


def font_px(locator: Any) -> float:
    return float(locator.evaluate("node => parseFloat(getComputedStyle(node).fontSize)"))


# --- the chat page ------------------------------------------------------------------------------------


def test_chat_answer_original_text_and_follow_up(page: Any) -> None:
    page.goto("/")
    expect(page.locator("#starters .chip").first).to_be_visible()
    check(page, "chat-01-start-phone-light")

    _, answer = ask(page, QUESTION)
    assert answer["status"] == "found", answer
    cards = last_answer(page).locator(".source-card")
    expect(cards.first).to_be_visible()
    shown = cards.count()
    assert shown == min(len(answer["hits"]), 3)
    doc_ids = [cards.nth(i).get_attribute("data-doc-id") for i in range(shown)]
    assert doc_ids[0] in {"yuzhong-plan", "yuzhong-interpretation"}, doc_ids
    assert "yuzhong-plan" in doc_ids, doc_ids
    for i in range(shown):
        assert_card_matches_hit(cards.nth(i), answer["hits"][i])
    assert last_answer(page).locator(".resolved").count() == 0  # searched as typed: no rewrite line
    check(page, "chat-02-found-phone-light")

    # 查看原文 opens the document at that clause, emphasised, with its neighbours around it.
    first_hit = answer["hits"][0]
    original = cards.first.get_by_role("button", name="查看原文")
    original.click()
    viewer = page.get_by_role("dialog")
    target = viewer.locator(".doc-clause.is-target")
    expect(target).to_be_visible()
    expect(target).to_be_in_viewport()
    assert target.get_attribute("data-clause-id") == first_hit["id"]
    assert target.locator(".clause-text").text_content() == first_hit["text"]
    assert viewer.locator(".doc-clause.is-target").count() == 1
    before = target.locator("xpath=preceding-sibling::div[contains(@class,'doc-clause')][1]")
    after = target.locator("xpath=following-sibling::div[contains(@class,'doc-clause')][1]")
    assert before.count() + after.count() >= 1
    document = page.request.get(f"/api/v1/documents/{first_hit['doc_id']}").json()
    texts = [c["text"] for c in document["clauses"]]
    position = [c["id"] for c in document["clauses"]].index(first_hit["id"])
    neighbour = after if after.count() else before
    assert neighbour.locator(".clause-text").text_content() in texts[max(0, position - 3) : position + 4]
    assert f"#doc={first_hit['doc_id']}" in page.url
    check(page, "chat-03-original-text-phone-light")

    viewer.get_by_role("button", name="返回").click()
    expect(viewer).to_be_hidden()
    expect(original).to_be_focused()
    assert "#doc=" not in page.url

    # The follow-up keeps the conversation and asks the same thing about 长宁区.
    request, follow = ask(page, FOLLOW_UP, submit_with_enter=True)
    assert request.get("session_id") == answer["session_id"]
    assert follow["session_id"] == answer["session_id"]
    assert follow["status"] == "found", follow
    follow_cards = last_answer(page).locator(".source-card")
    expect(follow_cards.first).to_be_visible()
    assert follow_cards.first.get_attribute("data-doc-id") == "changning-plan"
    expect(follow_cards.first.locator(".badge-region")).to_have_text("长宁区")
    assert_card_matches_hit(follow_cards.first, follow["hits"][0])
    check(page, "chat-04-follow-up-phone-light")

    # 复制引用 puts the hit's 公文-style citation on the clipboard.
    follow_cards.first.get_by_role("button", name="复制引用").click()
    expect(follow_cards.first.locator(".btn-copy")).to_contain_text("已复制")
    citation = page.evaluate("navigator.clipboard.readText()")
    assert citation == follow["hits"][0]["citation"]
    assert citation.startswith("《上海市长宁区推进儿童友好城区建设行动计划》")
    assert "（上海市长宁区人民政府办公室，" in citation
    assert not re.search(r"[()]", citation)


def test_the_conversation_survives_a_reload_and_new_chat_clears_it(page: Any) -> None:
    page.goto("/")
    _, first = ask(page, QUESTION)
    _, second = ask(page, FOLLOW_UP)
    page.reload()
    expect(page.locator(".msg-user")).to_have_count(2)
    expect(page.locator(".msg-user").nth(1)).to_have_text(FOLLOW_UP)
    restored = page.locator(".msg-bot[data-status]")
    expect(restored).to_have_count(2)
    restored_card = restored.nth(1).locator(".source-card").first
    assert restored_card.get_attribute("data-clause-id") == second["hits"][0]["id"]
    check(page, "chat-05-restored-after-reload-phone-light")
    # The next follow-up still refers to what is on the screen: the same server-side conversation.
    request, _ = ask(page, "那大渡口区呢？")
    assert request["session_id"] == first["session_id"]

    page.get_by_role("button", name="新对话").click()
    expect(page.locator(".msg-user")).to_have_count(0)
    page.reload()
    expect(page.locator("#starters .chip").first).to_be_visible()
    expect(page.locator(".msg-user")).to_have_count(0)
    request, _ = ask(page, QUESTION)
    assert "session_id" not in request


def test_answering_sentence_first_then_the_whole_clause_folded_on_phones(open_page: OpenPage) -> None:
    for device in ("phone", "desktop"):
        page = open_page(device)
        page.goto("/")
        question = "渝中区到2026年每千人口托位数要达到多少"
        answer = real_answer(page, question)
        assert answer["status"] == "found" and answer["hits"], answer
        hit = next(h for h in answer["hits"] if "4.5个" in h["text"] and h["doc_id"] == "yuzhong-plan")
        answer["hits"] = [hit, *(h for h in answer["hits"] if h is not hit)]
        hit["answer_sentences"] = [sentence_span(hit["text"], "4.5个")]
        assert len(hit["answer_sentences"][0]["text"]) < len(hit["text"]) / 2
        reply = ask_canned(page, question, answer)
        card = reply.locator(".source-card").first
        takeaway = card.locator(".takeaway")
        expect(takeaway).to_contain_text(hit["answer_sentences"][0]["text"].strip())
        # The takeaway comes before the provenance and the whole clause, which is still verbatim.
        order = card.evaluate(
            "c => [...c.querySelectorAll('.takeaway, .provenance, .clause-text')].map(n => n.className)"
        )
        assert order[0] == "takeaway" and order[1] == "provenance", order
        quote_block = card.locator(".clause-text")
        assert quote_block.text_content() == hit["text"]
        unfold = card.get_by_role("button", name="展开全文")
        if device == "phone":
            expect(unfold).to_be_visible()
            assert quote_block.evaluate("q => q.scrollHeight > q.clientHeight + 2")  # folded
            check(page, "chat-06-found-takeaway-phone-light")
            unfold.click()
            expect(card.get_by_role("button", name="收起")).to_have_attribute("aria-expanded", "true")
            assert quote_block.evaluate("q => q.scrollHeight <= q.clientHeight + 2")
        else:
            expect(unfold).to_be_hidden()
            check(page, "chat-06-found-takeaway-desktop-light")


def test_partial_answer_says_what_is_not_written_then_related_clauses(open_page: OpenPage) -> None:
    for device, scheme in (("phone", "light"), ("phone", "dark"), ("desktop", "light")):
        page = open_page(device, scheme)
        page.goto("/")
        answer = real_answer(page, "长宁区宝宝屋有午饭吗")
        assert answer["hits"], answer
        message = "收录的政策文件没有写明宝宝屋是否提供午餐。" + RELATED_FOLLOW
        answer.update(status="partial", message=message, detail={"type": "meal", "label": "午餐"})
        for hit in answer["hits"]:
            hit.update(role="related", answer_sentences=[])
        reply = ask_canned(page, "长宁区宝宝屋有午饭吗", answer)
        expect(reply.locator(".partial-note")).to_have_text(message)
        cards = reply.locator(".source-card")
        expect(cards).to_have_count(min(3, len(answer["hits"])))
        for i in range(cards.count()):
            expect(cards.nth(i)).to_have_attribute("data-role", "related")
            expect(cards.nth(i).locator(".badge-related")).to_have_text("相关条款")
            assert cards.nth(i).locator(".takeaway").count() == 0
        expect(reply.locator(".answer-intro")).to_have_count(0)  # not "找到 N 条…": they are not the answer
        expect(reply.locator(".related-intro")).to_have_count(0)  # the message already leads in to them
        order = reply.evaluate("r => [...r.querySelectorAll('.partial-note, .source-card')][0].className")
        assert order == "partial-note"
        check(page, f"chat-07-partial-{device}-{scheme}")


def test_a_real_partial_answer_from_the_engine(page: Any) -> None:
    """No canned reply: the engine itself answers partial, and the page shows it as such."""
    page.goto("/")
    _, answer = ask(page, "长宁区宝宝屋有午饭吗")
    assert answer["status"] == "partial" and answer["hits"], answer
    reply = last_answer(page)
    expect(reply).to_have_attribute("data-status", "partial")
    expect(reply.locator(".partial-message")).to_have_text(answer["message"])
    message = answer["message"]
    assert message.startswith("收录的政策文件没有写明") and message.endswith(RELATED_FOLLOW)
    expect(reply.locator(".related-intro")).to_have_count(0)
    expect(reply.locator(".source-card")).to_have_count(min(3, len(answer["hits"])))
    expect(reply.locator(".source-card").first).to_have_attribute("data-role", "related")
    check(page, "chat-07-partial-real-phone-light")


def test_rewrite_line_only_when_the_question_was_rewritten(page: Any) -> None:
    page.goto("/")
    # A real answer where only 吗 and punctuation differ from the searched form: no line.
    _, plain = ask(page, "小孩打疫苗要钱吗？")
    assert plain["rewrites"] == []
    expect(last_answer(page).locator(".resolved")).to_have_count(0)

    # The engine's own typo correction (no canned reply).
    _, typo = ask(page, "拖育服务有什么政策")
    assert typo["rewrites"] == ["typo"] and typo["resolved_question"] == "托育服务有什么政策", typo
    expect(last_answer(page).locator(".resolved")).to_have_text("已按“托育”查找（您输入的是“拖育”）")

    follow = real_answer(page, "长宁区托育服务有什么政策")
    follow.update(question="那长宁区呢", resolved_question="长宁区托育服务有什么政策", rewrites=["follow_up"])
    reply = ask_canned(page, "那长宁区呢", follow)
    expect(reply.locator(".resolved")).to_have_text("已按“长宁区托育服务有什么政策”查找（接着上一个问题）")
    check(page, "chat-08-rewrite-lines-phone-light")


def test_feedback_is_stored_with_the_question(page: Any, site: Site) -> None:
    if site.log_path is None:
        pytest.skip("needs the query log of the server this module starts")
    page.goto("/")
    _, answer = ask(page, "长宁区儿童友好社区建设")
    reply = last_answer(page)
    with page.expect_response("**/api/v1/feedback") as response_info:
        reply.get_by_role("button", name="没帮助").click()
    assert response_info.value.status == 200
    expect(reply.get_by_role("button", name="没帮助")).to_have_attribute("aria-pressed", "true")
    reasons = reply.get_by_role("group", name="哪里不满意？（可选）")
    expect(reasons.get_by_role("button")).to_have_text(["没回答我的问题", "条款不对", "其他"])
    with page.expect_request("**/api/v1/feedback") as request_info:
        reasons.get_by_role("button", name="条款不对").click()
    assert request_info.value.post_data_json == {
        "query_id": answer["query_id"],
        "rating": "down",
        "reason": "wrong_clause",
    }
    expect(reply.locator(".feedback-thanks")).to_contain_text("已记录")
    reply.locator(".answer-tools").scroll_into_view_if_needed()
    check(page, "chat-09-feedback-phone-light")
    connection = sqlite3.connect(site.log_path)
    try:
        row = connection.execute(
            "SELECT q.question, f.rating, f.reason FROM feedback f JOIN queries q ON q.id = f.query_row"
            " WHERE q.query_id = ?",
            (answer["query_id"],),
        ).fetchone()
    finally:
        connection.close()
    assert row == ("长宁区儿童友好社区建设", "down", "wrong_clause")
    # The vote is part of the kept conversation.
    page.reload()
    expect(last_answer(page).get_by_role("button", name="没帮助")).to_have_attribute("aria-pressed", "true")


def test_share_link_reproduces_the_question_and_stays_in_the_address(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")
    _, answer = ask(page, BAOBAOWU)
    last_answer(page).get_by_role("button", name=re.compile("^分享")).click()
    link = page.evaluate("navigator.clipboard.readText()")
    origin = "{0.scheme}://{0.netloc}".format(urlparse(page.url))
    assert link == origin + "/?q=" + quote(answer["resolved_question"], safe="")

    shared = open_page()
    asked: list[str] = []
    shared.on("request", lambda r: asked.append(r.url) if r.url.endswith("/api/v1/ask") else None)
    with shared.expect_response("**/api/v1/ask") as response_info:
        shared.goto(link)
    assert response_info.value.json()["status"] == "found"
    expect(shared.locator(".msg-user").first).to_have_text(BAOBAOWU)
    assert "q=" in shared.url  # stays, so the address can be shared again
    check(shared, "chat-10-shared-link-phone-light")
    shared.reload()
    expect(shared.locator(".msg-user")).to_have_count(1)  # restored, not asked twice
    shared.wait_for_timeout(300)
    assert len(asked) == 1


def test_question_in_address_is_asked_on_load(page: Any) -> None:
    with page.expect_response("**/api/v1/ask") as response_info:
        page.goto("/?q=" + quote("长宁区社区托育宝宝屋建设"))
    answer = response_info.value.json()
    assert answer["status"] == "found"
    card = last_answer(page).locator(".source-card").first
    expect(card).to_be_visible()
    assert card.get_attribute("data-doc-id") == "changning-plan"
    assert "q=" in page.url
    expect(page.locator(".msg-user").first).to_have_text("长宁区社区托育宝宝屋建设")


def test_character_counter_and_a_clear_message_at_the_limit(page: Any) -> None:
    page.goto("/")
    counter = page.locator("#question-counter")
    expect(counter).to_have_text("0/500 字")
    page.fill("#question", "托育")
    expect(counter).to_have_text("2/500 字")
    long_paste = ("我想了解一下托育服务的政策。" * 50)[:603]
    page.fill("#question", long_paste)
    expect(counter).to_have_text("603/500 字")
    expect(counter).to_have_class(re.compile("is-over"))
    expect(page.locator("#ask-error")).to_contain_text("问题太长了（603 字）")
    assert len(page.input_value("#question")) == 603  # nothing silently cut
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/v1/ask" in r.url else None)
    page.click("#send")
    expect(page.locator("#ask-error")).to_be_visible()
    expect(page.locator(".msg-user")).to_have_count(0)
    assert sent == [] and len(page.input_value("#question")) == 603
    check(page, "chat-11-over-the-limit-phone-light")
    page.fill("#question", long_paste[:500])
    expect(counter).to_have_text("500/500 字")
    expect(page.locator("#ask-error")).to_be_hidden()


def test_large_type_is_a_remembered_header_toggle(open_page: OpenPage) -> None:
    for scheme in ("light", "dark"):
        page = open_page("phone", scheme)
        page.goto("/")
        toggle = page.get_by_role("button", name="大字")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        ask(page, "大渡口区每千名儿童拥有医疗床位数目标是多少")
        card = last_answer(page).locator(".source-card").first
        expect(card).to_be_visible()
        assert font_px(card.locator(".clause-text")) >= 20
        for secondary in (".provenance-detail", ".badge", ".card-date", "#question-counter"):
            locator = page.locator(secondary).first
            assert font_px(locator) >= 18, (secondary, font_px(locator))
        check(page, f"chat-12-large-type-phone-{scheme}")
        page.reload()
        expect(page.get_by_role("button", name="大字")).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("document.documentElement.classList.contains('large-type')")
        page.goto("/staff?q=" + quote("托育"))
        expect(page.locator("#results > li").first).to_be_visible()
        assert font_px(page.locator(".result-meta").first) >= 18
        check(page, f"staff-large-type-phone-{scheme}")


def test_table_rows_are_labelled_as_rows_of_their_box(page: Any) -> None:
    page.goto("/")
    _, answer = ask(page, "大渡口区每千名儿童拥有医疗床位数目标是多少")
    rows = [h for h in answer["hits"] if h["kind"] == "indicator"]
    assert rows, answer
    card = page.locator(f'.source-card[data-clause-id="{rows[0]["id"]}"]')
    expect(card.locator(".provenance-detail strong")).to_have_text(f"专栏一第{rows[0]['number']}行")
    assert "条" not in (card.locator(".provenance-detail strong").text_content() or "")


def test_dark_mode_follows_the_system_setting(open_page: OpenPage) -> None:
    page = open_page("phone", "dark")
    page.goto("/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert max(channels) < 60, background
    check(page, "chat-13-start-phone-dark")
    ask(page, QUESTION)
    check(page, "chat-13-found-phone-dark")
    page.locator(".source-card").first.get_by_role("button", name="查看原文").click()
    expect(page.get_by_role("dialog").locator(".doc-clause.is-target")).to_be_visible()
    check(page, "chat-13-original-text-phone-dark")


def test_desktop_chat(open_page: OpenPage) -> None:
    for scheme in ("light", "dark"):
        page = open_page("desktop", scheme)
        page.goto("/")
        ask(page, QUESTION)
        check(page, f"chat-14-found-desktop-{scheme}")


def test_document_address_opens_the_original_text_at_the_clause(open_page: OpenPage) -> None:
    for device in ("phone", "desktop"):
        page = open_page(device)
        document = page.request.get("/api/v1/documents/changning-plan").json()
        clause = document["clauses"][len(document["clauses"]) // 2]
        page.goto(f"/doc/changning-plan?clause={quote(clause['id'])}")
        target = page.get_by_role("dialog").locator(".doc-clause.is-target")
        expect(target).to_be_in_viewport()
        assert target.get_attribute("data-clause-id") == clause["id"]
        assert target.locator(".clause-text").text_content() == clause["text"]
        expect(page.get_by_role("dialog").locator(".viewer-title")).to_have_text(document["doc"]["title"])
        # Heading levels never jump (h4 -> h6), and the scrolling text is reachable by keyboard.
        levels = page.evaluate(
            "[...document.querySelectorAll('.viewer h2, .viewer h3, .viewer h4, .viewer h5, .viewer h6')]"
            ".map(h => +h.tagName[1])"
        )
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
        assert page.locator(".viewer-body").get_attribute("tabindex") == "0"
        check(page, f"doc-01-original-text-{device}-light")
        page.get_by_role("dialog").get_by_role("button", name="返回").click()
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(page.locator("#question")).to_be_visible()
        assert urlparse(page.url).path == "/"
    for doc_id in ("dadukou-plan", "yuzhong-plan", "guangxi-plan", "yuzhong-interpretation"):
        page.goto(f"/doc/{doc_id}")
        expect(page.get_by_role("dialog").locator(".doc-clause").first).to_be_visible()
        violations = axe_violations(page)
        assert violations == [], (doc_id, violations)


def test_loading_state_while_the_answer_is_on_its_way(page: Any) -> None:
    page.goto("/")
    held: list[Any] = []
    page.route("**/api/v1/ask", lambda route: held.append(route))
    page.fill("#question", QUESTION)
    page.click("#send")
    loading = page.locator(".msg-loading")
    expect(loading).to_be_visible()
    expect(loading).to_contain_text("正在查找")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#messages")).to_have_attribute("aria-busy", "true")
    check(page, "chat-15-loading-phone-light")
    assert len(held) == 1
    held[0].continue_()
    expect(last_answer(page).locator(".source-card").first).to_be_visible()
    expect(loading).to_have_count(0)
    expect(page.locator("#send")).to_be_enabled()


def test_question_is_rendered_as_text_never_as_html(page: Any) -> None:
    page.goto("/")
    payload = '<img src=x onerror="window.__injected=1"><b>托育</b>'
    ask(page, payload)
    last_answer(page)
    expect(page.locator(".msg-user").last).to_have_text(payload)
    assert page.locator(".messages img, .messages b").count() == 0
    assert page.evaluate("window.__injected") is None


def test_errors_are_shown_in_chinese(page: Any) -> None:
    page.goto("/")
    page.click("#send")
    expect(page.locator("#ask-error")).to_contain_text("请输入")

    cases = [
        (
            {"status": 429, "headers": {"Retry-After": "30"}, "json": {"detail": "Too Many Requests"}},
            "30 秒后再试",
        ),
        ({"status": 422, "json": {"detail": "问题不能超过 500 个字。"}}, "问题不能超过 500 个字。"),
        ({"status": 500, "body": "Internal Server Error"}, "服务暂时不可用"),
        (None, "网络连接失败"),
    ]
    for reply, message in cases:
        page.route("**/api/v1/ask", canned_reply(reply))
        page.fill("#question", QUESTION)
        page.click("#send")
        error = page.locator(".msg-error").last
        expect(error).to_contain_text(message)
        page.unroute("**/api/v1/ask")
    check(page, "chat-16-errors-phone-light")

    # 重试 asks again once the network is back.
    with page.expect_response("**/api/v1/ask"):
        page.locator(".msg-error").last.get_by_role("button", name="重试").click()
    expect(last_answer(page).locator(".source-card").first).to_be_visible()

    # A real 4xx from the server (a control character in the question) shows the server's Chinese detail.
    page.fill("#question", "托育\u0007政策")
    with page.expect_response("**/api/v1/ask") as response_info:
        page.click("#send")
    response = response_info.value
    assert 400 <= response.status < 500
    detail = response.json()["detail"]
    assert isinstance(detail, str) and any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    expect(page.locator(".msg-error").last).to_contain_text(detail)


def test_not_found_shows_message_and_suggestions(page: Any) -> None:
    page.goto("/")
    _, answer = ask(page, "猫粮哪个牌子好")
    assert answer["status"] == "not_found", answer
    reply = last_answer(page)
    expect(reply).to_have_attribute("data-status", "not_found")
    expect(reply.locator(".not-found")).to_have_text(answer["message"])
    suggestions = reply.get_by_role("group", name="换个问法").get_by_role("button")
    assert suggestions.all_text_contents() == answer["suggestions"]
    check(page, "chat-17-not-found-phone-light")
    if answer["suggestions"]:
        with page.expect_response("**/api/v1/ask"):
            suggestions.first.click()
        expect(page.locator(".msg-user").last).to_have_text(answer["suggestions"][0])


# --- the staff pages ----------------------------------------------------------------------------------


def test_staff_search_copy_reference_lookup_and_outline(page: Any) -> None:
    page.goto("/staff")
    documents = page.request.get("/api/v1/documents").json()
    expect(page.locator("#documents > li")).to_have_count(len(documents))
    assert page.locator("#filter-doc option").count() == len(documents) + 1
    regions = page.locator("#filter-region option").all_text_contents()
    assert "长宁区" in regions and "渝中区" in regions
    # Only the retrieval modes that are live are offered.
    live = page.request.get("/health").json()["retrievers"]
    modes = page.locator("#filter-mode option").evaluate_all("options => options.map(o => o.value)")
    assert modes == (["hybrid", "bm25", "vector"] if "vector" in live else ["bm25"])
    if "vector" not in live:
        expect(page.locator("#mode-hint")).to_contain_text("语义检索未启用")

    # Search with a region filter: every result is from that region, shown as a citation with its text.
    page.fill("#query", "托育")
    page.select_option("#filter-region", "长宁区")  # no query was run yet: a filter alone does not search
    with (
        page.expect_request("**/api/v1/search") as request_info,
        page.expect_response("**/api/v1/search") as response_info,
    ):
        page.click("#search-button")
    assert request_info.value.post_data_json["region"] == "长宁区"
    result = response_info.value.json()
    assert result["hits"], result
    items = page.locator("#results > li")
    expect(items).to_have_count(len(result["hits"]))
    for i, hit in enumerate(result["hits"]):
        assert hit["doc"]["region"] == "长宁区"
        expect(items.nth(i).locator(".citation")).to_have_text(hit["citation"])
        assert items.nth(i).locator(".clause-text").text_content() == hit["text"]
        meta = items.nth(i).locator(".result-meta").text_content() or ""
        assert re.search(r"相关度 [高中低]", meta) and not re.search(r"\d\.\d{3}", meta), meta
    expect(items.first.locator(".relevance")).to_contain_text("相关度 高")
    items.first.get_by_role("button", name="复制引用").click()
    expect(items.first.locator(".btn-copy")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == result["hits"][0]["citation"]
    check(page, "staff-01-search-phone-light")

    # Changing a filter runs the search again.
    with page.expect_request("**/api/v1/search") as request_info:
        page.select_option("#filter-region", "渝中区")
    assert request_info.value.post_data_json["region"] == "渝中区"
    expect(items.first).to_have_attribute("data-doc-id", re.compile("yuzhong"))
    with page.expect_request("**/api/v1/search") as request_info:
        page.select_option("#filter-topk", "20")
    assert request_info.value.post_data_json["top_k"] == 20

    # A clause reference typed in the same box is resolved by the API.
    with page.expect_response("**/api/v1/search"):
        page.select_option("#filter-region", "")
    page.fill("#query", "长宁区行动计划第(20)条")
    reference = "长宁区行动计划第(20)条"
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/search") and r.request.post_data_json["query"] == reference
    ) as response_info:
        page.press("#query", "Enter")
    first = response_info.value.json()["hits"][0]
    assert first["doc_id"] == "changning-plan"
    assert "(20)" in first["text"]
    expect(items.first).to_have_attribute("data-clause-id", first["id"])
    expect(items.first.locator(".relevance")).to_have_text("按条款引用定位")
    check(page, "staff-02-reference-phone-light")

    # Each document's outline: sections from the document tree, clauses open the original text.
    outline = page.locator('details[data-doc-id="changning-plan"]')
    outline.locator("summary").first.click()
    sections = outline.locator(".outline-section > details > summary")
    expect(sections.first).to_be_visible()
    assert any("建设任务" in text for text in sections.all_text_contents())
    section = outline.locator(
        ".outline-section:not(.outline-front) .outline-section > details:has(> ul > li > .outline-leaf)"
    ).first
    if section.get_attribute("open") is None:
        section.locator(":scope > summary").click()
    leaf = section.locator(":scope > ul > li > .outline-leaf").first
    expect(leaf).to_be_visible()
    leaf.scroll_into_view_if_needed()
    check(page, "staff-03-outline-phone-light")
    leaf.click()
    target = page.get_by_role("dialog").locator(".doc-clause.is-target")
    expect(target).to_be_in_viewport()
    check(page, "staff-04-original-text-phone-light")


def test_staff_reference_by_doc_number_puts_that_clause_first(page: Any) -> None:
    page.goto("/staff")
    page.fill("#query", "渝中府办〔2024〕7号第(17)条")
    with page.expect_response("**/api/v1/search") as response_info:
        page.press("#query", "Enter")
    first = response_info.value.json()["hits"][0]
    assert first["doc_id"] == "yuzhong-plan" and first["number"] == "(17)"
    expect(page.locator("#results > li").first).to_have_attribute("data-clause-id", first["id"])


def test_staff_pages_on_desktop_and_dark(open_page: OpenPage) -> None:
    for device, scheme in (("desktop", "light"), ("desktop", "dark"), ("phone", "dark")):
        page = open_page(device, scheme)
        page.goto("/staff?q=" + quote("托育服务"))
        expect(page.locator("#results > li").first).to_be_visible()
        check(page, f"staff-05-search-{device}-{scheme}")


def test_gap_list_behind_the_admin_key(open_page: OpenPage, site: Site, tmp_path: Path) -> None:
    if site.admin_key is None:
        pytest.skip("needs the admin key of the server this module starts")
    page = open_page("desktop")
    page.goto("/")
    # What residents asked: two wordings of one unanswerable question, and a 👎 on a found answer.
    for question in ("北京市的托育补贴标准", "北京市托育补贴标准是多少？", "北京市的托育补贴标准"):
        assert real_answer(page, question)["status"] == "not_found"
    disliked = real_answer(page, "渝中区儿童友好公园在哪里")
    vote = {"query_id": disliked["query_id"], "rating": "down", "reason": "not_answered"}
    assert page.request.post("/api/v1/feedback", data=vote).ok

    page.goto("/staff/gaps")
    check(page, "gaps-01-key-desktop-light")
    page.fill("#admin-key", "wrong-key")
    page.click("#load-gaps")
    expect(page.locator("#gaps-error")).to_contain_text("管理密钥")
    page.fill("#admin-key", site.admin_key)
    with page.expect_response(re.compile(r"/api/v1/admin/gaps\?")) as response_info:
        page.click("#load-gaps")
    data = response_info.value.json()
    rows = page.locator(".gap-table tbody tr")
    expect(rows).to_have_count(len(data["groups"]))
    beijing = next(g for g in data["groups"] if "北京" in g["question"])
    assert beijing["count"] == 3 and beijing["statuses"]["not_found"] == 3
    assert [g["count"] for g in data["groups"]] == sorted((g["count"] for g in data["groups"]), reverse=True)
    expect(rows.first.locator("th")).to_contain_text(data["groups"][0]["question"])
    disliked_row = rows.filter(has_text="渝中区儿童友好公园在哪里")
    expect(disliked_row.locator(".gap-why")).to_contain_text("没帮助 1")
    expect(disliked_row.locator(".gap-why")).to_contain_text("没回答我的问题 1")
    check(page, "gaps-02-list-desktop-light", full_page=True)

    with page.expect_download() as download_info:
        page.click("#export-csv")
    saved = tmp_path / "gaps.csv"
    download_info.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:2] == ["问题", "次数"] and len(table) == 1 + len(data["groups"])

    # The key stays for this tab only; a phone and dark mode show the same list.
    for scheme in ("light", "dark"):
        phone = open_page("phone", scheme)
        phone.goto("/staff/gaps")
        phone.fill("#admin-key", site.admin_key)
        phone.click("#load-gaps")
        expect(phone.locator(".gap-table tbody tr").first).to_be_visible()
        check(phone, f"gaps-03-list-phone-{scheme}")


# --- the embeddable widget ----------------------------------------------------------------------------

CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_widget_embeds_the_chat_from_another_origin(open_page: OpenPage, site: Site) -> None:
    if site.demo_url is None:
        pytest.skip("needs the demo sites of the server this module starts")
    page = open_page("desktop", base_url=site.demo_url)
    page.add_init_script(CSP_WATCH)
    page.goto(f"{site.demo_url}/embed-demo.html")
    bubble = page.get_by_role("button", name="政策问答")
    expect(bubble).to_be_visible()
    assert bubble.evaluate("b => getComputedStyle(b).right") == "20px"
    expect(bubble).to_have_attribute("aria-expanded", "false")
    check(page, "embed-01-closed-desktop-light")

    bubble.click()
    panel = page.get_by_role("dialog", name="政策问答")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("button", name="关闭政策问答")).to_be_focused()
    frame_element = panel.locator("iframe")
    assert frame_element.get_attribute("title") == "政策问答"
    assert urlparse(frame_element.get_attribute("src") or "").netloc == urlparse(site.base_url).netloc
    chat = page.frame_locator("#policyqa-widget-panel iframe")
    expect(chat.locator("#starters .chip").first).to_be_visible()
    chat.locator("#question").fill(QUESTION)
    chat.locator("#send").click()
    expect(chat.locator(".source-card").first).to_be_visible()
    frame = next(f for f in page.frames if f.url.startswith(site.base_url))
    assert page.evaluate("window.__cspViolations") == []
    check(page, "embed-02-open-desktop-light", exclude=["#policyqa-widget-panel iframe"])
    violations = axe_violations(frame)
    assert violations == [], violations

    chat.locator("#question").press("Escape")  # inside the chat: it asks the host page to close
    expect(panel).to_be_hidden()
    expect(bubble).to_be_focused()
    expect(bubble).to_have_attribute("aria-expanded", "false")


def test_widget_is_configurable_and_full_screen_on_phones(open_page: OpenPage, site: Site) -> None:
    if site.demo_url is None:
        pytest.skip("needs the demo sites of the server this module starts")
    page = open_page("phone", base_url=site.demo_url)
    page.add_init_script(CSP_WATCH)
    page.goto(f"{site.demo_url}/custom/embed-demo.html")
    bubble = page.get_by_role("button", name="问政策")
    expect(bubble).to_be_visible()
    style = bubble.evaluate(
        "b => { const s = getComputedStyle(b); return [s.left, s.backgroundColor, s.color]; }"
    )
    assert style == ["20px", "rgb(255, 212, 0)", "rgb(0, 0, 0)"]  # a light colour gets dark text
    check(page, "embed-03-custom-closed-phone-light")
    bubble.click()
    panel = page.get_by_role("dialog", name="问政策")
    box = panel.bounding_box()
    assert box is not None and box["width"] == 390 and box["height"] == 844
    chat = page.frame_locator("#policyqa-widget-panel iframe")
    expect(chat.locator(".app-title")).to_contain_text("问政策")
    expect(chat.locator("#starters .chip").first).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
    check(page, "embed-04-custom-open-phone-light", exclude=["#policyqa-widget-panel iframe"])
    panel.get_by_role("button", name="关闭问政策").click()
    expect(panel).to_be_hidden()


def test_widget_is_refused_on_sites_that_are_not_allowed(open_page: OpenPage, site: Site) -> None:
    if site.other_url is None:
        pytest.skip("needs the demo sites of the server this module starts")
    page = open_page("desktop", base_url=site.other_url)
    page.goto(f"{site.other_url}/embed-demo.html")
    page.get_by_role("button", name="政策问答").click()
    expect(page.locator("#policyqa-widget-panel iframe")).to_be_visible()
    page.wait_for_timeout(1000)
    # frame-ancestors keeps the chat out of this origin's page: the frame never shows the chat.
    frames = [f for f in page.frames if f is not page.main_frame]
    assert frames and all(f.locator("#question").count() == 0 for f in frames)
    response = page.request.get(site.base_url + "/")
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {site.demo_url}" in policy and site.other_url not in policy
