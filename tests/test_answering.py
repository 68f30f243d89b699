import numpy as np
import pytest

from qa.answering import (
    ABSTAIN_TEXT,
    CLOSEST_FLOOR,
    Combination,
    answer_type_match,
    answer_window,
    extend_span,
    is_source_question,
    lexical_overlap,
    question_terms,
    split_sentences,
)
from qa.engine import Engine, build
from qa.types import Candidate, Chunk, Document


@pytest.mark.parametrize(
    "text,expected",
    [
        ("One. Two three. Four?", ["One.", "Two three.", "Four?"]),
        ("The U.S.-Soviet deal. It held.", ["The U.S.-Soviet deal.", "It held."]),
        ("See No. 4, Vol. 78 of JALC. Next.", ["See No. 4, Vol. 78 of JALC.", "Next."]),
        ("Campbell, K. M. wrote it. Next.", ["Campbell, K. M. wrote it.", "Next."]),
        ("He said “stop.” Then left.", ["He said “stop.”", "Then left."]),
        ("For this Treaty:\n\n(a) first item;\n\n(b) second.", ["For this Treaty:", "(a) first item;", "(b) second."]),
        ("1. The first rule applies. 2. The second.", ["1. The first rule applies.", "2. The second."]),
        # A footnote mark belongs to the sentence it closes (PDF and HTML text have them).
        ("It binds States.¹ Others differ.²\nNext.", ["It binds States.¹", "Others differ.²", "Next."]),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == expected


def test_split_sentences_offsets_shift():
    text = "Alpha beta. Gamma delta."
    assert split_sentences(text, 100) == [(100, 111), (112, 124)]


def test_source_question_detection():
    assert is_source_question("Who wrote about anti-satellite weapons?")
    assert is_source_question("Which UN resolutions concern transparency?")
    assert not is_source_question("Does the treaty ban nuclear weapons in orbit?")
    # A treaty's article is no publication (a user test: reference entries got the source bonus).
    assert not is_source_question("What does Article IV of the Outer Space Treaty say?")
    assert not is_source_question("Which article of the Outer Space Treaty bans nuclear weapons?")
    assert is_source_question("Which articles discuss space weapons?")
    assert is_source_question("Who wrote about Article 51?")


def test_answer_type():
    assert answer_type_match("What is the deadline for a claim?", "not later than one year after the damage") == 1.0
    assert answer_type_match("How long do States have to present a claim?", "within 30 days") == 1.0
    assert answer_type_match("What is the deadline for a claim?", "A claim shall be presented.") == 0.0
    # A question after how a text describes or defines something wants its wording.
    describe = "How does the Outer Space Treaty describe astronauts?"
    assert answer_type_match(describe, "States shall regard astronauts as envoys of mankind.") == 1.0
    assert answer_type_match(describe, "States shall inform others of dangers to astronauts.") == 0.0
    assert (
        answer_type_match("How do the conventions define a launching State?", "(c) The term “launching State” means:")
        == 1.0
    )
    assert answer_type_match("When did it enter into force?", "entered into force 10 October 1967") == 1.0
    assert answer_type_match("When did it enter into force?", "States shall cooperate.") == 0.0
    assert answer_type_match("How many members are there?", "composed of three members") == 1.0
    assert answer_type_match("Why is it so?", "In 1967.") == 0.0


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("The Security Council shall consist of fifteen Members.", 1.0),
        ("The Council has five permanent members.", 1.0),  # one word between number and noun
        ("3. Each member of the Security Council shall have one representative.", 0.5),  # a count of something else
        ("4. Each member shall be represented.", 0.0),  # only a list number
    ],
)
def test_how_many_prefers_a_count_of_the_thing_asked(candidate, expected):
    assert answer_type_match("How many members does the Security Council have?", candidate) == expected
    assert answer_type_match("How many members sit on the Council?", candidate) == expected


def test_a_question_naming_a_cited_author_is_about_the_entry():
    from qa.answering import names_an_author
    from qa.types import Reference

    ref = Reference(
        "a#9",
        "a",
        9,
        "Hart, B. L. (2007). Anti-satellite weapons.",
        0,
        10,
        "report",
        authors=("Hart, B. L.",),
        year="2007",
    )
    assert names_an_author("At which institution was Hart's study produced?", ref)
    assert not names_an_author("Is the heart of the treaty Article IV?", ref)  # case and word bound
    assert not names_an_author("Who wrote about weapons?", None)


def test_lexical_overlap_is_idf_weighted():
    q = {"nuclear": 3.0, "treati": 1.0}
    assert lexical_overlap(q, {"nuclear"}) == pytest.approx(0.75)
    assert lexical_overlap(q, set()) == 0.0
    assert lexical_overlap({}, {"x"}) == 0.0


def test_auxiliary_verbs_are_not_question_terms():
    from qa.index import tokenize

    terms = question_terms("How many members does the Security Council have?", tokenize, lambda t: 1.0)
    assert "have" not in terms and "doe" not in terms
    assert {"member", "council"} <= terms.keys()


def test_year_named_in_the_question_must_match_a_reference():
    from qa.answering import year_match
    from qa.types import Reference

    ref = Reference(
        "a#12",
        "a",
        12,
        "Łukaszuk, L., ed. (1999). Dyplomacja. Warszawa.",
        0,
        10,
        "book",
        authors=("Łukaszuk, L.",),
        year="1999",
    )
    assert year_match("Who edited the 1999 Warsaw volume?", ref) == 1.0
    assert year_match("Who wrote the 2016 paper on arms transfers?", ref) == -1.0
    assert year_match("Who edited the Warsaw volume?", ref) == 0.0
    campbell = Reference("a#3", "a", 3, "Campbell (1991–1992).", 0, 10, "article", year="1991–1992")
    assert year_match("What did Campbell publish in 1992?", campbell) == 1.0
    suffixed = Reference("a#4", "a", 4, "Smith (1999a).", 0, 10, "book", year="1999a")
    assert year_match("What did Smith publish in 1999?", suffixed) == 1.0
    undated = Reference("a#5", "a", 5, "Outer Space Treaty.", 0, 10, "treaty")
    assert year_match("What did the 1967 treaty say?", undated) == 0.0


def test_extend_span_takes_list_items_after_a_colon():
    text = "(a) The term “launching State” means:\n\n(i) one;\n\n(ii) two;\n\n(b) other."
    chunk = Chunk("d:0", "d", text, 0, len(text), "T")
    s, e = extend_span(_doc(text), 0, text.index(":") + 1, chunk)
    assert text[s:e] == "(a) The term “launching State” means:\n\n(i) one;\n\n(ii) two;"


def test_extend_span_follows_a_nested_list_and_stops_after_it():
    text = (
        "1. Each State shall furnish the following information:\n\n(a) Name of the State;\n\n"
        "(b) Orbital parameters, including:\n\n(i) Nodal period,\n\n(ii) Apogee;\n\n(c) General function.\n\n"
        "2. Each State may add more. A remark in prose follows here."
    )
    chunk = Chunk("d:0", "d", text, 0, len(text), "T")
    s, e = extend_span(_doc(text), 0, text.index(":") + 1, chunk)
    assert text[s:e].endswith("(ii) Apogee;\n\n(c) General function.")  # not "2." (its own level)
    prose = "The Purposes are:\n\n1. Peace;\n\n2. Cooperation.\n\nThis closing remark is prose, not an item."
    chunk = Chunk("d:0", "d", prose, 0, len(prose), "T")
    s, e = extend_span(_doc(prose), 0, prose.index(":") + 1, chunk)
    assert prose[s:e].endswith("2. Cooperation.")


def test_a_question_asking_what_an_article_says_gets_the_whole_article():
    from qa.answering import WHOLE_ARTICLE_CHARS, named_documents, whole_article
    from qa.index import tokenize

    text = (
        "# Widget Treaty\n\n## Article IV\n\nParties shall not arm widgets. The moon is for peace.\n\n"
        "## Article V\n\nOther."
    )
    headings = (
        (0, 1, "Widget Treaty"),
        (text.index("## Article IV"), 2, "Article IV"),
        (text.index("## Article V"), 2, "Article V"),
    )
    doc = Document("w", "w.md", "Widget Treaty", text, "0", headings=headings)
    s = text.index("The moon")
    best = Candidate(
        "w", "w:0", s, s + 20, text[s : s + 20], 0.9, 0.9, 0.9, 1.0, False, locator="Widget Treaty › Article IV"
    )
    whole = whole_article("What does Article IV of the Widget Treaty say?", best, doc, tokenize)
    assert whole and text[whole[0] : whole[1]] == "Parties shall not arm widgets. The moon is for peace."
    assert whole_article("What does Art. 4 of the Widget Treaty say?", best, doc, tokenize) == whole  # a review
    # A topic asked about, a paragraph named, or another article: the ranked span stays.
    assert whole_article("What does Article IV say about the moon?", best, doc, tokenize) is None
    assert whole_article("What does Article IV(2) say?", best, doc, tokenize) is None
    assert whole_article("What does Article V say?", best, doc, tokenize) is None
    assert WHOLE_ARTICLE_CHARS >= 1000
    titles = {"Moon Agreement", "Charter of the United Nations"}
    assert named_documents("What does Article 40 of the Moon Agreement say?", titles, tokenize) == {"Moon Agreement"}
    assert named_documents("What does the Moon Agreement say?", titles, tokenize) == set()  # no article asked


def _doc(text: str, headings=()) -> Document:
    return Document("d", "d.md", "T", text, "0", headings=headings)


def test_extend_span_continues_a_list_into_the_next_passage_but_not_past_a_heading():
    text = (
        "## Article 1\n\nThe Purposes are:\n\n1. To keep the peace;\n\n2. To cooperate; and\n\n"
        "3. To be a centre for harmonizing.\n\n## Article 2\n\nThe Principles are:\n\n1. Equality."
    )
    second = text.index("## Article 2")
    headings = ((0, 2, "Article 1"), (second, 2, "Article 2"))
    body = text.index("The Purposes")
    cut = text.index("3. To be")  # the chunker ended the first passage before item 3
    chunk = Chunk("d:0", "d", text[body:cut], body, cut, "T › Article 1")
    s, e = extend_span(_doc(text, headings), body, text.index(":") + 1, chunk)
    assert text[s:e].endswith("3. To be a centre for harmonizing.")
    # A short sentence at the end of a section does not borrow from the next one.
    last = text.index("3. To be")
    tail = Chunk("d:1", "d", text[last:second], last, second, "T › Article 1")
    item = (last, text.index("harmonizing.") + len("harmonizing."))
    assert extend_span(_doc(text, headings), *item, tail) == item


def test_extend_span_stops_at_a_page_break():
    # A code review: a PDF list read on onto the next page while the citation named one page.
    text = "The measures adopted are:\n\n(a) Registration;\n\n(b) Consultation.\n\n"
    page2 = text.index("(b)")
    doc = Document("d", "d.pdf", "T", text, "0", metadata={"pages": [0, page2]})
    chunk = Chunk("d:0", "d", text[:page2], 0, page2, "T › p. 1")
    s, e = extend_span(doc, 0, text.index(":") + 1, chunk)
    assert text[s:e] == "The measures adopted are:\n\n(a) Registration;"
    assert extend_span(_doc(text), 0, text.index(":") + 1, chunk)[1] > page2  # no pages: read on


def test_a_named_paragraph_is_quoted_whole_with_its_items():
    from qa.answering import whole_paragraph

    # A code review: "Article 8(3)" was quoted up to the end of its first sentence only.
    text = (
        "## Article 8\n\n2. States may land.\n3. Activities shall not interfere. Where they may,"
        " States shall consult:\n(a) by notice;\n(b) by meeting.\n4. The next paragraph.\n\n## Article 9\n\nMore."
    )
    start = text.index("3. Activities")
    first = text.index("interfere.") + len("interfere.")
    headings = ((0, 2, "Article 8"), (text.index("## Article 9"), 2, "Article 9"))
    end = whole_paragraph(_doc(text, headings), start, first)
    assert text[start:end] == text[start : text.index("4. The")].rstrip()
    last = text.index("4. The")
    end = whole_paragraph(_doc(text, headings), last, last + len("4. The next paragraph."))
    assert text[last:end] == "4. The next paragraph."  # a heading ends it
    plain = text.index("Where they")
    assert whole_paragraph(_doc(text, headings), plain, first + 20) == first + 20  # no number: as it was


def test_extend_span_starts_a_span_cut_by_its_chunk_where_its_clause_starts():
    # A user test: a chunk of the Outer Space Treaty's preamble (one long sentence) began at
    # "entitled", so the answer lost the resolution it was about.
    text = (
        "## Preamble\n\nThe States Parties, Believing that such co-operation will help, Recalling "
        "resolution 1962 (XVIII), entitled “Declaration of Legal Principles”, which was adopted "
        "unanimously by the General Assembly on 13 December 1963, Recalling resolution 1884 (XVIII), "
        "calling upon States to refrain from placing in orbit any objects carrying nuclear weapons, "
        "which was adopted unanimously on 17 October 1963, Have agreed on the following articles."
    )
    cut = text.index("entitled")
    chunk = Chunk("d:1", "d", text[cut:], cut, len(text), "T › Preamble")
    end = text.index("1963,") + len("1963,")
    s, e = extend_span(_doc(text), cut, end, chunk)
    assert text[s:e].startswith("Recalling resolution 1962 (XVIII), entitled") and e == end
    # Not back past the paragraph, nor past a page break; a span at a clause start stays.
    assert extend_span(_doc(text), text.index("The States"), end, chunk)[0] == text.index("The States")
    paged = Document("d", "d.pdf", "T", text, "0", metadata={"pages": [0, cut - 4]})
    assert extend_span(paged, cut, end, chunk)[0] == cut - 4
    recalling = text.index("Recalling resolution 1884")
    assert extend_span(_doc(text), recalling, len(text), chunk)[0] == recalling
    # A clause that began beyond the look-back: the span keeps its start rather than one mid-word.
    from qa.answering import READ_BACK

    words = "Intro. " + " ".join(f"word{i}" for i in range(1000))
    at = words.index("word600")
    cut = Chunk("d:1", "d", words[at:], at, len(words), "T")
    assert at > READ_BACK and extend_span(_doc(words), at, at + 40, cut)[0] == at


def test_a_span_that_only_repeats_the_document_title_is_no_candidate(tmp_path):
    # A user test: "What does Article 2 of the Lunar Mining Guidelines say?" of a PDF was
    # answered with its first line, the title, which matches every word naming the document.
    from qa.embedding import HashEmbedder

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "lunar.txt").write_text(
        "Lunar Mining Guidelines\n\n"
        "Operators on the Moon shall notify the Secretary-General ninety days before mining begins.\n\n"
        "Each operator shall pay a royalty of three per cent into the common fund.\n"
    )
    embedder = HashEmbedder(64)
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    assert engine.index.documents["lunar"].title == "Lunar Mining Guidelines"
    question = "What do the Lunar Mining Guidelines say?"
    qv = embedder.encode([question])[0]
    texts = [c.text for c in engine.candidates(question, qv, engine.hits(question, qv))]
    assert texts and "Lunar Mining Guidelines" not in texts
    assert any(t.startswith("Each operator") for t in texts)


def test_extend_span_leaves_full_sentences_alone():
    text = "This sentence is long enough to stand on its own as an answer. Next one."
    chunk = Chunk("d:0", "d", text, 0, len(text), "T")
    assert extend_span(_doc(text), 0, 62, chunk) == (0, 62)


_WINDOW_TEXT = (
    "The Committee was set up by the Assembly in 1959. It has met in Vienna every single year since then. "
    "Its members are elected for terms of three years. Other bodies advise it on technical questions.\n\n"
    "Annex. A later text added by the Committee itself."
)


def _window_fixture():
    text = _WINDOW_TEXT
    cut = text.index("Annex.")
    chunks = {
        "d:0": Chunk("d:0", "d", text[:cut], 0, cut, "T"),
        "d:1": Chunk("d:1", "d", text[cut:], cut, len(text), "T"),
    }
    docs = {"d": Document("d", "d.md", "T", text, "0" * 64)}

    def cand(sentence: str, score: float, chunk: str = "d:0", reference: bool = False) -> Candidate:
        s = text.index(sentence)
        return Candidate("d", chunk, s, s + len(sentence), sentence, score, 0.0, 0.0, 0.0, reference)

    return text, chunks, docs, cand


def test_answer_window_joins_a_near_tie_of_the_same_passage_in_reading_order():
    text, chunks, docs, cand = _window_fixture()
    ranked = [
        cand("Its members are elected for terms of three years.", 1.0),
        cand("It has met in Vienna every single year since then.", 0.9),
        cand("The Committee was set up by the Assembly in 1959.", 0.5),
    ]
    comb = Combination(join=3, join_ratio=0.8, join_chars=400)
    s, e, joined = answer_window(ranked, docs, chunks, comb)
    assert (
        text[s:e]
        == "It has met in Vienna every single year since then. Its members are elected for terms of three years."
    )
    assert joined == [ranked[1]]  # the third is below 0.8 of the winner
    # Off (join=1), or a span over the cap: the winner alone.
    for off in (Combination(join=1), Combination(join=3, join_ratio=0.8, join_chars=80)):
        s, e, joined = answer_window(ranked, docs, chunks, off)
        assert text[s:e] == "Its members are elected for terms of three years." and joined == []


def test_answer_window_does_not_join_earlier_items_to_a_list_item():
    # A user test: "What does the term space object include?" got "(i) …" and "(ii) …" of the
    # item before, without its head, joined to "(d) The term “space object” includes …".
    text = (
        "(c) The term “launching State” means:\n\n(i) a State which launches a space object;\n\n"
        "(ii) a State from whose territory a space object is launched;\n\n"
        "(d) The term “space object” includes component parts of a space object.\n\n"
        "It also includes the launch vehicle of such an object."
    )
    chunks = {"d:0": Chunk("d:0", "d", text, 0, len(text), "T › Article I")}
    docs = {"d": Document("d", "d.md", "T", text, "0" * 64)}

    def cand(sentence: str, score: float) -> Candidate:
        at = text.index(sentence)
        return Candidate("d", "d:0", at, at + len(sentence), sentence, score, 0.0, 0.0, 0.0, False)

    ranked = [
        cand("(d) The term “space object” includes component parts of a space object.", 1.0),
        cand("(ii) a State from whose territory a space object is launched;", 0.9),
        cand("It also includes the launch vehicle of such an object.", 0.85),
    ]
    s, e, joined = answer_window(ranked, docs, chunks, Combination(join=3, join_ratio=0.8, join_chars=600))
    assert text[s:e].startswith("(d) The term") and text[s:e].endswith("launch vehicle of such an object.")
    assert joined == [ranked[2]]  # what follows the item still joins
    # The item's own head does join (a review: "What is a launching State?" lost "(c) … means:").
    ranked = [
        cand("(i) a State which launches a space object;", 1.0),
        cand("(c) The term “launching State” means:", 0.9),
    ]
    s, e, joined = answer_window(ranked, docs, chunks, Combination(join=3, join_ratio=0.8, join_chars=600))
    assert text[s:e].startswith("(c) The term “launching State” means:") and joined == [ranked[1]]


def test_answer_window_never_crosses_passages_or_joins_reference_entries():
    text, chunks, docs, cand = _window_fixture()
    comb = Combination(join=4, join_ratio=0.5, join_chars=1000)
    other_passage = [
        cand("Its members are elected for terms of three years.", 1.0),
        cand("A later text added by the Committee itself.", 0.99, "d:1"),
    ]
    s, e, joined = answer_window(other_passage, docs, chunks, comb)
    assert text[s:e] == "Its members are elected for terms of three years." and joined == []
    entries = [
        cand("It has met in Vienna every single year since then.", 1.0, reference=True),
        cand("The Committee was set up by the Assembly in 1959.", 0.99),
    ]
    s, e, joined = answer_window(entries, docs, chunks, comb)
    assert text[s:e] == "It has met in Vienna every single year since then." and joined == []
    # A sentence further off is not joined: it would bring the unranked ones between along.
    apart = [
        cand("The Committee was set up by the Assembly in 1959.", 1.0),
        cand("Other bodies advise it on technical questions.", 0.95),
    ]
    s, e, joined = answer_window(apart, docs, chunks, comb)
    assert text[s:e] == "The Committee was set up by the Assembly in 1959." and joined == []
    # ... until the one between joins: then the block of near-ties is contiguous.
    block = [
        cand("The Committee was set up by the Assembly in 1959.", 1.0),
        cand("Its members are elected for terms of three years.", 0.95),
        cand("It has met in Vienna every single year since then.", 0.9),
    ]
    s, e, joined = answer_window(block, docs, chunks, comb)
    assert text[s:e] == text[: text.index(" Other bodies")] and joined == block[1:]
    # The ranking stops at the first candidate below the ratio, even if a later one would fit.
    ranked = [
        cand("Other bodies advise it on technical questions.", 1.0),
        cand("A later text added by the Committee itself.", 0.2, "d:1"),
        cand("It has met in Vienna every single year since then.", 0.9),
    ]
    s, e, _ = answer_window(ranked, docs, chunks, comb)
    assert text[s:e] == "Other bodies advise it on technical questions."


def test_joined_answers_are_verbatim_citations(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    wide = Combination(join=4, join_ratio=0.0, join_chars=2000)
    engine = Engine.open(tmp_path / "idx", corpus=tiny_corpus, embedder=embedder)
    engine.combination = wide
    joined_any = False
    for q in ["What is a launching State?", "What do conferences do?", "space debris risk", "moon appropriation"]:
        a = engine.ask(q, threshold=0.0)
        c = a.citations[0]
        assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote == a.answer
        for s, e in a.explain["joined"]:
            assert c.start <= s and e <= c.end
        joined_any |= bool(a.explain["joined"])
    assert joined_any  # the test means something: some answer did take a neighbour


@pytest.fixture
def engine(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    return Engine.open(tmp_path / "idx", corpus=tiny_corpus, embedder=embedder)


def test_answer_is_verbatim_and_cited(engine):
    a = engine.ask("Which treaty article forbids nuclear weapons in orbit around the earth?")
    assert not a.abstained
    assert "nuclear weapons" in a.answer
    c = a.citations[0]
    assert c.n == 1 and c.quote == a.answer
    assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote
    assert c.locator == "Space Things Treaty › Article II"
    assert c.metadata["source"] == "https://example.org/treaty"
    assert 0.0 <= a.confidence <= 1.0
    assert a.explain["candidates"] and a.explain["threshold"] == engine.threshold


def test_source_question_answers_with_the_whole_reference(engine):
    a = engine.ask("Who wrote about anti-satellite weapons?")
    assert a.answer.startswith("Hart, B. L. (2007).") and a.answer.endswith("McGill library.")
    c = a.citations[0]
    assert c.locator.endswith("Reference 1")
    assert c.metadata["authors"] == ["Hart, B. L."] and c.metadata["year"] == "2007"


def test_reference_metadata_carries_doi(engine):
    a = engine.ask("Which journal published the article by Milik on the transfer of weapons?")
    assert a.citations and a.citations[0].metadata.get("doi") == "10.35467/sdq/103233"


def test_abstains_on_unrelated_question(engine):
    a = engine.ask("zzzz qqqq xxxx")
    assert a.abstained and a.answer == "" and a.citations == ()
    assert a.confidence < engine.threshold
    assert a.passages  # the closest passages are still listed, as such
    # but no sentence is offered as near: nothing scores the confidence floor.
    assert a.closest == () and a.explain["candidates"]
    assert all(engine.combination.probability(r["score"]) < CLOSEST_FLOOR for r in a.explain["candidates"])
    assert ABSTAIN_TEXT == "The corpus does not answer this."


def test_an_abstention_gives_the_best_sentence_of_each_closest_passage(engine):
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    refused = engine.ask(question, threshold=1.01)
    assert refused.abstained and refused.citations == ()
    closest = refused.closest
    assert 1 <= len(closest) <= 3 and [c.n for c in closest] == list(range(1, len(closest) + 1))
    # Verbatim and checkable, one per passage, best first: the first is what the answer would be.
    for c in closest:
        assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote
    rows = refused.explain["candidates"]
    assert (closest[0].start, closest[0].end) == (rows[0]["start"], rows[0]["end"])
    assert [c.score for c in closest] == sorted((c.score for c in closest), reverse=True)
    passages = [(p.doc_id, p.start, p.end) for p in refused.passages]
    owners = [next(i for i, (d, s, e) in enumerate(passages) if d == c.doc_id and s <= c.start < e) for c in closest]
    assert len(set(owners)) == len(owners)
    answered = engine.ask(question)
    assert not answered.abstained
    assert "nuclear weapons" in closest[0].quote and answered.answer.startswith(closest[0].quote)


def test_an_answer_gives_its_runners_up_without_the_cited_spans(engine):
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    a = engine.ask(question)
    assert not a.abstained and 1 <= len(a.closest) <= 3
    cited = [(c.doc_id, c.start, c.end) for c in a.citations]
    rows = a.explain["candidates"]
    for c in a.closest:
        assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote
        assert not any(d == c.doc_id and c.start < e and s < c.end for d, s, e in cited)  # never the answer again
    # The first runner-up is the best-ranked candidate outside the cited spans.
    outside = [r for r in rows if not any(d == r["doc_id"] and r["start"] < e and s < r["end"] for d, s, e in cited)]
    assert (a.closest[0].doc_id, a.closest[0].start, a.closest[0].end) == (
        outside[0]["doc_id"],
        outside[0]["start"],
        outside[0]["end"],
    )
    assert [c.score for c in a.closest] == sorted((c.score for c in a.closest), reverse=True)


def test_every_citation_is_exact(engine):
    for q in [
        "What is a launching State?",
        "What do conferences do?",
        "space debris risk",
        "Who wrote about weapons?",
        "moon appropriation",
    ]:
        for c in engine.ask(q, threshold=0.0).citations:
            assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote


def test_stale_citation_flagged(engine, tiny_corpus):
    q = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    assert not engine.ask(q).citations[0].stale
    path = tiny_corpus / "treaty.md"
    path.write_text(path.read_text().replace("nuclear", "atomic"))
    assert engine.ask(q).citations[0].stale


def test_further_citations_come_from_other_documents(engine):
    a = engine.ask("space", threshold=0.0)
    docs = [c.doc_id for c in a.citations]
    assert len(docs) == len(set(docs)) or all(c.metadata.get("reference") for c in a.citations[1:])
    assert [c.n for c in a.citations] == list(range(1, len(a.citations) + 1))


def test_doc_filter(engine):
    a = engine.ask("space", doc_ids=["notes"], threshold=0.0)
    assert {p.doc_id for p in a.passages} == {"notes"}


def test_candidate_vectors_come_from_the_index(engine):
    calls = []
    real = engine.embedder.encode

    def counting(texts, **kw):
        calls.append(list(texts))
        return real(texts, **kw)

    engine.embedder.encode = counting
    a = engine.ask("What is a launching State?", threshold=0.0)
    assert calls == [["What is a launching State?"]]  # only the question is encoded
    assert a.explain["candidates"] and not a.abstained
    # The stored span vector is what the answerer scored with.
    best = a.explain["candidates"][0]
    q = real(["What is a launching State?"])[0]
    stored = next(
        engine.index.spans(i)[(best["start"], best["end"])]
        for i, c in enumerate(engine.index.chunks)
        if (best["start"], best["end"]) in engine.index.spans(i)
    )
    assert best["semantic"] == pytest.approx(max(0.0, float(np.asarray(stored, np.float32) @ q)), abs=1e-3)


def test_candidates_without_stored_vectors_are_encoded(engine):
    from qa.answering import answer_question
    from qa.index import tokenize

    q = "What is a launching State?"
    qv = engine.embedder.encode([q])[0]
    hits = engine.hits(q, qv)
    encoded = []

    def encode(texts):
        encoded.extend(texts)
        return engine.embedder.encode(texts)

    with_index = answer_question(
        q,
        hits,
        engine.index.documents,
        question_vector=qv,
        encode=encode,
        tokenize=tokenize,
        idf=engine._idf,
        span_vectors=engine._span_vectors,
    )
    assert encoded == []
    without = answer_question(
        q, hits, engine.index.documents, question_vector=qv, encode=encode, tokenize=tokenize, idf=engine._idf
    )
    assert 0 < len(encoded) <= 8  # MAX_EMBEDDED: only the most promising candidates
    # The hash embedder encodes a span the same alone or in its passage, so both agree.
    assert without.answer == with_index.answer


def test_extend_span_into_a_listing_sentence_only():
    text = "The Council may decide what measures are to be employed. These may include interruption of relations."
    chunk = Chunk("d:0", "d", text, 0, len(text), "T")
    first = text.index(".") + 1
    assert extend_span(_doc(text), 0, first, chunk) == (0, len(text))
    other = "Space security is an important area of diplomacy today. This is why law is concentrated on space."
    chunk = Chunk("d:0", "d", other, 0, len(other), "T")
    assert extend_span(_doc(other), 0, other.index(".") + 1, chunk) == (0, other.index(".") + 1)


def _scored_lexical(question: str, text: str) -> dict[str, float]:
    """The lexical feature of each sentence of a one-chunk document, as score_candidates sees it."""
    from qa.answering import score_candidates
    from qa.embedding import HashEmbedder
    from qa.index import tokenize
    from qa.types import Document, Hit

    doc = Document("c", "c.md", "Convention", text, "x")
    chunk = Chunk("c:0", "c", text, 0, len(text), "Convention")
    emb = HashEmbedder(64)
    cands = score_candidates(
        question,
        [Hit(chunk, 1.0)],
        {"c": doc},
        question_vector=emb.encode([question])[0],
        encode=emb.encode,
        tokenize=tokenize,
        idf=lambda t: 1.0,
    )
    return {c.text: c.lexical for c in cands}


def test_auxiliary_verbs_of_the_question_earn_no_overlap():
    lexical = _scored_lexical(
        "How many members does the Council have?",
        "Each member shall have one vote.\nThe Council shall consist of fifteen members.",
    )
    # "have" is not what the question asks about; "Council" is.
    assert lexical["The Council shall consist of fifteen members."] > lexical["Each member shall have one vote."]


def test_a_without_question_matches_the_same_phrase_in_a_candidate():
    lexical = _scored_lexical(
        "Is the State liable without fault?",
        "The State is liable without fault for damage on the ground.\nThe State is liable for its fault in orbit.",
    )
    # "fault" alone earns nothing; "without fault" matches the same phrase.
    assert (
        lexical["The State is liable without fault for damage on the ground."]
        > lexical["The State is liable for its fault in orbit."]
    )


def test_support_must_name_the_question_in_its_own_words(engine, pin_scores):
    """Every entry of a reference list shares the locator "… › Reference N", so for a question
    about sources they all score alike. Only entries that say something of the question in
    their own text are cited as support; the rest stay runners-up."""
    pin_scores({"Hart, B. L.": 0.80, "A/RES/61/75": 0.79, "Milik, P.": 0.78})
    a = engine.ask("Who wrote about anti-satellite weapons?")
    assert [c.quote[:10] for c in a.citations] == ["Hart, B. L", "Milik, P. "]  # "weapons", in its title
    assert any(c.quote.startswith("A/RES/61/75") for c in a.closest)  # close, but no support
    # A number or a question word names no topic: the "61" of "A/RES/61/75" is not a subject.
    a = engine.ask("Which authors wrote about weapons in chapter 61?")
    assert [c.quote[:10] for c in a.citations] == ["Hart, B. L", "Milik, P. "]


def test_a_question_for_a_kind_of_source_prefers_entries_of_that_kind(engine):
    """The reference parser knows an entry's kind (UN document, book, journal article); a
    question that asks for one kind ranks those entries first, like a year it names."""
    kinds = {r.raw[:10]: r.kind for d in engine.index.documents.values() for r in d.references}
    assert kinds["A/RES/61/7"] == "un_document" and kinds["Milik, P. "] == "article"
    resolutions = engine.ask("Which resolutions are cited?", threshold=0.0)
    assert resolutions.answer.startswith("A/RES/61/75")
    papers = engine.ask("Which journal papers are cited?", threshold=0.0)
    assert papers.answer.startswith("Milik, P.")


def test_kind_match_needs_a_question_about_sources():
    from qa.answering import kind_match
    from qa.types import Reference

    report = Reference("r1", "d", 1, "UN report", 0, 9, "report", title="Debris")
    book = Reference("r2", "d", 2, "A book", 0, 6, "book", title="Law")
    assert kind_match("Which reports are cited?", report) == 1.0
    assert kind_match("Which reports are cited?", book) == -1.0
    assert kind_match("What must States report to the Secretary-General?", report) == 0.0  # a verb
    assert kind_match("Who wrote about debris?", report) == 0.0  # no kind asked


def test_article_numbers_asked_and_located():
    from qa.answering import article_match, asked_articles, located_article

    assert asked_articles("What does Article IV of the Outer Space Treaty say?") == {4}
    assert asked_articles("Compare Art. 11 and article XXII.") == {11, 22}
    assert asked_articles("What does article 5 say about rescue?") == {5}
    assert asked_articles("Is the article I read about debris right?") == set()
    assert asked_articles("Who may claim the Moon?") == set()
    assert located_article("Liability Convention › Article XIV") == 14
    assert located_article("Moon Agreement › Article 11 › 2") == 11
    assert located_article("Space diplomacy › Reference 4") is None
    # Roman and arabic numbers are one article; "II" is not "XXII".
    assert article_match("What does Article 2 say?", "Liability Convention › Article II") == 1.0
    assert article_match("What does Article II say?", "Liability Convention › Article XXII") == -1.0
    assert article_match("Who is liable?", "Liability Convention › Article II") == 0.0
    assert article_match("What does Article II say?", "Liability Convention › Preamble") == 0.0


def test_a_paragraph_named_by_number_is_preferred_and_stands_alone():
    from qa.answering import PARAGRAPH_NAMED, article_match, asked_paragraphs

    assert asked_paragraphs("What does Article 2(4) of the Charter prohibit?") == {"4"}
    assert asked_paragraphs("What does Article 11, paragraph 5 require?") == {"5"}
    assert asked_paragraphs("What does paragraph 3 of Article IX say?") == {"3"}
    assert asked_paragraphs("What does Article 11 (d) say?") == {"d"}
    assert asked_paragraphs("What does Article 2 of the Charter say?") == set()
    where = "Charter › Article 2"
    q = "What does Article 2(4) prohibit?"
    assert article_match(q, where, "4. All Members shall refrain from force.") == PARAGRAPH_NAMED
    assert article_match(q, where, "6. The Organization shall ensure that states act.") == 0.0
    assert article_match(q, where, "(a) a lettered item of some paragraph;") == 1.0  # another kind: unknown
    assert article_match(q, where, "It shall be done in good faith.") == 1.0
    assert article_match(q, "Charter › Article 3", "4. Another article's paragraph.") == -1.0
    # The named paragraph is the answer on its own: its near-tied neighbour is not joined.
    text = "4. All Members shall refrain from force. 5. All Members shall give assistance."
    docs = {"d": Document("d", "d.md", "T", text, "0")}
    chunks = {"d:0": Chunk("d:0", "d", text, 0, len(text), "T › Article 2")}

    def cand(start, end, answer_type):
        return Candidate("d", "d:0", start, end, text[start:end], 0.9, 0.9, 0.9, 1.0, False, answer_type=answer_type)

    second = text.index("5.")
    ranked = [cand(0, second - 1, PARAGRAPH_NAMED), cand(second, len(text), 1.0)]
    comb = Combination(join=6, join_ratio=0.5, join_chars=600)
    assert answer_window(ranked, docs, chunks, comb)[:2] == (0, second - 1)
    ranked[0] = cand(0, second - 1, 1.0)
    assert answer_window(ranked, docs, chunks, comb)[:2] == (0, len(text))


ARTICLES = "# Widget Treaty\n\n" + "\n\n".join(
    f"## Article {roman}\n\nThe parties shall {verb} widgets in every {place}. "
    # Filler, so that each article is a passage of its own (chunks hold about 1,000 characters).
    + " ".join(f"Clause {n} concerns procedure number {n}." for n in range(1, 20))
    for roman, verb, place in [
        ("I", "register", "orbit"),
        ("II", "inspect", "harbour"),
        ("III", "paint", "garden"),
        ("IV", "count", "warehouse"),
        ("V", "insure", "museum"),
        ("VI", "polish", "station"),
        ("VII", "share", "port"),
        ("VIII", "store", "vault"),
    ]
)


def test_a_question_naming_an_article_no_document_has_is_refused_with_the_reason(tmp_path, embedder):
    from qa.answering import refusal_hint

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "widgets.md").write_text(ARTICLES, encoding="utf-8")
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    answer = engine.ask("What does Article XII of the Widget Treaty say?", threshold=0.0)
    assert answer.abstained and answer.explain["missing_article"] == "Article XII"
    assert "No passage found is under Article XII" in refusal_hint(answer.explain)
    found = engine.ask("What does Article VI of the Widget Treaty say?", threshold=0.0)
    assert not found.abstained and "missing_article" not in found.explain
    # A commentary that discusses the article may answer better than the article's text: the
    # article is there, so that is no reason to refuse (a code review found it refused).
    (corpus / "commentary.md").write_text(
        "# Notes on polishing\n\nUnder Article VI of the Widget Treaty, polishing must be licensed "
        "and supervised by a national authority.\n",
        encoding="utf-8",
    )
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    discussed = engine.ask("Under Article VI, must polishing be licensed and supervised?", threshold=0.0)
    assert not discussed.abstained and "missing_article" not in discussed.explain
    assert discussed.citations[0].doc_id == "commentary"
    (corpus / "commentary.md").unlink()
    # Passages without article headings cannot tell: no refusal on that ground.
    (corpus / "widgets.md").write_text("# Widgets\n\nArticle 51 of the widget charter keeps the right to repair.\n")
    build(corpus, tmp_path / "idx", embedder=embedder)
    plain = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    kept = plain.ask("What right does Article 51 of the widget charter keep?", threshold=0.0)
    assert not kept.abstained and "missing_article" not in kept.explain


def test_a_question_naming_an_article_reads_it_even_when_retrieval_misses_it(tmp_path, embedder, monkeypatch):
    import qa.engine
    from qa.types import Hit

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "widgets.md").write_text(ARTICLES, encoding="utf-8")
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    # Retrieval finds only Article I (as BM25 and the embedding barely weigh "VI").
    first = next(r for r, c in enumerate(engine.index.chunks) if c.locator.endswith("Article I"))
    monkeypatch.setattr(qa.engine, "retrieve", lambda *a, **kw: [Hit(engine.index.chunks[first], 1.0, 1, 1, first)])
    question = "What does Article VI of the Widget Treaty say?"
    qv = embedder.encode([question])[0]
    retrieved = [h.chunk.locator for h in engine.hits(question, qv, k=1)]
    assert "Widget Treaty › Article VI" in retrieved  # added although k=1
    answer = engine.ask(question, k=1, threshold=0.0)
    assert answer.citations[0].locator == "Widget Treaty › Article VI"
    cited = answer.citations[0]
    assert engine.canonical_text("widgets")[cited.start : cited.end] == cited.quote
    assert [h.chunk.locator for h in engine.hits("What does Article IX say?", qv, k=1)] == ["Widget Treaty › Article I"]


def test_a_numbered_paragraph_outside_any_article_is_read_and_quoted_whole(tmp_path, embedder, monkeypatch):
    import qa.engine
    from qa.answering import (
        PARAGRAPH_NAMED,
        asked_numbered_paragraphs,
        opens_numbered_paragraph,
        paragraph_match,
        refusal_hint,
        whole_paragraph,
    )
    from qa.cli import format_answer
    from qa.types import Hit

    # Commentaries and UN reports number their paragraphs ("3.3 …", "12. …"), and readers cite them.
    assert asked_numbered_paragraphs("What does paragraph 3.3 of the commentary say?") == {"3.3"}
    assert asked_numbered_paragraphs("What does para. 12 of the report say?") == {"12"}
    assert asked_numbered_paragraphs("What does § 4 say?") == {"4"}
    assert asked_numbered_paragraphs("What does Article 11 paragraph 5 say?") == set()  # an article's: asked_paragraphs
    assert asked_numbered_paragraphs("Which paragraph mentions debris?") == set()
    # Notes as the formats give them: "⁴ …" (PDF marks, qa.reflow), "[4] …" (DOCX), "[^4]: …".
    assert asked_numbered_paragraphs("What does footnote 4 say?") == {"note 4"}
    assert asked_numbered_paragraphs("What is in note 12 of the commentary?") == {"note 12"}
    # A code review: the verb is no note, and a line opening with a figure is no paragraph.
    assert asked_numbered_paragraphs("Did the Office note 3 problems with registration?") == set()
    assert opens_numbered_paragraph("12 operators have signed the initiative.") is None
    assert opens_numbered_paragraph("2.5 million euros were spent.") is None
    # "[1] Smith, J. (2019) …" numbers a bibliography entry; "[1] …" is a note under "Notes" (DOCX).
    assert opens_numbered_paragraph("[1] Smith, J. (2019). Debris.", "Paper › References") is None
    assert opens_numbered_paragraph("[1] See the survey.", "Paper › Notes") == "note 1"
    assert [opens_numbered_paragraph(t) for t in ("⁴ Jakhu, R.", "[^12]: See", "2023 was")] == [
        "note 4",
        "note 12",
        None,
    ]
    notes = "Body text here.\n¹ Treaty, Article VIII. Also Article IX.\n² See the survey.\n"
    first = notes.index("¹")
    assert notes[first : whole_paragraph(_doc(notes), first, notes.index(" Also"))] == (
        "¹ Treaty, Article VIII. Also Article IX."
    )
    q = "What does paragraph 3.3 of the commentary say?"
    assert paragraph_match(q, "3.3 The general function is the least precise element.") == PARAGRAPH_NAMED
    assert paragraph_match(q, "3.4 Article IV, paragraph 3, requires notice.") == -1.0
    assert paragraph_match("Who registers objects?", "3.3 The general function …") == 0.0
    # A decimal paragraph runs to the next one, over its sentences.
    text = "# Commentary\n\n3.3 The function is vague. States say little.\n3.4 Notice is due.\n"
    start = text.index("3.3")
    assert text[start : whole_paragraph(_doc(text), start, text.index(" States"))] == (
        "3.3 The function is vague. States say little."
    )
    figure = "2.5 million euros were spent. More followed.\n"
    assert whole_paragraph(_doc(figure), 0, figure.index(" More")) == figure.index(" More")  # no paragraph
    # End to end: the paragraph is read though retrieval misses it, and ranks above spans
    # that share "paragraph" and a number with the question.
    filler = " ".join(f"Item {n} concerns procedure number {n}." for n in range(1, 25))
    body = "\n".join(f"{n}. The Committee noted topic {n} and {filler}" for n in range(1, 15))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.md").write_text(f"# Committee report\n\n{body}\n", encoding="utf-8")
    (corpus / "rules.md").write_text("# Rules\n\nParagraph 12 of the rules applies to every paragraph 12 case.\n")
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    rules = next(r for r, c in enumerate(engine.index.chunks) if c.doc_id == "rules")
    monkeypatch.setattr(qa.engine, "retrieve", lambda *a, **kw: [Hit(engine.index.chunks[rules], 1.0, 1, 1, rules)])
    # At the product's threshold: the question has no other words to score, but one passage
    # opens the paragraph asked for, in the document named, so that is the answer, said so.
    answer = engine.ask("What does paragraph 12 of the Committee report say?", k=1, threshold=0.99)
    assert not answer.abstained and answer.explain["named_paragraph"] == "12"
    cited = answer.citations[0]
    assert cited.doc_id == "report" and cited.quote.startswith("12. The Committee noted topic 12 and")
    assert cited.quote.endswith("procedure number 24.")  # the whole paragraph, up to "13."
    assert engine.canonical_text("report")[cited.start : cited.end] == cited.quote
    assert "below the threshold; answered as paragraph 12, asked for by number" in format_answer(answer)
    # Two documents open a paragraph 12 and the question names neither: which one is meant is
    # not known, and the paragraph's number is no evidence of an answer. Refused, saying why.
    (corpus / "minutes.md").write_text(f"# Minutes\n\n12. The Bureau met twice. {filler}\n", encoding="utf-8")
    build(corpus, tmp_path / "idx", embedder=embedder)
    engine = Engine.open(tmp_path / "idx", corpus=corpus, embedder=embedder)
    monkeypatch.setattr(qa.engine, "retrieve", lambda *a, **kw: [])
    unsure = engine.ask("What does paragraph 12 say?", k=1, threshold=0.5)
    assert unsure.abstained and unsure.confidence < 0.5
    assert set(unsure.explain["ambiguous_paragraph"][1]) == {"Committee report", "Minutes"}
    assert refusal_hint(unsure.explain).startswith("Several passages open a paragraph 12 (")
    named = engine.ask("What does paragraph 12 of the minutes say?", k=1, threshold=0.99)
    assert not named.abstained and named.citations[0].quote.startswith("12. The Bureau met twice.")
    # A code review: the number's credit had stayed in every other candidate's confidence, so
    # the report's paragraph 12 was cited as support for the minutes' at a higher confidence.
    assert [c.doc_id for c in named.citations] == ["minutes"]
    comb = Combination(**named.explain["combination"])
    for row in named.explain["candidates"]:  # each candidate's probability: its score without the credit
        credit = 0.1 * PARAGRAPH_NAMED if row["answer_type"] >= PARAGRAPH_NAMED else -0.1
        assert row["probability"] == pytest.approx(comb.probability(row["score"] - credit), abs=1e-5)
