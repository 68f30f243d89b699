"""The Streamlit app driven headlessly with ``AppTest``: a tiny inline corpus, the hash embedder.

Each test builds its own index in ``tmp_path`` and points the app at it through
``QA_CORPUS`` / ``QA_INDEX`` / ``QA_MODEL=hash``, so nothing here loads the real
model and the tests run in seconds, in any order.
"""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

import app
from qa.engine import MAX_QUESTION_CHARS, Engine, build
from qa.index import current_build, load_index
from qa.jobs import IndexJob, IndexJobs

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT_S = 30

REGISTRATION = """# Registration Convention

## Article II

When a space object is launched into earth orbit or beyond, the launching State shall register the space \
object by means of an entry in an appropriate registry which it shall maintain.
"""
LIABILITY = """# Liability Convention

## Article II

A launching State shall be absolutely liable to pay compensation for damage caused by its space object on \
the surface of the earth or to aircraft in flight.
"""
DIPLOMACY = """---
title: "Space diplomacy"
type: article
---
# Space diplomacy

## Abstract

Space security is undertaken by international organizations, such as the UN or NATO.

## References

Hart, B. L. (2007). Anti-satellite weapons, threats, laws and the uncertain future of Space. Institute of \
Air and Space Law, McGill University.

Campbell, K. M. (1991). The U.S.-Soviet Agreement on the Prevention of Dangerous Military Activities. \
„Security Studies” No 1, Vol. 1. DOI: 10.1080/09636419109347459.
"""
HOSTILE = """# Hostile <b>notice</b> **title**

The hostile satellite notice warns about orbital debris: <script>alert(1)</script> and **bold** \
[link](javascript:x) appear here.
"""
DOCS = {"registration.md": REGISTRATION, "liability.md": LIABILITY, "diplomacy.md": DIPLOMACY, "hostile.md": HOSTILE}

REGISTRATION_Q = "Who shall register a space object launched into earth orbit?"
HOSTILE_Q = "What does the hostile satellite notice warn about orbital debris?"


@pytest.fixture
def env(tmp_path, monkeypatch) -> SimpleNamespace:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index = tmp_path / "index"
    build(corpus, index, model="hash")
    monkeypatch.setenv("QA_MODEL", "hash")
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(index))
    return SimpleNamespace(corpus=corpus, index=index, tmp=tmp_path)


def run_app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def finish_job(at: AppTest) -> AppTest:
    """Wait for the index update the last run started (it runs in a thread of its own), then run
    the page again, as its once-a-second poll does in the browser. A quick one may have been
    collected by the run that started it already."""
    if "index_job" in at.session_state:
        assert at.session_state["index_job"].wait(TIMEOUT_S)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unescape_md(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def html_values(at: AppTest) -> list[str]:
    return [h.value for h in at.html]


def markdown_like(at: AppTest) -> list[str]:
    """Every rendered string Streamlit interprets as Markdown: text, captions, alerts, labels."""
    values = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for kind in ("error", "warning", "success", "info"):
        values += [e.value for e in getattr(at, kind)]
    values += [e.label for e in at.expander] + [b.label for b in at.button]
    return values


def last_entry(at: AppTest) -> dict:
    return at.session_state["history"][-1]


# ------------------------------------------------------------------ answers


def test_answer_shows_verbatim_quote_marker_confidence_and_citation(env):
    at = ask(run_app(), REGISTRATION_Q)

    entry = last_entry(at)
    answer = entry["answer"]
    assert not answer["abstained"]
    cite = answer["citations"][0]
    assert cite["doc_id"] == "registration"
    text = load_index(env.index).documents["registration"].text
    assert text[cite["start"] : cite["end"]] == cite["quote"] == answer["answer"]

    assistant = at.chat_message[1]
    quote_html = [h for h in assistant.html if "qa-quote" in h.value]
    assert quote_html and html.escape(cite["quote"]) in quote_html[0].value
    assert '<span class="qa-marker">[1]</span>' in quote_html[0].value
    threshold = answer["explain"]["threshold"]
    assert any(
        p.proto.text.startswith("Confidence: ") and p.proto.text.endswith(f"; answers start at {threshold:.2f})")
        for p in assistant.get("progress")
    )
    labels = [unescape_md(e.label) for e in assistant.expander]
    assert "[1] Registration Convention › Article II" in labels
    # The expander shows the passage with the span marked, offsets and the share link.
    passage = next(h.value for h in assistant.html if "qa-passage" in h.value)
    assert f'<mark class="qa-hit">{html.escape(cite["quote"])}</mark>' in passage
    assert f"characters {cite['start']:,}–{cite['end']:,}" in passage
    assert any(f"?doc=registration&start={cite['start']}&end={cite['end']}" in c.value for c in assistant.code)
    assert any(b.label == "Verify in source" for b in assistant.button)
    # The runners-up sit after the citations in a closed expander, verbatim.
    runners = next(e for e in assistant.expander if unescape_md(e.label) == "Runners-up (not the answer)")
    assert answer["closest"] and not runners.proto.expanded
    first = html.escape(" ".join(answer["closest"][0]["quote"].split()), quote=True)
    assert any(first in h.value and "qa-closest" in h.value for h in runners.html)
    # The new turn is scrolled into view (the chat box in st.bottom no longer pins the page).
    assert any(v.startswith("<script>") and "stChatMessage" in v and "scrollIntoView" in v for v in html_values(at))
    # Each runner-up opens in the source view at its own span.
    runners.button[0].click().run()
    near = answer["closest"][0]
    assert (at.query_params["doc"], at.query_params["start"], at.query_params["end"]) == (
        near["doc_id"],
        str(near["start"]),
        str(near["end"]),
    )


def test_rerun_redraws_the_history_exactly(env):
    at = ask(run_app(), REGISTRATION_Q)
    before = [h.value for h in at.chat_message[1].html]
    at.run()
    assert [h.value for h in at.chat_message[1].html] == before
    assert len(at.session_state["history"]) == 1  # a rerun does not ask again


def test_abstention_looks_different_and_lists_closest_sentences(env, monkeypatch):
    at = ask(run_app(), "zzzz qqqq")  # nothing comes near: no sentences are offered
    answer = last_entry(at)["answer"]
    assert answer["abstained"] and not answer["citations"] and not answer["closest"]
    values = [h.value for h in at.chat_message[1].html]
    assert any("qa-abstain" in v and "The corpus does not answer this." in v for v in values)
    assert any("Nothing in the corpus comes close to this question." in v for v in values)
    assert not any("Closest sentences" in v for v in values)

    # A near miss: the answerer refuses (here, every answer is refused), yet shows what came close.
    real_ask = Engine.ask
    monkeypatch.setattr(Engine, "ask", lambda self, q, **kw: real_ask(self, q, **{**kw, "threshold": 1.01}))
    at = ask(at, REGISTRATION_Q)
    answer = last_entry(at)["answer"]
    assert answer["abstained"] and not answer["citations"]
    assistant = at.chat_message[3]
    values = [h.value for h in assistant.html]
    assert any("qa-abstain" in v and "The corpus does not answer this." in v for v in values)
    assert any("Closest sentences, <em>not</em> an answer" in v for v in values)
    first = answer["closest"][0]  # the nearest sentence, verbatim, as the user reads it
    assert any(html.escape(" ".join(first["quote"].split()), quote=True) in v for v in values)
    assert not any("qa-quote" in v for v in values)
    assert not any(unescape_md(e.label).startswith("[1]") for e in assistant.expander)


def test_reference_citation_shows_source_metadata_and_doi_link(env):
    at = ask(run_app(), "Who wrote The U.S.-Soviet Agreement on the Prevention of Dangerous Military Activities?")

    cite = last_entry(at)["answer"]["citations"][0]
    assert cite["locator"] == "Space diplomacy › Reference 2"
    table = next(h.value for h in at.chat_message[1].html if "qa-meta" in h.value)
    assert '<a href="https://doi.org/10.1080/09636419109347459"' in table
    assert "<th>Venue</th><td>Security Studies</td>" in table
    assert "<th>Authors</th><td>Campbell, K. M.</td>" in table
    assert "<th>Year</th><td>1991</td>" in table


def test_markdown_export_has_footnotes_and_full_reference_entries(env):
    at = ask(run_app(), "Who wrote The U.S.-Soviet Agreement on the Prevention of Dangerous Military Activities?")

    md = next(c.value for c in at.chat_message[1].code if "[^1]:" in c.value)
    assert md.startswith("**Question:** Who wrote The U.S.-Soviet Agreement")
    assert re.search(r"^> .*Campbell.* \[\^1\]$", md, re.M)
    footnote = next(line for line in md.splitlines() if line.startswith("[^1]:"))
    assert "Space diplomacy › Reference 2, characters" in footnote
    assert "Campbell, K. M. (1991)" in footnote and "Security Studies" in footnote
    assert "DOI: https://doi.org/10.1080/09636419109347459" in footnote
    download = at.chat_message[1].get("download_button")
    assert download and download[0].proto.label == "Markdown"


def test_explain_toggle_shows_candidate_spans_and_scores(env):
    at = ask(run_app(), REGISTRATION_Q)
    assert not at.chat_message[1].get("arrow_data_frame")
    at.toggle(key="explain-0").set_value(True).run()

    frames = at.chat_message[1].dataframe
    assert len(frames) == 1
    df = frames[0].value
    assert {"score", "text", "semantic", "lexical", "passage", "question type", "source", "in answer"} <= set(
        df.columns
    )
    assert df["score"].is_monotonic_decreasing and len(df) >= 1
    assert df["in answer"].iloc[0] == "answer" and set(df["in answer"].iloc[1:]) <= {"", "joined"}
    assert not {"selector", "rank"} & set(df.columns)  # no selector ran: no empty columns for it
    assert df["probability"].between(0, 1).all() and df["probability"].is_monotonic_decreasing
    assert any("Answer threshold" in c.value for c in at.chat_message[1].caption)


def test_explain_rows_say_which_candidates_the_selector_did_not_read():
    def cand(start, selector):
        return {
            "doc_id": "d",
            "start": start,
            "end": start + 5,
            "text": "t",
            "score": 0.5,
            "semantic": 0.5,
            "lexical": 0.5,
            "passage": 0.5,
            "rank": 0.55,
            "probability": 0.6,
            "selector": selector,
        }

    explain = {"candidates": [cand(0, 0.8123), cand(10, None)], "joined": [[10, 15]]}
    first, second = app.explain_rows(explain, abstained=False)
    assert (first["selector"], second["selector"]) == ("0.812", "not read")
    assert (first["in answer"], second["in answer"]) == ("answer", "joined")
    refused = app.explain_rows({"candidates": [cand(0, None)]}, abstained=True)
    assert "selector" not in refused[0] and "rank" not in refused[0] and refused[0]["in answer"] == ""


def test_the_document_filter_names_documents_by_their_short_title(env):
    # An app user test: options were the first 48 characters of full treaty titles.
    (env.corpus / "widgets.md").write_text(
        "# Treaty on Principles Governing the Activities of States with Widgets (Widget Treaty)\n\n"
        "The parties shall register every widget.\n"
    )
    build(env.corpus, env.index, model="hash")
    assert "Widget Treaty" in run_app().multiselect(key="doc_filter").options


def test_settings_filter_mode_and_k_reach_the_engine(env):
    at = run_app()
    at.multiselect(key="doc_filter").set_value(["liability"])
    at.segmented_control(key="mode").set_value("lexical")
    at.slider(key="k").set_value(2)
    ask(at, REGISTRATION_Q)

    entry = last_entry(at)
    assert entry["settings"] == {"k": 2, "mode": "lexical", "doc_ids": ["liability"]}
    docs = {p["doc_id"] for p in entry["answer"]["passages"]}
    assert docs == {"liability"}
    # ... and the answer says it was searched in that document only.
    assert any("lexical · k=2 · only liability ·" in c.value for c in at.chat_message[1].caption)


# ------------------------------------------------------------------ verify and deep links


def _verify_first_citation(at: AppTest) -> dict:
    cite = last_entry(at)["answer"]["citations"][0]
    at.button(key=f"verify-0-{cite['n']}").click().run()
    assert not at.exception
    return cite


def test_verify_in_source_highlights_the_span_and_checks_the_current_file(env):
    at = ask(run_app(), REGISTRATION_Q)
    cite = _verify_first_citation(at)

    assert at.query_params["doc"] == "registration"
    assert (at.query_params["start"], at.query_params["end"]) == (str(cite["start"]), str(cite["end"]))
    source = next(v for v in html_values(at) if 'class="qa-source"' in v)
    assert f'<mark class="qa-hit" id="qa-source-hit">{html.escape(cite["quote"])}</mark>' in source
    assert any(v.startswith("<script>") and 'getElementById("qa-source-hit")' in v for v in html_values(at))
    assert any("Verified" in s.value for s in at.success)
    assert any(f"characters {cite['start']:,}–{cite['end']:,}" in c.value for c in at.caption)


def test_verify_flags_a_source_changed_after_indexing(env):
    at = ask(run_app(), REGISTRATION_Q)
    cite = _verify_first_citation(at)
    path = env.corpus / "registration.md"

    path.write_text(REGISTRATION + "\nAn added paragraph after the cited span.\n", encoding="utf-8")
    at.run()
    assert not at.success
    assert any(
        "changed since indexing" in unescape_md(w.value) and "still hold" in unescape_md(w.value) for w in at.warning
    )

    path.write_text("# Preface added on top\n\n" + REGISTRATION, encoding="utf-8")
    at.run()
    errors = [unescape_md(e.value) for e in at.error]
    assert any("no longer at" in e for e in errors), errors
    source = next(v for v in html_values(at) if 'class="qa-source"' in v)
    assert "Preface added on top" in source  # the current file is what is shown, flagged
    moved = path.read_text(encoding="utf-8").find(cite["quote"])
    assert f"characters {moved:,}–{moved + len(cite['quote']):,}" in errors[0]


def test_citation_is_flagged_when_its_document_changes_and_after_the_reindex(env):
    at = ask(run_app(), REGISTRATION_Q)
    assert not at.chat_message[1].warning

    (env.corpus / "registration.md").write_text("# Preface added on top\n\n" + REGISTRATION, encoding="utf-8")
    at.run()
    warnings = [unescape_md(w.value) for w in at.chat_message[1].warning]
    assert any("changed, or is missing, since it was indexed" in w for w in warnings), warnings

    # The new build matches the file again, but this answer's offsets point into the old text
    # (found by bench/load.py: such citations were shown without any warning).
    build(env.corpus, env.index, model="hash")
    at.run()
    assert not at.exception
    warnings = [unescape_md(w.value) for w in at.chat_message[1].warning]
    assert any("re-indexed after this answer" in w for w in warnings), warnings
    # Said above the citations too, not only inside the collapsed one (an app user test), and
    # no share link to offsets that now hold other text.
    assert any(w.startswith("Citation [1] may no longer hold") for w in warnings), warnings
    assert not any("?doc=registration" in c.value for c in at.chat_message[1].code)


def test_query_string_opens_the_source_view_at_the_span(env):
    text = load_index(env.index).documents["liability"].text
    start = text.index("A launching State shall be absolutely liable")
    end = text.index("in flight.") + len("in flight.")
    at = run_app(doc="liability", start=str(start), end=str(end))

    source = next(v for v in html_values(at) if 'class="qa-source"' in v)
    assert f'id="qa-source-hit">{html.escape(text[start:end])}</mark>' in source
    # A link carries offsets, no quote: it is shown as indexed, never as a green "Verified"
    # (an app user test: any hand-made span looked authenticated).
    assert not at.success and any("as indexed" in i.value for i in at.info)
    assert any(f"?doc=liability&start={start}&end={end}" in c.value for c in at.code)
    at.button(key="close_source").click().run()
    assert "doc" not in at.query_params
    assert not any('class="qa-source"' in v for v in html_values(at))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"doc": "no_such_doc", "start": "0", "end": "5"}, "No document"),
        ({"doc": "liability", "start": "0", "end": "999999"}, "outside this document"),
        ({"doc": "liability", "start": "x", "end": "5"}, "whole numbers"),
        ({"doc": "liability", "start": "9", "end": "3"}, "not valid"),
        ({"doc": "liability", "start": "10", "end": "10"}, "not valid"),  # an empty span highlights nothing
    ],
)
def test_bad_links_show_an_error_and_the_app_keeps_working(env, query, message):
    at = run_app(**query)
    assert any(message in unescape_md(e.value) for e in at.error), [e.value for e in at.error]
    ask(at, REGISTRATION_Q)
    assert not last_entry(at)["answer"]["abstained"]


# ------------------------------------------------------------------ uploads


def test_upload_and_reindex_makes_the_new_document_searchable(env):
    at = run_app()
    assert at.sidebar.metric[0].value == "4"
    lunar = b"# Lunar Mining\n\nHelium three extraction on the lunar surface needs a permit from the lunar authority.\n"
    at.file_uploader[0].set_value([("../../lunar.md", lunar, "text/markdown")])
    at.run()
    finish_job(at.button(key="add_docs").click().run())

    assert (env.corpus / "lunar.md").read_bytes() == lunar
    assert not (env.tmp / "lunar.md").exists() and not (env.tmp.parent / "lunar.md").exists()
    assert any("Added lunar" in unescape_md(s.value) for s in at.success)
    assert any("folder part ignored" in unescape_md(w.value) for w in at.warning)
    at.file_uploader[0].set_value([("empty.txt", b"", "text/plain")])
    at.run()
    finish_job(at.button(key="add_docs").click().run())
    skipped = [unescape_md(w.value) for w in at.warning if "empty.txt" in unescape_md(w.value)]
    assert skipped and all(w.count("empty.txt") == 1 for w in skipped), skipped  # named once
    assert at.sidebar.metric[0].value == "5"  # a fresh engine, no restart
    ask(at, "Who issues a permit for helium three extraction on the lunar surface?")
    assert last_entry(at)["answer"]["citations"][0]["doc_id"] == "lunar"

    # A file named like a corpus document, with other content: refused unless replacing is chosen.
    before = (env.corpus / "liability.md").read_bytes()
    fake = b"# Fake\n\nThree lines.\n"
    at.file_uploader[0].set_value([("liability.md", fake, "text/markdown")])
    at.run()
    finish_job(at.button(key="add_docs").click().run())
    assert (env.corpus / "liability.md").read_bytes() == before
    assert any("already in the corpus with other content" in unescape_md(w.value) for w in at.warning)
    at.checkbox(key="replace_uploads").check().run()
    at.file_uploader[0].set_value([("liability.md", fake, "text/markdown")])
    at.run()
    finish_job(at.button(key="add_docs").click().run())
    assert (env.corpus / "liability.md").read_bytes() == fake


def test_questions_are_answered_while_an_upload_reindexes(env, monkeypatch):
    # The reindex used to run inside the script run: a question waited for the whole build, and a
    # reload or a sidebar widget stopped the build at its next progress update, leaving the file in
    # the corpus, the index without it, and no message. Now it runs in a thread of its own.
    from qa import engine as qa_engine

    started, release = threading.Event(), threading.Event()
    real_build = qa_engine.build

    def held_build(*args, progress=None, **kwargs):
        progress(3, 10)
        started.set()
        assert release.wait(TIMEOUT_S)
        return real_build(*args, progress=progress, **kwargs)

    monkeypatch.setattr(qa_engine, "build", held_build)
    at = run_app()
    lunar = b"# Lunar Mining\n\nHelium three extraction on the lunar surface needs a permit from the lunar authority.\n"
    at.file_uploader[0].set_value([("lunar.md", lunar, "text/markdown")])
    at.run()
    try:
        at.button(key="add_docs").click().run()  # returns while the build runs: the AppTest would time out
        assert started.wait(TIMEOUT_S)
        at.run()  # what the page's poll shows
        assert [unescape_md(p.proto.text) for p in at.sidebar.progress] == ["Adding lunar.md: 3/10 chunks embedded"]
        assert at.button(key="add_docs").disabled and at.button(key="remove-registration").disabled
        # Questions are answered from the current index meanwhile...
        ask(at, REGISTRATION_Q)
        assert last_entry(at)["answer"]["citations"][0]["doc_id"] == "registration"
        # ...and a widget outside the chat reruns the page without stopping the build.
        at.slider(key="k").set_value(5).run()
        assert not at.session_state["index_job"].finished
        assert at.sidebar.metric[0].value == "4"
    finally:
        release.set()
    finish_job(at)
    assert any("Added lunar.md" in unescape_md(s.value) for s in at.sidebar.success)
    assert at.sidebar.metric[0].value == "5" and not at.sidebar.progress
    assert not at.file_uploader[0].value  # a fresh uploader
    ask(at, "Who issues a permit for helium three extraction on the lunar surface?")
    assert last_entry(at)["answer"]["citations"][0]["doc_id"] == "lunar"


def test_a_job_that_ends_during_a_page_run_is_collected_by_that_run(env, monkeypatch):
    # A review: a job that finished after collect_job had seen it running, but before the sidebar
    # drew the poll, was drawn no poll, so its report waited for the user's next click.
    from qa import engine as qa_engine
    from qa import index as qa_index

    release = threading.Event()
    real_build, real_current = qa_engine.build, qa_index.current_build

    def held_build(*args, **kwargs):
        assert release.wait(TIMEOUT_S)
        return real_build(*args, **kwargs)

    def current(root):  # get_engine's call comes after collect_job's look: the job ends in between
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        job = ctx.session_state["index_job"] if ctx and "index_job" in ctx.session_state else None
        if job is not None and not release.is_set():
            release.set()
            assert job.wait(TIMEOUT_S)
        return real_current(root)

    monkeypatch.setattr(qa_engine, "build", held_build)
    at = run_app()
    at.file_uploader[0].set_value([("lunar.md", b"# Lunar\n\nHelium three needs a permit.\n", "text/markdown")])
    at.run()
    monkeypatch.setattr(qa_index, "current_build", current)
    at.button(key="add_docs").click().run()
    assert release.is_set() and not at.exception, [e.value for e in at.exception]
    assert "index_job" not in at.session_state  # collected in the same AppTest run, no click needed
    assert any("Added lunar.md" in unescape_md(s.value) for s in at.sidebar.success)


def test_one_index_update_at_a_time_and_its_failure_is_kept():
    jobs, release = IndexJobs(), threading.Event()

    def held(progress):
        progress(1, 2)
        assert release.wait(TIMEOUT_S)
        raise app.QAError("the disk is full")

    first = IndexJob("add", "Adding a.md", held)
    assert jobs.start("some/index", first)
    assert not jobs.start("some/../some/index", IndexJob("remove", "Removing b", lambda progress: None))
    assert jobs.running("some/index") is first and jobs.running("other/index") is None
    release.set()
    assert first.wait(TIMEOUT_S)
    assert (first.done, first.total) == (1, 2) and str(first.error) == "the disk is full" and first.result is None
    assert jobs.running("some/index") is None
    second = IndexJob("rebuild", "Rebuilding", lambda progress: "built")
    assert jobs.start("some/index", second) and second.wait(TIMEOUT_S) and second.result == "built"


def test_removing_a_document_deletes_its_file_and_it_is_no_longer_cited(env):
    at = ask(run_app(), REGISTRATION_Q)
    assert last_entry(at)["answer"]["citations"][0]["doc_id"] == "registration"
    _verify_first_citation(at)  # its source is open
    at.multiselect(key="doc_filter").set_value(["registration"]).run()
    finish_job(at.button(key="remove-registration").click().run())

    assert not any((env.corpus / name).exists() for name in ("registration.md", "registration.txt"))
    assert any("Removed registration" in unescape_md(s.value) for s in at.sidebar.success)
    assert at.sidebar.metric[0].value == "3"
    assert "doc" not in at.query_params  # the source view of the removed document closed
    assert at.multiselect(key="doc_filter").value == []  # and the filter no longer names it, saying so
    assert any("dropped from the filter: registration" in unescape_md(w.value) for w in at.sidebar.warning)
    # The earlier answer's citation says why it can no longer be checked.
    assert any("removed from the corpus after this answer" in w.value for w in at.warning)
    assert not any(b.key == "verify-0-1" for b in at.button)  # and offers no check that cannot work
    ask(at, REGISTRATION_Q)
    assert all(c["doc_id"] != "registration" for c in last_entry(at)["answer"]["citations"])


# ------------------------------------------------------------------ safety and errors


def test_hostile_document_text_and_title_are_shown_escaped(env):
    at = ask(run_app(), HOSTILE_Q)
    answer = last_entry(at)["answer"]
    assert answer["citations"][0]["doc_id"] == "hostile"
    assert "<script>alert(1)</script>" in answer["answer"]  # the quote is verbatim...
    at.toggle(key="explain-0").set_value(True).run()

    shown = [h for h in html_values(at) if "alert(1)" in h]
    assert shown, "the hostile text should be on the page"
    for value in shown:  # ...but on the page it is text, never markup
        assert "<script>alert(1)" not in value
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in value
    assert any("&lt;b&gt;notice&lt;/b&gt; **title**" in h for h in html_values(at))
    for value in markdown_like(at):
        assert "<script>" not in value and "<b>" not in value
        assert "](javascript:" not in value and "**title**" not in value and "**bold**" not in value
    assert any(
        unescape_md(label) == "Hostile <b>notice</b> **title**" for label in (e.label for e in at.sidebar.expander)
    )
    export = next(c.value for c in at.code if "[^1]:" in c.value)
    assert "<script>" not in export and r"\<script\>alert(1)\</script\>" in export

    at = run_app(doc="hostile")  # the whole-document view
    source = next(v for v in html_values(at) if 'class="qa-source"' in v)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source and "<script>" not in source


def test_corrupt_index_shows_an_error_and_the_app_keeps_working(env):
    (current_build(env.index) / "manifest.json").write_text("{not json", encoding="utf-8")
    at = run_app()

    assert any("corrupt" in unescape_md(e.value) for e in at.error), [e.value for e in at.error]
    assert at.chat_input, "the chat stays usable"
    ask(at, REGISTRATION_Q)
    assert "no index is loaded" in last_entry(at)["error"]
    assert any("No index is loaded" in unescape_md(e.value) for e in at.chat_message[1].error)

    finish_job(at.button(key="rebuild_index").click().run())
    assert not any("corrupt" in unescape_md(e.value) for e in at.error)
    assert at.sidebar.metric[0].value == "4"
    ask(at, REGISTRATION_Q)
    assert last_entry(at)["answer"]["citations"][0]["doc_id"] == "registration"


def test_missing_index_is_built_on_start(env, monkeypatch):
    fresh = env.tmp / "fresh-index"
    monkeypatch.setenv("QA_INDEX", str(fresh))
    at = run_app()

    assert (fresh / "CURRENT").is_file()
    assert not at.error
    assert at.sidebar.metric[0].value == "4"


@pytest.mark.parametrize("typed", ["", "   ", "\n\t"])
def test_empty_input_does_nothing(env, typed):
    at = ask(run_app(), typed)
    assert at.session_state["history"] == []
    assert not at.chat_message
    assert not at.error


def test_over_long_question_is_refused_with_a_message(env):
    question = "orbit " * (MAX_QUESTION_CHARS // 6 + 10)
    at = ask(run_app(), question)

    entry = last_entry(at)
    assert entry["answer"] is None and "the limit is 2,000" in entry["error"]
    shown = [unescape_md(e.value) for e in at.chat_message[1].error]
    assert any("limit is 2,000" in e and e.startswith("The question") and e.endswith(".") for e in shown), shown
    assert not any("qa-quote" in h.value for h in at.chat_message[1].html)
    # The chat box was cleared on send: the whole question is given back to shorten and resend.
    assert [c.value for c in at.chat_message[1].code] == [question]


# ------------------------------------------------------------------ pure helpers


def test_md_escape_neutralises_markdown_html_and_directives():
    raw = "**b** _i_ [x](javascript:y) <img src=x> :red[r] $x$ `c` # h &amp;"
    escaped = app.md_escape(raw)
    assert unescape_md(escaped) == raw
    # Every character Markdown, HTML or Streamlit directives give a meaning to is backslash-escaped.
    assert not re.search(r"(?<!\\)[*_\[\]()<>:$`#&]", escaped), escaped


def test_meta_table_links_only_safe_urls():
    table = app._meta_table({"doi": "10.1/x<y", "url": "javascript:alert(1)", "source": "https://ok.example/a?b=1"})
    assert 'href="https://doi.org/10.1/x%3Cy"' in table
    assert "javascript:alert(1)" in table and 'href="javascript' not in table
    assert 'href="https://ok.example/a?b=1"' in table


def test_source_view_sets_headings_in_bold_without_changing_a_character():
    text = "# Treaty <A>\n\n### Article IV\n\nStates shall not place nuclear weapons in orbit.\n## Art"
    start = text.index("IV")  # a span that starts inside a heading line
    end = text.index(" in orbit")
    shown = app.source_html(text, start, end, mark_id="m")
    # Nothing is added or removed: the page text is the document, so offsets hold.
    assert html.unescape(re.sub(r"<[^>]+>", "", shown)) == text
    assert '<span class="qa-h"><span class="qa-md"># </span>Treaty &lt;A&gt;</span>' in shown
    assert '<span class="qa-h"><span class="qa-md">## </span>Art</span>' in shown
    # The tags nest: every span closes before the highlight opens or closes.
    depth = []
    for tag in re.findall(r"<(/?)(span|mark)\b", shown):
        if tag[0]:
            assert depth.pop() == tag[1]
        else:
            depth.append(tag[1])
    assert not depth
    assert "<mark" in shown and app.source_html("no headings # here") == "no headings # here"
    # A highlight that ends mid-line: the rest of that line is not a heading, the next line is.
    cut = app.source_html("Resolution No.# 5\n# Next", 0, 14)
    assert "</mark># 5\n" in cut and '<span class="qa-md"># </span>Next' in cut


def test_source_view_marks_page_breaks_without_adding_a_character():
    text = "First page ends mid sentence and the second page goes on. Third <page>."
    pages = [(0, "1"), (text.index("the second"), "2"), (text.index("Third"), "iii<")]
    start, end = text.index("sentence"), text.index("goes")  # a highlight across a page break
    shown = app.source_html(text, start, end, mark_id="m", pages=pages)

    def plain(fragment: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", fragment))

    assert plain(shown) == text  # the label is CSS content, so offsets still hold
    markers = list(re.finditer(r'<span class="qa-page" data-page="([^"]*)"></span>', shown))
    assert [m.group(1) for m in markers] == ["p. 1", "p. 2", "p. iii&lt;"]
    assert [len(plain(shown[: m.start()])) for m in markers] == [offset for offset, _ in pages]
    assert re.search(r'<mark class="qa-hit" id="m">sentence and <span class="qa-page"[^>]*></span>the second', shown)
    assert "qa-page" not in app.source_html(text)  # no pages given, no markers
    # Blank pages start where the next page does: their markers keep page order (9, 10, 11).
    blank = app.source_html(text, pages=[(0, "8"), (5, "9"), (5, "10"), (5, "11")])
    assert re.findall(r'data-page="p\. (\d+)"', blank) == ["8", "9", "10", "11"]


def test_a_pdf_source_shows_its_page_breaks(env):
    from tests.test_formats import _pdf

    (env.corpus / "notice.pdf").write_bytes(
        _pdf(
            [
                "Launch notice\nThe operator shall notify the\nSecretary-General.",
                "Debris shall be\nminimised at all times.",
            ]
        )
    )
    build(env.corpus, env.index, model="hash")
    doc = load_index(env.index).documents["notice"]
    second = doc.page_starts()[1][0]
    at = run_app(doc="notice", start=str(second), end=str(second + len("Debris")))
    source = next(v for v in html_values(at) if 'class="qa-source"' in v)
    assert source.count('class="qa-page"') == 2 and 'data-page="p. 2"></span><mark' in source
    assert any("as indexed" in i.value for i in at.info)


def test_long_links_are_shortened_for_reading_but_link_in_full():
    base = "https://github.com/statengeneraal/laws-markdown/blob/91556a80/verdrag/convention/on/"
    two = [base + "liability/BWBV0003725/README.md", base + "registration/BWBV0003900/README.md"]
    shown = [app.short_url(u) for u in two]
    assert all(len(x) <= 48 and x.startswith("github.com/…/") and x.endswith("/README.md") for x in shown)
    assert shown[0] != shown[1]  # the end of the path tells them apart
    query = "https://treaties.un.org/pages/ViewDetailsIII.aspx?src=TREATY&mtdsg_no=XXIV-2&chapter=24&clang=_en"
    assert app.short_url(query) == "treaties.un.org/pages/ViewDetailsIII.aspx?…"  # nothing left out but the query
    assert app.short_url("https://www.unoosa.org/") == "unoosa.org"
    assert len(app.short_url("https://" + "h" * 80 + ".org/")) == 48
    table = app._meta_table({"url": two[0]})
    assert f'href="{html.escape(two[0])}"' in table and f">{html.escape(shown[0])}</a>" in table


def test_source_view_refuses_a_document_whose_file_became_an_outward_link(env):
    secret = env.tmp / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (env.corpus / "liability.md").unlink()
    (env.corpus / "liability.md").symlink_to(secret)
    at = run_app(doc="liability")
    errors = [unescape_md(e.value) for e in at.error]
    assert any("liability.md: it is a symbolic link to" in e and "outside the corpus" in e for e in errors), errors
    assert not any('class="qa-source"' in v for v in html_values(at))
    assert not any("root:x" in v for v in html_values(at) + markdown_like(at))


def test_rebuild_uses_the_ray_cluster_when_configured(env, monkeypatch):
    from qa import cluster
    from qa.embedding import HashEmbedder

    used = []

    class FakeRay:  # qa.cluster.RayEmbedder without Ray: test_cluster.py runs the real one
        def __init__(self, address, *, model, name, dimension):
            self.name, self.dimension, self.info = name, dimension, None
            used.append(address)

        def encode_spans(self, texts, spans, *, progress=None):
            return HashEmbedder(self.dimension).encode_spans(texts, spans, progress=progress)

    monkeypatch.setattr(cluster, "RayEmbedder", FakeRay)
    monkeypatch.setenv("QA_RAY_ADDRESS", "ray://head:10001")
    (current_build(env.index) / "manifest.json").write_text("{not json", encoding="utf-8")
    at = run_app()
    finish_job(at.button(key="rebuild_index").click().run())
    assert used == ["ray://head:10001"]
    assert at.sidebar.metric[0].value == "4"


def test_a_joined_answer_sets_its_best_ranked_sentence_in_bold_and_escapes_the_rest():
    quote = "First <b>one</b>. The best one. Last one."
    cite = {"doc_id": "d", "start": 100, "end": 100 + len(quote), "quote": quote}
    best = quote.index("The best one.")
    explain = {"joined": [[100, 117]], "candidates": [{"doc_id": "d", "start": 100 + best, "end": 100 + best + 13}]}
    out = app.quote_html(cite, {"explain": explain})
    assert out == 'First &lt;b&gt;one&lt;/b&gt;. <strong class="qa-best">The best one.</strong> Last one.'
    # One span (nothing joined), a supporting citation, or a best span elsewhere: the plain quote.
    plain = html.escape(quote, quote=True)
    assert app.quote_html(cite, {"explain": {**explain, "joined": []}}) == plain
    assert app.quote_html(cite, None) == plain
    elsewhere = {**explain, "candidates": [{"doc_id": "other", "start": 100, "end": 110}]}
    assert app.quote_html(cite, {"explain": elsewhere}) == plain


def test_a_refusal_of_a_question_in_another_language_says_so(env):
    at = ask(run_app(), "Qui est responsable des dommages causés par un objet spatial?")
    answer = last_entry(at)["answer"]
    assert answer["abstained"] and answer["explain"]["language"] == "French"
    values = [h.value for h in at.chat_message[1].html]
    assert any("qa-abstain" in v and "seems to be in French" in v for v in values)


def test_new_conversation_clears_the_chat_and_downloads_are_named_by_time(env):
    at = run_app()
    ask(at, REGISTRATION_Q)
    entry = last_entry(at)
    # A reload restarts turn numbers; the time asked keeps download names apart.
    assert re.fullmatch(r"\d{8}-\d{6}", entry["asked"])
    assert at.chat_message
    at.button(key="clear_chat").click().run()
    assert not at.exception and at.session_state["history"] == [] and not at.chat_message
