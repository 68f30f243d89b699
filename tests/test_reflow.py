"""qa.reflow: PDF page text made into paragraphs, furniture dropped, offsets of pages kept."""

from __future__ import annotations

from qa.reflow import reflow_pages
from qa.sentences import split_sentences

FULL = "States Parties to the Treaty shall carry on activities in the exploration and use of"  # a full line
PAGE_1 = f"""Journal of Space Law 12
Article IV
{FULL}
outer space in accordance with international law. The moon shall be used for peace-
ful purposes only.
The Treaty lists:
• nuclear weapons;
• weapons of mass destruction.
1"""
PAGE_2 = f"""Journal of Space Law 13
{FULL}
outer space, including the moon and other celestial bodies, for the benefit of all.
Article V
2"""


def test_the_lines_of_a_paragraph_become_one_and_hyphenated_words_are_whole():
    text = reflow_pages([PAGE_1]).text
    assert f"{FULL} outer space in accordance with international law." in text
    assert "for peaceful purposes only." in text
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert f"{FULL} outer space in accordance with international law." in sentences


def test_headings_and_list_items_keep_their_own_lines():
    text = reflow_pages([PAGE_1]).text
    lines = text.split("\n")
    assert "Article IV" in lines  # a short line before a capital: a heading, not running text
    assert "• nuclear weapons;" in lines and "• weapons of mass destruction." in lines
    assert "The Treaty lists:" in lines


def test_running_headers_and_page_numbers_are_dropped_and_page_starts_kept():
    r = reflow_pages([PAGE_1, PAGE_2])
    text, starts = r.text, r.pages
    assert "Journal of Space Law" not in text
    assert not any(line.strip().isdigit() for line in text.split("\n"))
    assert len(starts) == 2 and starts[0] == 0
    assert text[starts[1] :].startswith(FULL)  # page 2's first line, after its header
    assert text.endswith("for the benefit of all.\nArticle V")  # a heading after a full last line


def test_a_lone_heading_at_the_top_of_pages_is_content_not_a_header():
    pages = [f"Article {n}\n{FULL}\nends here." for n in (1, 2, 3)]
    r = reflow_pages(pages)
    text, starts = r.text, r.pages
    assert all(f"Article {n}" in text for n in (1, 2, 3))
    assert [text[s:].split("\n")[0] for s in starts] == ["Article 1", "Article 2", "Article 3"]


def test_a_sentence_that_runs_onto_the_next_page_is_joined():
    r = reflow_pages([f"Intro.\n{FULL}", "outer space freely."])
    text, starts = r.text, r.pages
    assert f"{FULL} outer space freely." in text
    assert text[starts[1] :] == "outer space freely."


def test_empty_pages_keep_their_place():
    r = reflow_pages(["First page.", "", "Third page."])
    text, starts = r.text, r.pages
    assert len(starts) == 3 and text[starts[2] :] == "Third page."


def test_a_short_line_standing_before_running_text_is_a_heading():
    r = reflow_pages([PAGE_1, PAGE_2])
    assert [(r.text[pos : pos + len(title)], level) for pos, level, title in r.headings] == [("Article IV", 2)]
    # "The Treaty lists:" ends in a colon, list items are not headings, and "Article V" has
    # no running text after it.
    # Of two short lines, only the one right above running text: an author line there is taken
    # for a heading too (a known limit; it only names the section in citations).
    pages = ["Fabio Fiorina\nSimon Josefsson\n" + FULL + "\nends here."]
    assert [t for _, _, t in reflow_pages(pages).headings] == ["Simon Josefsson"]


def test_a_pdf_section_is_cited_by_its_heading_and_its_page(tmp_path):
    from qa.chunking import chunk_document
    from qa.types import Document

    r = reflow_pages([PAGE_1, PAGE_2])
    doc = Document("t", "t.pdf", "Treaty", r.text, "x", metadata={"pages": r.pages}, headings=r.headings)
    chunks = chunk_document(doc, chunk_size=120, chunk_overlap=0)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    locators = {c.locator for c in chunks}
    assert "Treaty › Article IV › p. 1" in locators and "Treaty › Article IV › p. 2" in locators
    assert not any(c.text.strip() == "Article IV" for c in chunks)  # the heading is the locator


def test_each_entry_of_a_reference_list_is_its_own_paragraph():
    page = f"""{FULL}
ends here.
References
Hart, B. L. (2007). Anti-satellite weapons, threats, laws and the uncertain future of Space.
Institute of Air and Space Law, McGill University. Montreal: McGill library.
A/RES/47/68; (16.11.2017).
Chanock A. (2013). The problems and potential solutions related to the emergence of Space
Weapons in the 21st Century. JALC No. 4, Vol. 78."""
    r = reflow_pages([page])
    assert [t for _, _, t in r.headings] == ["References"]
    body = r.text[r.text.index("References\n") + len("References\n") :]
    assert [e[:12] for e in body.split("\n\n")] == ["Hart, B. L. ", "A/RES/47/68;", "Chanock A. ("]
    assert "Space Weapons in the 21st Century" in body  # a continuation line stays in its entry
