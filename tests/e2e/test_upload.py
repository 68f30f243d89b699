"""An upload's reindex in the real app: questions are answered meanwhile, and the upload completes.

Runs its own ``streamlit run`` on a copy of the corpus and the index, since it adds a document.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from appdriver import CHAT_MESSAGE, ROOT, ask, run_app

QUESTION = "Which organizations deal with space security?"
FACT = "The Selene Licensing Office issues the helium three extraction permit on the far side of the Moon."
BUILD_TIMEOUT_MS = 300_000


def _long_report(path: Path, size: int = 300_000) -> None:
    """A few hundred KB of varied sentences (about 400 chunks: several seconds of embedding) and one fact."""
    rng = random.Random(7)
    who = ["The launching State", "Each party", "The operator", "The registry", "The tribunal", "The agency"]
    does = ["shall notify", "may inspect", "must register", "will compensate", "should consult", "may refuse"]
    what = ["the orbital debris", "the lunar station", "the reentry vehicle", "the launch window", "the solar array"]
    paragraphs = []
    while sum(map(len, paragraphs)) < size:
        paragraphs.append(
            " ".join(
                f"{rng.choice(who)} {rng.choice(does)} {rng.choice(what)} within {rng.randint(2, 99)} days "
                f"of notice {rng.randint(1000, 9999)}."
                for _ in range(rng.randint(3, 7))
            )
        )
    paragraphs.insert(40, FACT)
    path.write_text("Orbital Operations Report\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


@pytest.mark.e2e
@pytest.mark.slow
def test_a_question_during_an_upload_is_answered_and_the_upload_completes(browser, e2e_index, tmp_path):
    from playwright.sync_api import expect

    corpus, index = tmp_path / "corpus", tmp_path / "embeddings"
    shutil.copytree(ROOT / "corpus", corpus)
    shutil.copytree(e2e_index, index, ignore=shutil.ignore_patterns(".lock"))
    report = tmp_path / "orbital_report.txt"
    _long_report(report)
    before = (index / "CURRENT").read_text()

    with run_app(corpus, index, tmp_path / "streamlit.log") as server:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            page.goto(server.url, timeout=60_000)
            sidebar = page.get_by_test_id("stSidebar")
            metric = sidebar.get_by_test_id("stMetricValue").first
            expect(metric).to_have_text("7", timeout=120_000)
            sidebar.get_by_role("tab", name="Add documents").click()
            sidebar.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(report))
            expect(sidebar.get_by_text(report.name)).to_be_visible(timeout=30_000)
            sidebar.get_by_role("button", name="Add to corpus and reindex").click()
            progress = sidebar.get_by_test_id("stProgress")
            expect(progress).to_contain_text(f"Adding {report.name}", timeout=30_000)

            # Asked while the new index is built: answered from the current one, at once.
            ask(page, QUESTION, 60_000)
            building = (index / "CURRENT").read_text() == before
            expect(page.get_by_test_id(CHAT_MESSAGE).nth(1).locator(".qa-quote").first).to_contain_text("UN or NATO")
            assert building, "the build ended before the answer: use a longer document to test the overlap"
            expect(progress).to_be_visible()
            # A widget outside the chat reruns the whole page; the build goes on.
            sidebar.get_by_role("slider").first.focus()
            page.keyboard.press("ArrowRight")

            # The upload completes: its report, the new counts, and the new document answers.
            added = sidebar.get_by_test_id("stAlertContentSuccess").filter(has_text=f"Added {report.name}")
            expect(added).to_be_visible(timeout=BUILD_TIMEOUT_MS)
            expect(metric).to_have_text("8")
            expect(progress).to_have_count(0)
            ask(page, "Who issues the helium three extraction permit on the far side of the Moon?", 60_000)
            expect(page.get_by_test_id(CHAT_MESSAGE).nth(3).locator(".qa-quote").first).to_contain_text(
                "Selene Licensing Office"
            )
            expect(page.get_by_test_id(CHAT_MESSAGE)).to_have_count(4)  # the earlier answer is still there
        finally:
            page.close()
    assert (corpus / report.name).is_file() and (index / "CURRENT").read_text() != before
