"""The real app in headless Chromium: ask, read the cited quote, verify it in the source.

Also measures start-up (``streamlit run`` to a usable page with an existing
index) and answer latency, prints them, and writes them with the screenshot to
``tests/e2e/artifacts/``; the screenshot is copied to ``docs/screenshot.png``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from appdriver import ask, open_expander

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # same folder the conftest uses
QUESTION = "Which organizations deal with space security?"
QUOTE = "UN or NATO"
LOCATOR = "Space diplomacy › Abstract"
FIRST_ANSWER_TIMEOUT_MS = 120_000  # the first answer waits for the model to load
ANSWER_TIMEOUT_MS = 60_000
MORE_QUESTIONS = (
    "Can states place nuclear weapons in orbit around the earth?",
    "Who wrote about anti-satellite weapons?",
    "zzzz qqqq",
)


def _app_ms(page, turn: int) -> float:
    """The answer time the app itself reports under answer ``turn`` ("hybrid · k=10 · 1,234 ms")."""
    message = page.get_by_test_id("stChatMessage").nth(2 * turn + 1)
    text = message.get_by_text(re.compile(r"· [\d,]+ ms$")).inner_text()
    return float(re.search(r"([\d,]+) ms$", text).group(1).replace(",", ""))


# Streamlit keeps a chat scrolled to the bottom; the screenshot shows the page from its top.
_SCROLL_PAGE_TO_TOP = """() => document.querySelectorAll("*").forEach(el => {
    if (el.scrollTop > 0 && !el.classList.contains("qa-source")) el.scrollTop = 0;
})"""


# First in the file on purpose: it runs against a server that has just started, so it can time start-up.
@pytest.mark.e2e
@pytest.mark.slow
def test_ask_verify_in_source_and_screenshot(app_server, page, capsys):
    from playwright.sync_api import expect

    timings: dict[str, float] = {"server_healthy_s": round(app_server.healthy_after_s, 2)}
    # Offline means the browser too: every request goes to the app (a Material-icon favicon
    # once had the browser fetch an SVG from fonts.gstatic.com).
    origin = app_server.url.rstrip("/")
    elsewhere: list[str] = []
    page.on("request", lambda r: r.url.startswith((origin, "data:", "blob:")) or elsewhere.append(r.url))

    page.goto(app_server.url, timeout=60_000)
    # Usable = the engine is loaded: the sidebar overview shows the corpus counts, and the chat box is there.
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Documents", timeout=FIRST_ANSWER_TIMEOUT_MS)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=FIRST_ANSWER_TIMEOUT_MS)
    timings["start_to_usable_page_s"] = round(time.perf_counter() - app_server.started, 2)

    timings["first_answer_s"] = round(ask(page, QUESTION, FIRST_ANSWER_TIMEOUT_MS), 2)
    answer = page.get_by_test_id("stChatMessage").nth(1)
    expect(answer.locator(".qa-quote").first).to_contain_text(QUOTE)
    expect(answer.locator(".qa-marker").first).to_have_text("[1]")
    # By its label: the runners-up expander below it may quote the same part of the article.
    citation = answer.get_by_test_id("stExpander").filter(has=page.locator("summary").filter(has_text=LOCATOR))
    expect(citation).to_have_count(1)
    timings["first_answer_app_ms"] = _app_ms(page, 0)

    open_expander(page, citation.locator("summary"))
    expect(citation.locator("mark.qa-hit")).to_contain_text(QUOTE)
    citation.get_by_role("button", name="Verify in source").click()
    mark = page.locator("mark#qa-source-hit")
    expect(mark).to_contain_text(QUOTE, timeout=30_000)
    expect(mark).to_have_text(re.compile(r"^Space security is an important area.*UN or NATO\.$"))
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Verified")
    expect(page).to_have_url(re.compile(r"[?&]doc=space_diplomacy&start=\d+&end=\d+"))
    expect(mark).to_be_in_viewport()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate(_SCROLL_PAGE_TO_TOP)
    page.wait_for_timeout(500)  # let the scroll and fonts settle before the picture
    expect(mark).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"))
    (ROOT / "docs").mkdir(exist_ok=True)
    shutil.copyfile(ARTIFACTS / "screenshot.png", ROOT / "docs" / "screenshot.png")

    # Warm answers: the model is loaded, so this is the per-question cost users feel.
    warm = []
    for i, question in enumerate(MORE_QUESTIONS, start=1):
        seconds = ask(page, question, ANSWER_TIMEOUT_MS)
        warm.append({"question": question, "browser_s": round(seconds, 3), "app_ms": _app_ms(page, i)})
    expect(page.get_by_test_id("stChatMessage").last.locator(".qa-abstain")).to_contain_text(
        "The corpus does not answer this"
    )
    # Each new answer is brought into view: the user sees it without scrolling.
    expect(page.get_by_test_id("stChatMessage").last).to_be_in_viewport()
    expect(page.get_by_test_id("stChatMessage").nth(-2)).to_be_in_viewport()  # with its question
    timings["warm_answers"] = warm
    assert not elsewhere, f"the page asked for resources outside the app: {elsewhere}"

    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
    with capsys.disabled():
        print("\n[e2e timings]", json.dumps(timings, indent=2))


@pytest.mark.e2e
@pytest.mark.slow
def test_shared_link_opens_the_source_at_the_span(app_server, e2e_index, page):
    from playwright.sync_api import expect

    from qa.index import load_index

    text = load_index(e2e_index).documents["space_diplomacy"].text
    end = text.index(QUOTE) + len(QUOTE) + 1  # through the full stop
    start = text.rindex("\n", 0, end) + 1  # the sentence opens its paragraph
    page.goto(f"{app_server.url}?doc=space_diplomacy&start={start}&end={end}", timeout=60_000)
    mark = page.locator("mark#qa-source-hit")
    expect(mark).to_have_text(text[start:end], timeout=FIRST_ANSWER_TIMEOUT_MS)
    expect(mark).to_be_in_viewport()
    # A link has no quote to verify against: an information, not a green "Verified".
    expect(page.get_by_test_id("stAlertContentInfo").filter(has_text="as indexed")).to_be_visible()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_highlight_is_not_hidden_under_the_chat_box(app_server, e2e_index, page, width, height):
    from playwright.sync_api import expect

    from qa.index import load_index

    text = load_index(e2e_index).documents["outer_space_treaty_1967"].text
    start = text.index("States Parties to the Treaty undertake not to place in orbit")
    end = text.index(".", start) + 1
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{app_server.url}?doc=outer_space_treaty_1967&start={start}&end={end}", timeout=60_000)
    mark = page.locator("mark#qa-source-hit")
    expect(mark).to_have_text(text[start:end], timeout=FIRST_ANSWER_TIMEOUT_MS)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
    # The scroll script retries until the mark is laid out; on a loaded machine that can take
    # seconds, so wait (up to 15 s) for the mark to clear the chat box rather than a fixed time.
    for _ in range(30):
        page.wait_for_timeout(500)
        box = mark.bounding_box()
        bar = page.get_by_test_id("stBottom").bounding_box()
        assert box is not None and bar is not None
        if box["y"] >= 0 and box["y"] + box["height"] <= bar["y"]:
            break
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"highlight-{width}x{height}.png"))
    assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"], (box, bar)


@pytest.mark.e2e
@pytest.mark.slow
def test_a_document_opened_from_the_sidebar_on_a_phone_is_not_left_behind_it(app_server, page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(app_server.url, timeout=60_000)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=FIRST_ANSWER_TIMEOUT_MS)
    page.get_by_test_id("stExpandSidebarButton").click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    open_expander(page, sidebar.locator("summary").filter(has_text="Space diplomacy"))
    sidebar.get_by_role("button", name="Open document").first.click()
    expect(page).to_have_url(re.compile(r"[?&]doc=space_diplomacy"), timeout=30_000)
    title = page.locator(".qa-source-title")
    expect(title).to_have_text("Space diplomacy", timeout=30_000)
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    expect(title).to_be_in_viewport()
