"""Markdown export and share links (``qa.export``); the app's use of them is in test_app.py."""

from __future__ import annotations

import dataclasses

from qa.export import answer_markdown, confidence_word, reference_entry, share_link
from qa.types import Answer, Citation, Passage

CITATION = Citation(
    n=1,
    doc_id="article",
    title="Space diplomacy",
    locator="Space diplomacy › Reference 2",
    quote="Milik, P. (2016). Rules for the *transfer* of weapons.",
    start=10,
    end=63,
    score=0.9,
    metadata={
        "authors": ["Milik, P."],
        "year": "2016",
        "title": "Rules for the transfer of weapons",
        "container": "Security and Defence Quarterly",
        "issue": "13(4)",
        "doi": "10.35467/sdq/103233",
    },
)
ANSWER = Answer(
    question="Who wrote about [weapons]?",
    answer=CITATION.quote,
    abstained=False,
    confidence=0.8,
    citations=(CITATION,),
    passages=(),
    explain={"threshold": 0.4},
)


def test_answer_markdown_quotes_with_footnotes_and_escapes_markup():
    md = answer_markdown(ANSWER)
    assert md.startswith(r"**Question:** Who wrote about \[weapons\]?")
    assert r"> Milik, P. (2016). Rules for the \*transfer\* of weapons. [^1]" in md
    assert "Confidence: 0.80 (high)" in md
    assert md.rstrip().endswith(
        "[^1]: Space diplomacy › Reference 2, characters 10–63 of `article`. Milik, P. (2016). "
        "Rules for the transfer of weapons. Security and Defence Quarterly. No. 13(4). "
        "DOI: https://doi.org/10.35467/sdq/103233."
    )


def test_footnote_prefix_keeps_several_answers_apart():
    md = answer_markdown(ANSWER, footnote_prefix="q2-")
    assert "[^q2-1]" in md and "[^1]" not in md


def test_abstention_lists_closest_sentences_as_not_an_answer():
    passage = Passage("treaty", "treaty#0", "Treaty", "Treaty › Article I", "Outer space   shall be free.", 0, 28, 0.2)
    near = Citation(1, "treaty", "Treaty", "Treaty › Article I", "Outer space   shall be free.", 0, 28, 0.1)
    md = answer_markdown(Answer("zzzz?", "", True, 0.1, (), (passage,), closest=(near,)))
    assert "*The corpus does not answer this* (confidence 0.10)." in md
    assert "- Treaty › Article I (treaty, characters 0–28): “Outer space shall be free.”" in md
    assert "[^" not in md
    again = Answer.from_dict(dataclasses.asdict(Answer("zzzz?", "", True, 0.1, (), (passage,), closest=(near,))))
    assert again.closest == (near,)
    assert "Nothing in the corpus comes close" not in md
    alone = answer_markdown(Answer("zzzz?", "", True, 0.1, (), (passage,)))
    assert "Nothing in the corpus comes close to this question." in alone and "Closest" not in alone


def test_answer_survives_the_json_round_trip():
    assert Answer.from_dict(dataclasses.asdict(ANSWER)) == ANSWER


def test_reference_entry_and_confidence_word():
    assert reference_entry({"un_symbol": "A/RES/61/75", "date": "2006"}) == "UN document A/RES/61/75. 2006."
    assert reference_entry({}) == ""
    assert [confidence_word(c, 0.4) for c in (0.3, 0.45, 0.55, 0.7)] == ["below threshold", "low", "medium", "high"]


def test_share_link_keeps_only_the_apps_address():
    assert share_link("treaty") == "?doc=treaty"
    assert share_link("a b/c", 3, 9) == "?doc=a+b%2Fc&start=3&end=9"
    assert share_link("t", 1, 2, base="http://host:8501/app?doc=x#top") == "http://host:8501/app?doc=t&start=1&end=2"
    assert share_link("t", base="http://host:8501") == "http://host:8501/?doc=t"


def test_an_answers_runners_up_stay_out_of_the_export():
    near = Citation(1, "treaty", "Treaty", "Treaty › Article I", "Outer space shall be free.", 0, 26, 0.1)
    md = answer_markdown(dataclasses.replace(ANSWER, closest=(near,)))
    assert md == answer_markdown(ANSWER) and "Outer space" not in md
