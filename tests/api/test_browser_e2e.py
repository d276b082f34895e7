"""End to end in a real headless Chromium at a phone-sized viewport, against a real uvicorn server running
the real app on an index built from the bundled corpus.

Needs Debian's chromium (`scripts/install_system_deps.sh`) and the Python `playwright` package; never runs
`playwright install`. Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest

from tests.api.browser_helpers import (
    CHROMIUM_PATH,
    launch_chromium,
    phone_context,
    running_server,
    screenshot,
)

pytestmark = pytest.mark.browser

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

QUESTION = "渝中区托育服务有什么政策"
FOLLOW_UP = "那长宁区呢？"
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, on the session's built index.

    POLICYQA_E2E_URL points the tests at a server that is already running instead."""
    external = os.environ.get("POLICYQA_E2E_URL")
    if external:
        yield external.rstrip("/")
        return
    index_dir: Path = request.getfixturevalue("built_index")
    # Offline: the server must never reach for a model hub during the test.
    env = {"POLICYQA_INDEX": str(index_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with running_server("api.main:create_app", env, factory=True) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """System Chromium, headless, shared by the tests of this module."""
    if not os.path.exists(CHROMIUM_PATH):
        if os.environ.get("CI"):  # CI installs it (scripts/install_system_deps.sh): missing fails there
            pytest.fail(f"{CHROMIUM_PATH} is missing in CI")
        pytest.skip(f"{CHROMIUM_PATH} is missing: run scripts/install_system_deps.sh")
    with playwright_sync.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    """A fresh phone-sized page; fails the test if the page throws an uncaught script error."""
    context = phone_context(browser, server_url)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    tab = context.new_page()
    script_errors: list[str] = []
    tab.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        yield tab
        assert script_errors == [], f"uncaught script errors: {script_errors}"
    finally:
        context.close()


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
    if hit["number"]:
        assert hit["number"].strip().rstrip(".．、") in provenance


def test_chat_answer_original_text_and_follow_up(page: Any) -> None:
    page.goto("/")
    expect(page.locator("#starters .chip").first).to_be_visible()
    screenshot(page, "01-chat-start")

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
    screenshot(page, "02-chat-answer")

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
    screenshot(page, "03-original-text")

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
    screenshot(page, "04-chat-follow-up")

    # 复制引用 puts the hit's citation on the clipboard.
    follow_cards.first.get_by_role("button", name="复制引用").click()
    expect(follow_cards.first.locator(".btn-copy")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == follow["hits"][0]["citation"]


def test_document_address_opens_the_original_text_at_the_clause(page: Any) -> None:
    document = page.request.get("/api/v1/documents/changning-plan").json()
    clause = document["clauses"][len(document["clauses"]) // 2]
    page.goto(f"/doc/changning-plan?clause={quote(clause['id'])}")
    target = page.get_by_role("dialog").locator(".doc-clause.is-target")
    expect(target).to_be_in_viewport()
    assert target.get_attribute("data-clause-id") == clause["id"]
    assert target.locator(".clause-text").text_content() == clause["text"]
    expect(page.get_by_role("dialog").locator(".viewer-title")).to_have_text(document["doc"]["title"])
    page.get_by_role("dialog").get_by_role("button", name="返回").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#question")).to_be_visible()
    assert urlparse(page.url).path == "/"


def test_question_in_address_is_asked_on_load(page: Any) -> None:
    with page.expect_response("**/api/v1/ask") as response_info:
        page.goto("/?q=" + quote("长宁区社区托育宝宝屋建设"))
    answer = response_info.value.json()
    assert answer["status"] == "found"
    card = last_answer(page).locator(".source-card").first
    expect(card).to_be_visible()
    assert card.get_attribute("data-doc-id") == "changning-plan"
    assert "q=" not in page.url
    expect(page.locator(".msg-user").first).to_have_text("长宁区社区托育宝宝屋建设")


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
    screenshot(page, "01b-chat-loading")
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
    screenshot(page, "05-chat-errors")

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
    _, answer = ask(page, "量子计算机的量子比特纠错码怎么设计")
    assert answer["status"] == "not_found", answer
    reply = last_answer(page)
    expect(reply).to_have_attribute("data-status", "not_found")
    expect(reply.locator(".not-found")).to_have_text(answer["message"])
    assert reply.locator(".chip").all_text_contents() == answer["suggestions"]
    screenshot(page, "06-chat-not-found")
    if answer["suggestions"]:
        with page.expect_response("**/api/v1/ask"):
            reply.locator(".chip").first.click()
        expect(page.locator(".msg-user").last).to_have_text(answer["suggestions"][0])


def test_staff_search_copy_reference_lookup_and_outline(page: Any) -> None:
    page.goto("/staff")
    documents = page.request.get("/api/v1/documents").json()
    expect(page.locator("#documents > li")).to_have_count(len(documents))
    assert page.locator("#filter-doc option").count() == len(documents) + 1
    regions = page.locator("#filter-region option").all_text_contents()
    assert "长宁区" in regions and "渝中区" in regions

    # Search with a region filter: every result is from that region, shown as a citation with its text.
    page.fill("#query", "托育")
    page.select_option("#filter-region", "长宁区")
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
    items.first.get_by_role("button", name="复制引用").click()
    expect(items.first.locator(".btn-copy")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == result["hits"][0]["citation"]
    screenshot(page, "07-staff-search")

    # A clause reference typed in the same box is resolved by the API.
    page.select_option("#filter-region", "")
    page.fill("#query", "长宁区行动计划第(20)条")
    with page.expect_response("**/api/v1/search") as response_info:
        page.press("#query", "Enter")
    first = response_info.value.json()["hits"][0]
    assert first["doc_id"] == "changning-plan"
    assert "(20)" in first["text"]
    expect(items.first).to_have_attribute("data-clause-id", first["id"])
    screenshot(page, "08-staff-reference")

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
    screenshot(page, "09-staff-outline")
    leaf.click()
    target = page.get_by_role("dialog").locator(".doc-clause.is-target")
    expect(target).to_be_in_viewport()
    screenshot(page, "10-staff-original-text")
