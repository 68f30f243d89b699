"""The pure helpers of the load test (``bench/load.py``): citation verdicts (``bench/load_scenario.py``) and
reading a turn (``bench/load_browser.py``)."""

from __future__ import annotations

import pytest

from bench.load_browser import parse_turn
from bench.load_scenario import PROBE, Shown, citation_verdict, eval_rows, questions_per_user

OLD = "Title\n\nSpace security is undertaken by the UN or NATO."
NEW = "Title\n\nA new note.\n\nSpace security is undertaken by the UN or NATO."


def _cite(text: str, quote: str, *, flagged: bool = False) -> Shown:
    start = text.index(quote)
    return Shown("doc", start, start + len(quote), quote, flagged)


def test_a_quote_of_the_current_text_is_current_whatever_the_flag():
    assert citation_verdict(_cite(NEW, "the UN or NATO"), OLD, NEW, asked_after_edit=True) == "current"
    assert citation_verdict(_cite(OLD, "Title"), OLD, NEW, asked_after_edit=False) == "current"  # before the edit


@pytest.mark.parametrize(
    ("flagged", "after", "verdict"),
    [(False, False, "previous"), (True, True, "previous"), (False, True, "unflagged"), (True, False, "previous")],
)
def test_a_quote_of_the_old_text_must_be_flagged_when_asked_after_the_edit(flagged, after, verdict):
    cite = _cite(OLD, "the UN or NATO", flagged=flagged)
    assert citation_verdict(cite, OLD, NEW, asked_after_edit=after) == verdict


def test_a_quote_in_neither_text_at_its_offsets_is_wrong():
    moved = Shown("doc", 0, 14, "the UN or NATO", True)  # in both texts, but not at these offsets
    assert citation_verdict(moved, OLD, NEW, asked_after_edit=True) == "wrong"
    assert citation_verdict(Shown("doc", 0, 0, "", False), OLD, NEW, asked_after_edit=False) == "wrong"
    assert citation_verdict(_cite(OLD, "Title"), None, None, asked_after_edit=False) == "wrong"  # unknown document


def _raw(quotes, links, *, errors=(), flagged=False):
    cites = [{"link": link, "flagged": flagged} for link in links]
    return {"quotes": quotes, "cites": cites, "abstained": False, "errors": list(errors)}


def test_parse_turn_reads_the_quote_and_the_share_link():
    raw = _raw(["“Space\nsecurity”"], ["http://127.0.0.1:8501/?doc=space_diplomacy&start=79&end=94\n"], flagged=True)
    assert parse_turn(raw) == ([Shown("space_diplomacy", 79, 94, "Space\nsecurity", True)], None)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (_raw(["“a”"], ["?doc=d&start=1&end=2"], errors=["boom"]), "error shown: boom"),
        (_raw(["“a”", "“b”"], ["?doc=d&start=1&end=2"]), "2 quotes but 1 citations shown"),
        (_raw(["“a”"], [""]), "unreadable citation"),
        (_raw(["a"], ["?doc=d&start=1&end=2"]), "unreadable citation"),
    ],
)
def test_parse_turn_reports_a_page_that_does_not_add_up(raw, error):
    shown, problem = parse_turn(raw)
    assert shown == [] and problem.startswith(error)


def test_every_user_gets_answerable_and_unanswerable_questions_and_the_probe_last():
    sessions = questions_per_user(8, 10)
    unanswerable = {r["question"] for r in eval_rows() if not r["answerable"]}
    assert len(sessions) == 8 and all(len(qs) == 10 and qs[-1] == PROBE for qs in sessions)
    assert all(sum(q in unanswerable for q in qs) == 2 for qs in sessions)
