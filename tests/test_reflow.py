"""qa.reflow: PDF page text made into paragraphs, furniture dropped, offsets of pages kept."""

from __future__ import annotations

import re

from qa.reflow import pdf_title, raise_marks, reflow_pages
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
    text = reflow_pages([PAGE_1.rsplit("\n", 1)[0]]).text  # without its page number
    lines = text.split("\n")
    assert "Article IV" in lines  # a short line before a capital: a heading, not running text
    assert "• nuclear weapons;" in lines and "• weapons of mass destruction." in lines
    assert "The Treaty lists:" in lines


def test_running_headers_and_page_numbers_are_dropped_and_page_starts_kept():
    page_3 = "Journal of Space Law 14\nArticle VI\nStates Parties shall bear international responsibility.\n3"
    r = reflow_pages([PAGE_1, PAGE_2, page_3])
    text, starts = r.text, r.pages
    # On pages 2 and 3 the header goes; page 1's top line stays (it may be the title).
    assert text.count("Journal of Space Law") == 1 and text.startswith("Journal of Space Law 12\n")
    assert not any(line.strip().isdigit() for line in text.split("\n"))  # 1, 2, 3 count up with the pages
    assert len(starts) == 3 and starts[0] == 0
    assert text[starts[1] :].startswith(FULL)  # page 2's first line, after its header
    assert "for the benefit of all.\nArticle V\n" in text  # a heading after a full last line


def test_only_repeated_furniture_is_dropped():
    # A header on two pages of three is not enough; a year closing a paragraph at the foot of a
    # page is not a page number (it does not count up with the pages).
    pages = [f"Table {n} Launches per year\n{FULL}\ninto force on 10 October\n1967." for n in (1, 2)]
    text = reflow_pages([*pages, "The end."]).text
    assert text.count("Launches per year") == 2 and text.count("1967.") == 2


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
    r = reflow_pages([PAGE_1, PAGE_2, PAGE_2.replace("13", "14").replace("\n2", "\n3")])
    found = [(r.text[pos : pos + len(title)], level) for pos, level, title in r.headings]
    assert found == [("Article IV", 2), ("Article V", 2)]  # the last "Article V" has no text after it
    # "The Treaty lists:" ends in a colon, list items are not headings, and "Article V" has
    # no running text after it.
    # Of two short lines, only the one right above running text: an author line there is taken
    # for a heading too (a known limit; it only names the section in citations).
    pages = ["Fabio Fiorina\nSimon Josefsson\n" + FULL + "\nends here."]
    assert [t for _, _, t in reflow_pages(pages).headings] == ["Simon Josefsson"]


def test_a_pdf_section_is_cited_by_its_heading_and_its_page(tmp_path):
    from qa.chunking import chunk_document
    from qa.types import Document

    r = reflow_pages([PAGE_1, PAGE_2, PAGE_2.replace("13", "14").replace("\n2", "\n3")])
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


def test_a_word_broken_at_its_own_hyphen_keeps_it():
    lines = (
        f"{FULL}\nnon-\nbinding rules and peace-\nful uses, and a long-\nterm plan for co-\noperation.\n"
        "The long-term plan."
    )
    text = reflow_pages([lines]).text
    assert "non-binding rules" in text  # a prefix written with a hyphen
    assert "peaceful uses" in text  # a typesetter's break
    assert "a long-term plan" in text  # the document writes "long-term" elsewhere
    assert "co-operation" in text


def test_a_reference_list_ends_only_at_a_real_heading():
    page = f"""{FULL}
ends here.
References
Hart, B. L. (2007). Anti-satellite weapons, threats, laws and the uncertain future of Space. Montreal: McGill
University Press
Chanock A. (2013). The problems of Space Weapons.
Appendix
{FULL}
ends here."""
    r = reflow_pages([page])
    assert [t for _, _, t in r.headings] == ["References", "Appendix"]
    body = r.text[r.text.index("References") : r.text.index("Appendix")]
    entries = body.split("\n", 1)[1].strip().split("\n\n")
    assert [e[:10] for e in entries] == ["Hart, B. L", "Chanock A."] and "McGill University Press" in entries[0]


def test_numbered_headings_are_headings():
    r = reflow_pages([f"1. Introduction\n{FULL}\nends here.\n2.3 Naming\n{FULL}\nends too."])
    assert [t for _, _, t in r.headings] == ["1. Introduction", "2.3 Naming"]


def test_cjk_lines_join_without_a_space():
    r = reflow_pages(
        [
            "宇宙条約は月その他の天体を含む宇宙空間の探査と利用の自由を定めている。"  # one line,
            "その利用は全ての国の利益の",  # written in two parts to keep within the line limit
            "ために行われる。",
        ]
    )
    assert "利益のために行われる。" in r.text


COLUMN = "The launching State remains liable for damage its object causes"  # a column's width


def test_a_column_is_measured_against_its_own_width():
    # A full-width abstract, then two-column text (pypdf gives one column, then the other).
    column = [COLUMN] * 5 + ["Some Object Later breaks apart into thousands of pieces, as the", "United Nations noted."]
    text = reflow_pages(["\n".join([FULL, "ends the abstract.", *column])]).text
    assert f"{COLUMN} Some Object Later breaks apart into thousands of pieces, as the United Nations noted." in text
    assert "ends the abstract.\n" in text  # the abstract's paragraph still ends


def test_running_headers_on_two_pages_or_with_the_page_number_go():
    pages = [
        f"Okafor and Brandt / Cleaning up orbit\n{FULL}\nends one.",
        f"Chapter 3: Utilities 2\n{FULL}\nends two.",
        f"Okafor and Brandt / Cleaning up orbit\n{FULL}\nends three.",
        f"Chapter 3: Utilities 4\n{FULL}\nends four.",
    ]
    text = reflow_pages(pages).text
    assert text.count("Okafor and Brandt") == 1  # on page 1 it may be the title
    assert "Chapter 3: Utilities" not in text  # it carries the page number, counting up


def test_hyphenation_in_capitals_and_before_a_hyphenated_word():
    text = reflow_pages([f"{FULL}\nthe ELE-\nMENT of a twenty-\nfive-year plan."]).text
    assert "the ELEMENT of a twenty-five-year plan." in text


def test_code_words_are_not_headings_but_numbered_ones_are_before_anything():
    lines = f"{FULL}\nends.\nBEGIN\n{FULL}\nends.\n1.2. What is this spec?\n• a list item;\n• another."
    assert [t for _, _, t in reflow_pages([lines]).headings] == ["1.2. What is this spec?"]


def test_organisations_and_entries_ending_in_a_link_start_new_entries():
    page = f"""{FULL}
ends here.
References
Inter-Agency Space Debris Coordination Committee (2007). Space Debris Mitigation Guidelines.
Kessler, D. J. (1978). Collision frequency of artificial satellites. https://doi.org/10.1029/JA083
United Nations Office for Outer Space Affairs. Guidelines for the Long-term Sustainability."""
    r = reflow_pages([page])
    body = r.text[r.text.index("References\n") + len("References\n") :]
    assert [e[:12] for e in body.split("\n\n")] == ["Inter-Agency", "Kessler, D. ", "United Natio"]


def test_a_sentence_on_the_next_page_is_cited_with_that_page():
    from qa.chunking import sections
    from qa.types import Document

    r = reflow_pages([f"Intro.\n{FULL}", "outer space freely. Third, an operator acts on page two."])
    doc = Document("t", "t.pdf", "T", r.text, "x", metadata={"pages": r.pages}, headings=r.headings)
    cited = {doc.text[s:e].strip(): path for s, e, path in sections(doc)}
    assert cited["Third, an operator acts on page two."] == "T › p. 2"
    assert any(k.endswith(f"{FULL} outer space freely.") and v == "T › p. 1" for k, v in cited.items())


def test_contents_lines_are_not_headings_and_a_numbered_heading_is_never_run_in():
    toc = "Table of Contents\n2 ASN.1 structure handling . . . . . . . . . 2\n3 Utilities . . . . . . . . . . 7"
    body = "5. A registry of removal missions\nWe propose a registry.\nTable 1 lists the missions."
    r = reflow_pages([f"{toc}\n{FULL}\nends here.\n{body}"])
    assert [t for _, _, t in r.headings] == ["Table of Contents", "5. A registry of removal missions"]
    assert "5. A registry of removal missions\nWe propose" in r.text


def test_a_pdf_title_is_its_title_field_unless_a_tool_wrote_it():
    body = [("Body text of the article, set small.", 9.0)]
    assert pdf_title("Orbital Debris  and the Law", body) == "Orbital Debris and the Law"
    junk_titles = ("Microsoft Word - draft3.docx", "untitled", "paper_v2.pdf", "Document1", "")
    # A user test: a page printed from a browser was titled "about:blank" in every citation.
    for junk in (*junk_titles, "about:blank", "file:///home/me/notes.html", "https://example.org/a"):
        assert pdf_title(junk, body) is None  # nothing large on the page either: the file name


def test_a_pdf_title_is_the_largest_type_on_the_first_page_when_it_stands_out():
    runs = [
        ("Journal of Space Law 47", 8.0),  # running head, small
        ("Orb", 18.0),  # the title, over two lines, "Orbital" split by a font change
        ("ital Debris\n", 18.0),
        ("and the Law", 18.0),
        ("\n", 0.0),
        ("A. Okafor", 11.0),
        ("Abstract. The growth of debris in low orbit raises questions of liability.", 9.0),
        ("Large Heading Later", 18.0),  # a later run in the same size is not part of the title
    ]
    assert pdf_title("untitled", runs) == "Orbital Debris and the Law"
    # Everything the same size, or only a little larger: no title is guessed.
    assert pdf_title(None, [("Orbital Debris", 10.0), ("Body text here.", 9.0)]) is None
    assert pdf_title(None, []) is None
    assert pdf_title(None, [("Mirrored Title", -18.0), ("Body text of the page.", 9.0)]) == "Mirrored Title"
    # A huge block of large text is not a title.
    assert pdf_title(None, [(" ".join(["word"] * 40), 20.0), ("body " * 50, 9.0)]) is None


# A page of running text whose last sentence crosses to the next page, with two footnotes at
# its foot (marks set as superscript in the body, as pypdf gives them).
BODY = [
    "Under the Liability Convention a launching State is absolutely liable for",
    "damage on the surface of the Earth, as the drafters intended in 1972.¹ The",
    "Guidelines adopted in 2007² say nothing about removal. A launching State is",
    "also liable for damage caused elsewhere only where it was at fault, and a",
    "removal mission operates entirely in orbit, where fault must be shown by the",
]
NOTES = [
    "¹ Convention on International Liability for Damage Caused by Space Objects, 1972.",
    "² UN Doc. A/62/20, annex; endorsed by resolution 62/217 of 22 December 2007.",
]
NEXT = [
    "claimant State before any compensation is paid under the Convention as written.",
    "Consent is the second difficulty that removal missions face in orbit today.",
]


def _words(text: str) -> list[str]:
    return sorted(text.split())


def test_footnotes_do_not_cut_the_sentence_that_crosses_the_page():
    pages = ["\n".join(BODY + NOTES), "\n".join(NEXT)]
    out = reflow_pages(pages)
    sentences = [out.text[s:e] for s, e in split_sentences(out.text)]
    crossing = next(s for s in sentences if s.startswith("A launching State is also liable"))
    assert crossing.endswith("before any compensation is paid under the Convention as written.")
    assert "¹" not in crossing and "UN Doc" not in crossing
    # The notes are kept, each a paragraph of its own, after the sentence; nothing is lost.
    paragraphs = out.text.split("\n")
    assert NOTES[0] in paragraphs and NOTES[1] in paragraphs
    assert out.text.index(NOTES[0]) > out.text.index("as written.")
    assert "Consent is the second difficulty" in paragraphs[paragraphs.index(NOTES[1]) + 1]
    assert _words(out.text) == _words(" ".join(pages))
    # The notes keep their page: page 2's own text starts after them (the crossing sentence is
    # page 1's anyway; qa.chunking keeps a sentence with the page it starts on).
    assert out.text.index(NOTES[1]) < out.pages[1] == out.text.index("Consent is the second")


def test_footnotes_after_a_finished_sentence_stay_at_the_foot_of_their_page():
    body = BODY[:2] + ["Guidelines adopted in 2007² say nothing about removal."]
    out = reflow_pages(["\n".join(body + NOTES), "\n".join(NEXT)])
    assert out.text.index(NOTES[1]) < out.pages[1] <= out.text.index("claimant State")
    assert NOTES[1] + "\n\nclaimant State" in out.text  # the next page is not run into the note


def test_plain_number_notes_are_found_by_their_mark_in_the_text():
    body = [line.replace("in 1972.¹", "in the treaty.1").replace("in 2007²", "in that year2") for line in BODY]
    notes = [line.replace("¹", "1").replace("²", "2") for line in NOTES]
    out = reflow_pages(["\n".join(body + notes), "\n".join(NEXT)])
    assert "where fault must be shown by the claimant State" in out.text
    assert notes[1] in out.text.split("\n")


def test_a_numbered_line_without_a_mark_in_the_text_stays_in_place():
    body = BODY[:4] + ["removal mission operates entirely in orbit. It lists two duties:"]
    listed = ["1 States shall register each removal mission with the Secretary-General.",
              "2 States shall publish the orbit of every object they intend to remove."]  # fmt: skip
    text = reflow_pages(["\n".join(body + listed), "\n".join(NEXT)]).text
    assert text.index("It lists two duties:") < text.index(listed[0]) < text.index("claimant State")


def test_a_table_of_contents_is_not_taken_for_footnotes():
    toc = ["Contents", "1 Introduction . . . . . . . . 1", "2 Background . . . . . . . . 2"]
    toc += ["2.3 Simple parsing . . . . . . . . 4", "2.4 Library Notes . . . . . . . . 4"]
    toc += ["3 Utilities . . . . . . . . 5", "4 Function reference . . . . . . . . 8"]
    text = reflow_pages(["\n".join(toc), "Libtasn1 is a library for ASN.1 structures.\nIt parses them."]).text
    assert text.index("4 Function reference") < text.index("Libtasn1 is a library")


def test_a_table_at_a_page_top_goes_after_the_sentence_it_cut():
    table = [
        "Table 1. Removal demonstrations flown so far.",
        "Mission Year Capture method Target",
        "RemoveDEBRIS 2018 Net and harpoon Own deployed cubesat",
        "ELSA-d 2021 Magnetic docking plate Own client satellite",
    ]
    rest = ["value is saved. Commentators have suggested that a similar reward could", "finance debris removal."]
    pages = ["\n".join(BODY[:4] + ["special compensation is paid even where nothing of"]), "\n".join(table + rest)]
    out = reflow_pages(pages)
    assert "even where nothing of value is saved." in out.text
    lines = out.text.split("\n")
    assert all(row in lines for row in table)  # each row a line of its own, none run together
    assert lines.index(table[0]) > next(i for i, line in enumerate(lines) if "finance debris removal." in line)
    assert [t for _, _, t in out.headings] == []  # "Mission Year Capture method Target" is a row
    assert _words(out.text) == _words(" ".join(pages))
    # After a finished sentence the table stays where it was printed.
    done = reflow_pages(["\n".join(BODY[:2]), "\n".join(table + ["The analogy is limited."])]).text
    assert done.index(table[0]) < done.index("The analogy is limited.")


def test_a_later_pages_header_that_repeats_the_first_pages_without_its_doi_is_furniture():
    first = "Journal of Orbital Affairs 12 (2025) 211–216 doi:10.9999/joa.2025.0211"
    heads = [first, "A. Okafor, L. Brandt / Cleaning up orbit", "Journal of Orbital Affairs 12 (2025) 211–216"]
    heads.append("A. Okafor, L. Brandt / Cleaning up orbit")
    pages = [f"{h}\n{line}" for h, line in zip(heads, BODY[:4], strict=True)]
    text = reflow_pages(pages).text
    assert text.count("Journal of Orbital Affairs") == 1 and text.startswith(first)
    assert "Okafor" not in text


COLUMN_TEXT = [
    "Remediation is therefore considered",
    "necessary by most modelling studies of",
    "the crowded shells between 750 and",
    "1,000 kilometres above the Earth.",
]


def test_numbered_section_headings_in_a_narrow_column_are_found_however_long():
    page = []
    for title in ("3. Consent and jurisdiction", "4. Salvage by analogy", "5. A registry of removal mission"):
        page += [title, *COLUMN_TEXT]
    out = reflow_pages(["\n".join(page)])
    assert [t for _, _, t in out.headings] == ["3. Consent and jurisdiction", "4. Salvage by analogy", page[10]]
    assert "5. A registry of removal mission\nRemediation" in out.text  # not run into its paragraph


def test_a_numbered_list_or_reference_list_is_not_taken_for_sections():
    items = [
        "1. States shall register every removal mission with the",
        "Secretary-General before launch.",
        "2. States shall publish the orbit of every object they intend",
        "to remove.",
        "3. States shall consult before any capture.",
    ]
    out = reflow_pages(["\n".join(["The protocol would say three things.", *items, "It would cost little."])])
    assert out.headings == ()
    assert "1. States shall register every removal mission with the Secretary-General before launch." in out.text
    refs = ["References", "1. Hart, B. L. (2007). Anti-satellite weapons", "Montreal: McGill library."]
    refs += ["2. Milik, P. (2016). Rules for the transfer", "Warsaw: Security Quarterly."]
    refs += ["3. Chanock, A. (2013). The problems of Space", "Weapons in the 21st Century."]
    out = reflow_pages(["\n".join(["Debris is a risk.", *refs])])
    assert [t for _, _, t in out.headings] == ["References"]


# Cases from a user test of footnoted law-review PDFs (2026-12-03).


def test_a_page_that_ends_a_sentence_before_a_mark_keeps_its_notes_at_its_foot():
    body = BODY[:4] + ["removal mission is liable only where it was grossly negligent.²"]
    out = reflow_pages(["\n".join(body + NOTES), "\n".join(NEXT)])
    assert out.text.index(NOTES[1]) < out.pages[1] == out.text.index("claimant State")
    assert "negligent.² claimant" not in out.text and "negligent.²\n" in out.text


def test_a_crossing_sentence_that_ends_on_the_last_line_of_the_next_page_is_whole():
    out = reflow_pages(["\n".join(BODY + NOTES), NEXT[0]])
    assert "shown by the claimant State before any compensation" in out.text
    assert out.text.endswith(NOTES[1])


def test_an_abbreviation_at_a_page_end_does_not_end_the_sentence():
    body = BODY[:4] + ["removal mission in orbit is judged as the Court judged the case of Nicaragua v."]
    out = reflow_pages(["\n".join(body + NOTES), "\n".join(["United States of America, decided in 1986.", *NEXT])])
    assert "Nicaragua v. United States of America, decided in 1986." in out.text
    assert out.text.index(NOTES[0]) > out.text.index("decided in 1986.")


def test_the_next_sentence_in_the_same_line_starts_after_the_notes():
    nxt = ["claimant State.¹ Consent is the second difficulty that removal missions face", "in orbit today."]
    out = reflow_pages(["\n".join(BODY + NOTES), "\n".join(nxt)])
    assert "shown by the claimant State.¹\n" + NOTES[0] in out.text
    assert out.text.index(NOTES[1]) < out.pages[1] == out.text.index("Consent is the second")
    assert "Consent is the second difficulty that removal missions face in orbit today." in out.text


def test_notes_on_a_page_where_the_references_begin_go_before_them():
    body = BODY[:2] + ["Guidelines adopted in 2007² say nothing about removal.", "References"]
    body += ["Cheng, B. (1997). Studies in International Space Law. Oxford: Clarendon Press."]
    out = reflow_pages(["\n".join(body + NOTES)])
    assert out.text.index(NOTES[1]) < out.text.index("References")
    assert out.text.endswith("Oxford: Clarendon Press.")  # the last entry holds no note


def test_a_note_that_runs_onto_the_next_page_is_joined_there():
    notes = [NOTES[0], "² UN Doc. A/62/20, annex; endorsed by the General Assembly in its"]
    tail = "resolution 62/217 of 22 December 2007."
    page2 = [*NEXT, "Removal missions have so far been flown only on the operator's own objects.", tail]
    out = reflow_pages(["\n".join(BODY + notes), "\n".join(page2)])
    assert notes[1] + " " + tail in out.text
    assert "own objects.\n" in out.text or out.text.endswith("own objects.")


def test_a_short_last_line_that_ends_in_a_mark_is_not_a_heading():
    body = BODY[:4] + ["removal mission operates entirely in orbit, where fault must be shown by a"]
    body.append("Claims Commission.⁷")
    out = reflow_pages(["\n".join(body + ["⁷ It has never sat.", "12"]), "\n".join(NEXT)])
    assert out.headings == ()
    assert "shown by a Claims Commission.⁷" in out.text


# Cases from a code review of the footnote and section rules (2026-12-03).


def test_numbered_treaty_paragraphs_are_not_taken_for_sections():
    page = [
        "Article 5",
        "The following obligations apply to all States Parties to this Agreement.",
        "1. States Parties shall inform the Secretary-General of the United",
        "Nations as well as the public of their activities concerned with the Moon.",
        "2. States Parties shall also inform the Secretary-General of the United",
        "Nations of areas of the Moon having special scientific interest.",
        "3. The Secretary-General shall be informed of any station established by",
        "States Parties on the Moon, with its location and purposes.",
    ]
    out = reflow_pages(["\n".join(page)])
    assert [t for _, _, t in out.headings] == ["Article 5"]
    assert "of the United Nations as well as the public" in out.text


def test_notes_never_go_into_a_reference_list():
    for before in (["Data and code are available at https://example.org/debris"], []):
        page1 = ["The Convention binds the launching State in every case.¹", *before, "References"]
        page1 += ["Hart, B. L. (2007). Space law and its limits. Journal of Space Law 33"]
        page1 += ["Kessler, D. J. (1978). Collision frequency of artificial satellites", "¹ Cited in a UN report."]
        page2 = ["Taylor, C. D. (2012). Liability for space objects. Oxford.", "Wong, E. F. (2015). Registration."]
        text = reflow_pages(["\n".join(page1), "\n".join(page2)]).text
        assert text.index("¹ Cited in a UN report.") < text.index("References")
        assert "Taylor, C. D. (2012). Liability for space objects. Oxford." in text
    # Notes on a later page of the list stay at their page's foot, not inside the next entry.
    page2 = ["Taylor, C. D. (2012). Liability for space objects and the", "² A note on Taylor."]
    page3 = ["registration of satellites. Oxford.", "Wong, E. F. (2015). Registration."]
    text = reflow_pages(["References\nHart, B. L. (2007). Space law.²", "\n".join(page2), "\n".join(page3)]).text
    assert "registration of satellites. Oxford." in text and "Oxford. ²" not in text


def test_a_note_tail_is_not_taken_from_a_one_line_page():
    page1 = BODY[:4] + ["removal mission operates entirely in orbit, where fault is hardest to show,¹"]
    page1 += ["¹ D. J. Kessler and B. G. Cour-Palais, Collision frequency of artificial satellites, see"]
    out = reflow_pages(["\n".join(page1), "which is why the regime is criticised."])
    assert "hardest to show,¹ which is why the regime is criticised." in out.text


def test_a_first_line_that_only_starts_the_next_pages_is_kept():
    pages = ["Space Law Notes\nThe treaties are five.", "Outer Space Treaty\nStates shall not place weapons in orbit."]
    pages.append("Outer Space Treaty of 1967 is the basis of space law.\nIt has over a hundred parties.")
    pages.append("Registration is the other pillar.\nIt names the State of registry.")
    out = reflow_pages(pages)
    assert "Outer Space Treaty\nStates shall not" in out.text  # a heading, not a running header


# Cases from a second user test (2026-12-03): a page that does not cross keeps its order.


def test_a_plain_mark_after_a_full_stop_ends_the_page_sentence():
    body = [line.replace("in 1972.¹", "in the treaty.1").replace("in 2007²", "in that year2") for line in BODY[:4]]
    body.append("removal mission is liable where the damage was caused twice.2")
    notes = ["1 Convention on International Liability for Damage Caused by Space Objects, 1972.", "2 Ibid."]
    out = reflow_pages(["\n".join(body + notes), "\n".join(["The Outer Space Treaty governs the rest.", *NEXT])])
    assert out.text.index(notes[1]) < out.pages[1] == out.text.index("The Outer Space Treaty governs")


def test_a_page_ending_in_a_colon_or_a_heading_is_not_crossed_into():
    for last in ("The treaties provide as follows:", "3 Registration of fragments"):
        body = [*BODY[:2], "Guidelines adopted in 2007² say nothing about removal.", last]
        out = reflow_pages(["\n".join(body + NOTES), "\n".join(["Fragments are not registered.", *NEXT])])
        assert out.text.index(NOTES[1]) < out.pages[1] == out.text.index("Fragments are not registered.")
    prose = ["Table 1 shows the number of parties to each treaty at the end of 2023, taken from the"]
    prose.append("status list kept by the Office for Outer Space Affairs.")
    out = reflow_pages(["\n".join([*BODY[:3], "The figures show:"]), "\n".join(prose)])
    assert " ".join(prose) in out.text  # prose that opens with "Table 1" is not a table


def test_a_note_ending_in_a_year_takes_no_tail_from_the_next_page():
    notes = [NOTES[0], "² Status of International Agreements relating to Activities in Outer Space, 2023"]
    page2 = [*NEXT, "Private landers are the next question for the treaties.", "ispace, which built the lander,"]
    page2.append("is a company of Japan.")
    out = reflow_pages(["\n".join(BODY + notes), "\n".join(page2)])
    assert "ispace, which built the lander, is a company of Japan." in out.text
    assert "2023 ispace" not in out.text


def test_a_numbered_list_in_a_narrow_column_is_not_taken_for_sections():
    page = ["The treaties are these.", "1. Outer Space Treaty", "States Parties shall act.", "2. Rescue Agreement"]
    page += ["States Parties shall help.", "3. Liability Convention", "States Parties shall pay.", "4. Moon Agreement"]
    page += ["States Parties shall share."]
    assert reflow_pages(["\n".join(page)]).headings == ()


def test_a_browser_printed_header_and_page_number_go_together():
    # A user test: Chromium's "Print to PDF" puts a header line and a page number (or "Page 2
    # of 4") at each page's edge; only the outer line went, and the other got into quotes
    # ("… in this commentary. Marchetti-Olsen — Commentary …", "3 observation 4.3 records …").
    body = [
        f"{FULL}\nouter space for the benefit of all countries.",
        "The moon and other celestial bodies shall be used exclusively for\npeaceful purposes by every party.",
        "Astronauts are regarded as envoys of mankind in outer space and shall\nbe given all possible assistance.",
        "A State on whose registry an object is carried retains jurisdiction\nand control over that object.",
    ]
    footed = [f"{b}\nMarchetti-Olsen — Commentary on the Convention\nPage {n} of 4" for n, b in enumerate(body, 1)]
    text = reflow_pages(footed).text
    assert "Marchetti-Olsen" not in text and "Page" not in text and all(" ".join(b.split()) in text for b in body)
    headed = [f"Notes on the Liability Convention — draft\n{n}\n{b}" for n, b in enumerate(body, 1)]
    text = reflow_pages(headed).text
    assert text.startswith("Notes on the Liability Convention — draft ")  # the first page's top line stays
    assert text.count("Notes on the Liability") == 1 and not re.search(r"\b[1-4]\b", text)
    assert all(" ".join(b.split()) in text for b in body)


def test_decimal_numbered_paragraphs_start_new_lines():
    # A user test: "… between 2010 and 2020.4 3.5 The Convention contains no sanction …" was one
    # paragraph: 3.4 and 3.5 of a commentary merged, so an answer quoted both.
    page = (
        f"3.4 {FULL}\nouter space, as practice between 2010 and 2020.4\n"
        f"3.5 The Convention contains no sanction for a failure to register, and\n"
        "3.6 million objects are not the point.\nIt goes on."
    )
    lines = reflow_pages([page]).text.split("\n")
    assert lines[0].endswith("2010 and 2020.4") and lines[1].startswith("3.5 The Convention contains")
    assert "and 3.6 million objects" in lines[1]  # not after a finished sentence: the text goes on
    # The mark as the PDF draws it (qa.reflow.raise_marks): a superscript.
    lines = reflow_pages([page.replace("2020.4", "2020.⁴")]).text.split("\n")
    assert lines[0].endswith("2010 and 2020.⁴") and lines[1].startswith("3.5 The Convention contains")


def test_a_table_row_is_not_a_heading():
    # A user test: the last row of a table ("United Kingdom 1986 764 133") named the section
    # in the citations of the paragraphs after it.
    page = (
        f"4.1 The table below summarises national registries.\nState Established Objects Delay\n"
        f"France 2008 112 41\nUnited Kingdom 1986 764 133\n{FULL}\nouter space for all."
    )
    r = reflow_pages([page])
    titles = [t for _, _, t in r.headings]
    assert "United Kingdom 1986 764 133" not in titles and "France 2008 112 41" not in titles


def test_a_numbered_heading_over_its_first_subsection_is_a_heading_in_a_narrow_column():
    # A user test: on a two-column page "3. Information to be furnished" filled too much of the
    # narrow measure to count as a heading, so its paragraphs were cited under section 2.
    column = [
        "3. Information to be furnished",
        "3.1 Article IV lists the information each State of",
        "registry shall furnish: the name of the launching",
        "State or States, an appropriate designator of the",
        "space object or its registration number, the date",
        "and territory or location of launch, the basic orbital",
        "parameters, and the general function of the space",
        "object.",
        "3.2 The basic orbital parameters include nodal",
        "period, inclination, apogee and perigee. In practice,",
        "many States report the apogee and perigee only to",
        "the nearest ten kilometres, which renders",
    ]
    r = reflow_pages(["\n".join(column)])
    assert [t for _, _, t in r.headings] == ["3. Information to be furnished"]


def test_footnote_marks_drawn_small_and_raised_become_superscripts():
    # Runs as pypdf's text visitor gives them: (text, type size, x, baseline height). A user
    # test: "… in the year 2023 alone.3", the mark a plain digit glued to the sentence.
    body = [
        ("Registrations rose to 2,917 objects in 2023 alone.", 11.0, 20.0, 700.0),
        (" ", 11.0, 262.0, 700.0),  # pypdf guessed a space from the mark's position
        ("3", 7.5, 264.0, 704.4),
        ("", 7.5, 268.0, 704.4),
        (" It obliges States to register.", 11.0, 268.0, 700.0),
        ("\n", 11.0, 20.0, 686.0),
        ("Page ", 11.0, 280.0, 40.0),  # same size as its line: a page number, not a mark
        ("2", 11.0, 310.0, 40.0),
        ("\n", 11.0, 20.0, 30.0),
        ("Water is H", 11.0, 20.0, 600.0),
        ("2", 7.5, 75.0, 597.0),  # smaller but lowered: a subscript, left alone
        ("O; Table 1 gives ", 11.0, 80.0, 600.0),
        ("12", 7.0, 170.0, 600.0),  # smaller on the same baseline: a table figure
        ("\n", 8.0, 20.0, 100.0),
        ("3", 6.0, 20.0, 103.2),  # a note's own number, raised against the note after it
        ("Figures reported by UNOOSA.", 8.0, 24.0, 100.0),
    ]
    text = raise_marks(body)
    assert text.startswith("Registrations rose to 2,917 objects in 2023 alone.³ It obliges")
    assert "Page 2" in text and "Water is H2O; Table 1 gives 12" in text
    assert text.endswith("\n³Figures reported by UNOOSA.")
    # Digits with words, a mark raised a whole line, a figure's thousands: text.
    assert raise_marks([("Article 3", 7.0, 20.0, 704.0), ("Text.", 11.0, 60.0, 700.0)]) == "Article 3Text."
    assert raise_marks([("Text.", 11.0, 20.0, 700.0), ("4", 7.0, 50.0, 712.0)]) == "Text.4"
    assert raise_marks([("Text.", 11.0, 20.0, 700.0), ("2,917", 7.0, 50.0, 703.0)]) == "Text.2,917"
    # A code review: a table's figures set small beside a two-line cell, far to its right.
    cell = [("by commercial operators", 10.0, 20.0, 688.0), ("812", 8.0, 300.0, 694.0), ("\n", 10.0, 20.0, 670.0)]
    assert raise_marks(cell) == "by commercial operators812\n"
    # The reflow then knows the marks: the note stays a line of its own at the page foot.
    page = raise_marks(body[:6] + [("The rest of the page goes on here.", 11.0, 20.0, 686.0)] + body[13:])
    flowed = reflow_pages([page]).text
    assert flowed.endswith("goes on here.\n³Figures reported by UNOOSA.")
    assert [flowed[s:e] for s, e in split_sentences(flowed)][:2] == [
        "Registrations rose to 2,917 objects in 2023 alone.³",
        "It obliges States to register.",
    ]
