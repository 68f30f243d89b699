"""Extractive answers: pick a verbatim span from the retrieved passages, cite it.

Pure logic: everything here works on strings, offsets and vectors handed in
by the caller (``qa.engine`` supplies the models and the index).

Two stages rank the candidates (a sentence of a top passage, a clause of an
over-long one, or a whole reference entry; see ``qa.sentences``):

1. **Feature score** (``score_candidates``), cheap, for every candidate:
       W_SEMANTIC * cosine(question, candidate's stored span vector)
     + W_LEXICAL  * idf-weighted share of the question's terms it contains (the
                    locator counts as context)
     + W_PASSAGE  * its passage's retrieval score relative to the best
     + 0.1        * fit to the question's type (a date after "when", a span of time
                    after "what is the deadline", a count after "how many",
                    defining words after "how does it define", a reference entry's
                    year or kind, the article a question names by number)
     + SOURCE_BONUS * +1/-1 for a reference entry when the question does/does not
                    ask about sources.
2. **Learned selector** (``select_candidates``, when the engine has one): the best
   ``Combination.rerank`` candidates are read by a cross-encoder (``qa.selector``)
   and ranked by feature score + b * the selector's probability. The confidence is
   the best feature score through a logistic calibration fitted on dev questions:
   the selector chooses among the candidates, the features decide whether to answer.

3. **Answer window** (``answer_window``): neighbours of the winner in its passage that
   rank nearly as high join it, so a near-tie between adjacent sentences is shown
   whole, in reading order, as one verbatim span.

Below the threshold the answerer abstains and gives the best-ranked sentence of each
of the closest passages, verbatim and checkable, as not an answer; above it, the same
list without the cited spans comes with the answer as its runners-up. How the weights,
the combination and the threshold were chosen, and what each feature earns on the
public sets: docs/answerer.md (current figures: docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qa.index import drop_question_words
from qa.language import language_hint, other_language
from qa.selector import selector_input
from qa.sentences import LONG_SENTENCE, candidate_spans, split_long, split_sentences
from qa.types import Answer, Candidate, Chunk, Citation, Document, Hit, Passage, Reference

W_SEMANTIC = 0.5
W_LEXICAL = 0.5
W_PASSAGE = 0.1
SOURCE_BONUS = 0.2
MAX_CITATIONS = 3
MAX_CLOSEST = 3  # sentences shown as not an answer: the nearest on abstention, else runners-up
# ...and only those the answerer gives at least this confidence. Off-topic questions (XQuAD's
# asked of the space-law corpus) otherwise get three unrelated sentences; on the dev halves this
# is the highest floor that keeps every closest sentence holding a gold answer (docs/answerer.md).
CLOSEST_FLOOR = 0.17
NOTHING_CLOSE = "Nothing in the corpus comes close to this question."
# A supporting citation must score at least this share of the answer's score, and name one
# of the question's terms in its own words (not only in its locator).
SUPPORT_RATIO = 0.9
READ_AHEAD = 4000  # characters after a span that may complete it (a list it announces)
MAX_LIST_SENTENCES = 16
ABSTAIN_TEXT = "The corpus does not answer this."

_SOURCE_QUESTION = re.compile(
    r"\b(who\s+(?:wrote|writes|has\s+written|authored|published|edited|discussed|studied|argued|researched)"
    r"|which\s+(?:\w+\s+){0,2}(?:authors?|papers?|articles?|books?|sources?|references?|resolutions?|publications?|journals?|works?|studies)"
    r"|what\s+(?:\w+\s+){0,2}(?:papers?|articles?|books?|sources?|references?|resolutions?|publications?|literature|journals?|works|studies)"
    r"|authors?|references?|cited|cites?|bibliograph\w*|publications?|doi|journal)\b",
    re.I,
)


# An article of a treaty is no publication: "What does Article IV say?", "Which article of the
# Outer Space Treaty bans …?" ask about the treaty's text, not about sources.
_TREATY_ARTICLE = re.compile(
    r"\barticles?\s+(?:\d+|[IVXLC]+)\b"
    r"|\barticles?\s+of\s+the\s+(?:[\w-]+\s+){0,5}?(?:treaty|charter|convention|agreement|declaration|resolution)\b",
    re.I,
)


def is_source_question(question: str) -> bool:
    """Does the question ask about authors, publications or documents cited?"""
    return bool(_SOURCE_QUESTION.search(_TREATY_ARTICLE.sub(" ", question)))


def names_an_author(question: str, ref: Reference | None) -> bool:
    """Does the question name one of the entry's personal authors ("Hart's study")?
    Such a question is about that work even when it does not ask for sources."""
    if ref is None:
        return False
    surnames = (a.split(",")[0].strip() for a in ref.authors if "," in a)
    return any(len(n) >= 3 and re.search(rf"\b{re.escape(n)}\b", question) for n in surnames)


_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")  # "1999a" too


def year_match(question: str, ref: Reference | None) -> float:
    """For a reference entry: 1 when the question names a year the entry has ("the 1999
    Warsaw volume"), -1 when it names only other years, 0 when either names none."""
    asked = set(_YEAR.findall(question))
    has = set(_YEAR.findall(f"{ref.year or ''} {ref.date or ''}")) if ref is not None else set()
    if not asked or not has:  # an entry without a year (a treaty, a web page) is neither
        return 0.0
    return 1.0 if asked & has else -1.0


# The kind of source a question asks for, as ``qa.references`` parses an entry's kind.
_KIND_ASKED = (
    ("un_document", re.compile(r"\b(resolutions?|UN documents?|General Assembly documents?)\b", re.I)),
    ("book", re.compile(r"\b(books?|monographs?)\b", re.I)),
    ("article", re.compile(r"\b(papers|journal articles?|journals?)\b", re.I)),
    ("report", re.compile(r"\breports\b", re.I)),
)


def kind_match(question: str, ref: Reference | None) -> float:
    """For a reference entry: 1 when a question about sources asks for the kind of source it
    is ("which resolutions …" and a UN document), -1 when it asks only for other kinds, 0 when
    it asks for none (or the entry could not be parsed)."""
    if not is_source_question(question):  # "What must States report?" asks for no report
        return 0.0
    asked = {kind for kind, pattern in _KIND_ASKED if pattern.search(question)}
    if not asked or ref is None or ref.kind == "unparsed":
        return 0.0
    return 1.0 if ref.kind in asked else -1.0


# "Article IV", "article 5", "Art. 11": a question that names an article by number. Roman
# numerals only in capitals, and a lone "I" not before a lower-case word other than "of"
# ("the article I read" is no Article I).
_ARTICLE_ASKED = re.compile(
    r"\b(?:[Aa]rticle|ARTICLE|Art\.)\s+(\d+|[IVXLC]+)\b(?!\s+(?!of\b)[a-z])|"
    r"\b(?:[Aa]rticle|ARTICLE|Art\.)\s+(\d+|[IVXLC]{2,})\b"
)
_ARTICLE_OF = re.compile(r"(?:^|›)\s*Article\s+(\d+|[IVXLC]+)\s*(?:›|$)")


def _article_number(label: str) -> int:
    if label.isdigit():
        return int(label)
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    digits = [values[ch] for ch in label]
    # Subtractive notation: a smaller numeral before a larger one counts negative (IV = 4).
    return sum(-d if i + 1 < len(digits) and d < digits[i + 1] else d for i, d in enumerate(digits))


def asked_articles(question: str) -> set[int]:
    """The article numbers a question names ("Article IV", "Art. 5" -> {4, 5})."""
    return {_article_number(a or b) for a, b in _ARTICLE_ASKED.findall(question)}


def located_article(locator: str) -> int | None:
    """The article a locator names ("Outer Space Treaty › Article IV" -> 4), if any."""
    found = _ARTICLE_OF.search(locator)
    return _article_number(found.group(1)) if found else None


# "Article 2(4)", "Article 2 (4)", "Article 11, paragraph 5", "paragraph 5 of Article 11".
_PARAGRAPH_ASKED = re.compile(
    r"\b(?:[Aa]rticle|Art\.)\s+(?:\d+|[IVXLC]+)\s*(?:\((\d+|[a-z])\)|,?\s+(?:paragraph|para\.?)\s+(\d+))"
    r"|\b(?:paragraph|para\.?)\s+(\d+)\s+of\s+(?:[Aa]rticle|Art\.)"
)


# article_match of the span that opens the paragraph a question named. Other spans of treaty
# text score at most 2 in the question-type fit (answer_type_match adds at most 1), so an answer
# type this high marks that span (or a reference entry, which is never joined to anyway).
PARAGRAPH_NAMED = 3.0


WHOLE_ARTICLE_CHARS = 1500  # longer articles are answered by the span asked about, not whole
# Words of "What does Article IV of the … Treaty say?" that ask for the text, not a topic.
_TEXT_WORDS = frozenset(  # stemmed, as qa.index.tokenize gives them
    "what doe say provid state requir prohibit contain establish cover stipul summar summari mean deal "  # noqa: SIM905
    "text full whole read describ explain content un articl art".split()
)


def whole_article(question: str, best: Candidate, doc: Document, tokenize: Callable) -> tuple[int, int] | None:
    """The whole article, as (start, end) of its text, when the question asks what an article
    says and nothing more ("What does Article IV of the Outer Space Treaty say?") and the best
    span is in that article: its sentences each answer a part. None otherwise, or when the
    article is longer than ``WHOLE_ARTICLE_CHARS``."""
    number = located_article(best.locator)
    if number is None or number not in asked_articles(question) or asked_paragraphs(question):
        return None
    titles = {doc.title, locator_title(best.locator)}
    named = {t for title in titles for t in tokenize([title])[0]}
    numbers = {(a or b).lower() for a, b in _ARTICLE_ASKED.findall(question)}
    if set(tokenize([question])[0]) - _TEXT_WORDS - named - numbers:
        return None  # "What does Article 11 say about natural resources?": a topic, not the text
    heads = [pos for pos, _, _ in doc.headings if pos <= best.start]
    if not heads:
        return None
    after = doc.text.find("\n", heads[-1])
    body = len(doc.text) if after < 0 else after + 1
    end = next((pos for pos, _, _ in doc.headings if pos > best.start), len(doc.text))
    section = doc.text[body:end]
    start, stop = body + len(section) - len(section.lstrip()), body + len(section.rstrip())
    if not start <= best.start < stop or stop - start > WHOLE_ARTICLE_CHARS:
        return None
    return start, stop


def locator_title(locator: str) -> str:
    """The document part of a locator: "Outer Space Treaty › Article IV" -> "Outer Space Treaty"."""
    return locator.split(" › ")[0]


def named_documents(question: str, titles: set[str], tokenize: Callable) -> set[str]:
    """The short titles ("Moon Agreement", "Outer Space Treaty") every word of which the
    question uses, when it asks for an article or a numbered paragraph: whose it means."""
    if not asked_articles(question) and not asked_numbered_paragraphs(question):
        return set()
    words = set(tokenize([question])[0])
    return {t for t in titles if (terms := set(tokenize([t])[0])) and terms <= words}


def asked_paragraphs(question: str) -> set[str]:
    """The paragraph labels a question names within an article ("Article 2(4)" -> {"4"})."""
    return {next(filter(None, groups)) for groups in _PARAGRAPH_ASKED.findall(question)}


# "paragraph 3.3", "para. 12", "§ 4": a numbered paragraph asked for outside any article, as
# commentaries and UN reports number theirs ("12. The Committee noted …", "3.3 The duty …").
_NUMBERED_ASKED = re.compile(r"(?:\b(?:[Pp]aragraph|[Pp]ara\.?)\s+|§\s*)(\d{1,3}(?:\.\d{1,3})*)\b(?!\.\d)")
# "3.3 The duty …", "12. The Committee …": not "12 operators signed" or "2.5 million euros".
_OPENS_NUMBERED = re.compile(r"^(?:(\d{1,3}(?:\.\d{1,3})+)\.?|(\d{1,3})\.)\s+[A-Z\"“(]")
# "footnote 4", "note 4", "endnote 4"; and a note's own text, as the formats give it: "⁴ Jakhu …"
# (PDF, qa.reflow), "[4] …" (DOCX notes), "[^4]: …" (Markdown).
# A bare "note" only as a noun: "note 3 of the commentary", not "did they note 3 problems".
_NOTE_ASKED = re.compile(
    r"\b(?:[Ff]oot|[Ee]nd)[Nn]otes?\s+(\d{1,3})\b"
    r"|\b[Nn]otes?\s+(\d{1,3})\b(?!\s+(?!(?:of|in|to|on|says?|said|and|or)\b)[a-z])"
)
_OPENS_NOTE = re.compile(r"^(?:([⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})|\[\^(\d{1,3})\]:|\[(\d{1,3})\])\s*\S")
# DOCX notes ("[4] …", qa.ingest) sit under a "Notes" heading; elsewhere "[4] …" numbers a
# bibliography entry.
_NOTES_SECTION = re.compile(r"(?:^|›)\s*(?:foot|end)?notes\s*(?:›|$)", re.I)
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


@functools.lru_cache(maxsize=64)  # read once per candidate by paragraph_match: parse the question once
def asked_numbered_paragraphs(question: str) -> frozenset[str]:
    """The numbered paragraphs or notes a question asks for outside an article ("What does
    paragraph 3.3 of the commentary say?" -> {"3.3"}, "footnote 4" -> {"note 4"}); none when it
    names an article, whose paragraphs ``asked_paragraphs`` reads."""
    if asked_articles(question):
        return frozenset()
    notes = {f"note {int(a or b)}" for a, b in _NOTE_ASKED.findall(question)}
    return frozenset(_NUMBERED_ASKED.findall(question)) | notes


def opens_numbered_paragraph(span: str, locator: str = "") -> str | None:
    """The number a span opens with as a paragraph ("3.3 The duty …" -> "3.3") or a note
    ("⁴ Jakhu …", "[^4]: …", or "[4] …" under a Notes heading -> "note 4"), if any."""
    if m := _OPENS_NOTE.match(span):
        if m.group(3) and not _NOTES_SECTION.search(locator):
            return None
        return f"note {int(next(filter(None, m.groups())).translate(_FROM_SUPERSCRIPT))}"
    m = _OPENS_NUMBERED.match(span)
    return (m.group(1) or m.group(2)) if m else None


def _numbered_name(label: str) -> str:
    return label.replace("note", "footnote") if label.startswith("note") else f"paragraph {label}"


def paragraph_match(question: str, span: str, locator: str = "") -> float:
    """``PARAGRAPH_NAMED`` for a span that opens the numbered paragraph the question asks for
    ("paragraph 12" and "12. The Committee noted …"), -1 for any other span, 0 when the question
    asks for none: like an article's number, a paragraph's number is structure that no word of
    the question shares, and other spans that mention "paragraph 2" must not outrank it."""
    asked = asked_numbered_paragraphs(question)
    if not asked:
        return 0.0
    return PARAGRAPH_NAMED if opens_numbered_paragraph(span, locator) in asked else -1.0


def article_match(question: str, locator: str, span: str = "") -> float:
    """For a span whose locator names an article ("Liability Convention › Article II"): 1 when
    the question asks for that article by number ("What does Article 2 say?"; roman and arabic
    numbers are the same), -1 when it asks only for others, 0 when either names none. Article
    numbers are a field of the document's structure, like a reference's year: "Article II"
    and "Article XXII" share no word, and the lexical feature cannot tell them apart.
    When the question names a paragraph too ("Article 2(4)"), a span of that article that
    opens another paragraph numbered alike ("6. The Organization shall ensure …") gets 0,
    and the one that opens the paragraph asked for gets ``PARAGRAPH_NAMED``: the question has named the
    span, so it outranks sentences that only share words with the question."""
    asked, found = asked_articles(question), located_article(locator)
    if not asked or found is None:
        return 0.0
    if found not in asked:
        return -1.0
    opens = _ENUMERATOR.match(span)
    paragraphs = asked_paragraphs(question)
    if not opens or not paragraphs:
        return 1.0
    label = opens.group(1).lower()
    if label in paragraphs:
        return PARAGRAPH_NAMED
    return 0.0 if any(p.isdigit() == label.isdigit() for p in paragraphs) else 1.0


@dataclass(frozen=True)
class Weights:
    """How the candidate features combine into a score (see the module docstring)."""

    semantic: float = W_SEMANTIC
    lexical: float = W_LEXICAL
    passage: float = W_PASSAGE
    source: float = SOURCE_BONUS
    answer_type: float = 0.1


@dataclass(frozen=True)
class _Span:
    hit_rank: int
    chunk: Chunk
    start: int
    end: int
    is_reference: bool


def candidates_from(hits: Sequence[Hit]) -> list[_Span]:
    """Sentences of each hit, or the whole entry for reference chunks; a sentence shared
    by two overlapping passages is kept once, with the better-ranked one."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for rank, hit in enumerate(hits):
        c = hit.chunk
        for s, e in candidate_spans(c):
            key = (c.doc_id, s, e)
            if key not in seen:
                seen.add(key)
                out.append(_Span(rank, c, s, e, bool(c.ref_id)))
    return out


# Auxiliary verbs of a question ("How many members does the Council have?") are not
# what it asks about, and the BM25 stop list keeps them; a candidate should not
# score for containing "have". (Dropping the wh-words too made abstention worse:
# they match nothing, so removing them lifts every candidate's overlap alike.)
_AUXILIARIES = frozenset(
    {
        "do",
        "doe",
        "did",
        "have",
        "has",
        "had",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "can",
        "could",
        "may",
        "might",
        "must",
        "shall",
        "should",
        "will",
        "would",
    }
)


def question_terms(
    question: str, tokenize: Callable[[list[str]], list[list[str]]], idf: Callable[[str], float]
) -> dict[str, float]:
    """The question's terms with their idf weights, auxiliary verbs left out."""
    return {t: idf(t) for t in tokenize([question])[0] if t not in _AUXILIARIES}


def lexical_overlap(question: Mapping[str, float], candidate_terms: set[str]) -> float:
    """Share of the question's term weight (idf) that the candidate contains, in [0, 1]."""
    total = sum(question.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in question.items() if t in candidate_terms) / total


_WHEN = re.compile(r"^\s*(when|in what year|what year|on what date|what date|since when)\b", re.I)
_HOW_MANY = re.compile(r"\b(how (many|much|long|often)|what (number|percentage|share|majority))\b", re.I)
_DATE = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|hundred|thousand|half|third|majority)\b",
    re.I,
)


# The noun a "how many" question counts: "How many members ..." -> "members".
_COUNTED = re.compile(
    r"\bhow many\s+(?:\w+\s+)??([a-z]{3,})\b(?=\s+(?:are|is|does|do|did|can|may|must|shall|"
    r"sit|serve|have|has|were|was|make|in|on|of)\b)",
    re.I,
)
_LEADING_ENUMERATOR = re.compile(r"^\s*\(?(?:[0-9]{1,3}|[a-z]|[ivx]{1,4})[.)]\s+")


# A question after a time limit, and the span of time that answers it.
_DURATION_Q = re.compile(r"\b(deadline|time[- ]limit|how (long|soon)|within what (period|time)|what period)\b", re.I)
_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|"
    r"twenty|thirty|forty|fifty|sixty|ninety|hundred)(?:\s*\(\d+\))?[\s-]+(?:\w+\s+)?"
    r"(years?|months?|weeks?|days?|hours?)\b",
    re.I,
)


# A question after how a text describes or defines something, and the wording that
# answers it: "regard astronauts as envoys of mankind", "'launching State' means".
_DEFINE_Q = re.compile(
    r"\bhow\s+(?:do|does|did)\b.*\b(?:describe|define|characteri[sz]e|call|regard|refer\s+to)\b"
    r"|\bwhat\s+(?:is|are)\s+(?:meant\s+by|the\s+definition\s+of)\b",
    re.I,
)
_DEFINITION = re.compile(
    r"\b(?:regard\w*|consider\w*|treat\w*|describ\w*|defin\w*|call\w*|known)\b[^.;:]{0,60}?\bas\b"
    r"|\bmeans\b|\bshall\s+mean\b|\bis\s+defined\b",
    re.I,
)


def answer_type_match(question: str, candidate: str) -> float:
    """How well the candidate fits a question asking for a date, a span of time, a definition or a
    number, in [0, 1].

    1 for a date after "when", a span of time after "what is the deadline" or
    "how long" ("not later than one year"), defining words after "how does the
    treaty describe X" ("regard X as", "means"), or a count of the thing asked about
    after "how many X" ("fifteen Members", "three members"); 0.5 for a bare
    number after "how many X" (a number of something else: "one representative");
    0 otherwise.
    """
    candidate = _LEADING_ENUMERATOR.sub("", candidate)  # "3. Each member ..." holds no number
    if _DURATION_Q.search(question):
        return 1.0 if _DURATION.search(candidate) else 0.0
    if _DEFINE_Q.search(question):
        return 1.0 if _DEFINITION.search(candidate) else 0.0
    if _WHEN.search(question):
        return 1.0 if _DATE.search(candidate) else 0.0
    if not _HOW_MANY.search(question):
        return 0.0
    if not _NUMBER.search(candidate):
        return 0.0
    asked = _COUNTED.search(question)
    if not asked:
        return 1.0
    stem = asked.group(1).lower()[:5]
    for m in _NUMBER.finditer(candidate):
        following = candidate[m.end() : m.end() + 40].lower().split()[:2]
        if any(w.startswith(stem) for w in following):
            return 1.0
    return 0.5


# Candidates without a stored vector (an index that lacks them, or a caller that
# passes none) are encoded at query time, only the most promising few by the cheap
# features: encoding is then most of the cost of a query.
MAX_EMBEDDED = 8

SpanVectors = Callable[[Hit], Mapping[tuple[int, int], np.ndarray]]


def _no_span_vectors(hit: Hit) -> Mapping[tuple[int, int], np.ndarray]:
    return {}


def _is_title(doc: Document, start: int, end: int) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.split()).strip(" .:").casefold()

    return bool(doc.title) and norm(doc.text[start:end]) == norm(doc.title)


def score_candidates(
    question: str,
    hits: Sequence[Hit],
    documents: dict[str, Document],
    *,
    question_vector: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    tokenize: Callable[[list[str]], list[list[str]]],
    idf: Callable[[str], float],
    span_vectors: SpanVectors = _no_span_vectors,
    references: Callable[[str], Reference | None] = lambda ref_id: None,
    weights: Weights = Weights(),
    max_embedded: int = MAX_EMBEDDED,
) -> list[Candidate]:
    """Every candidate span of the hits with its features and score, best first."""
    # A span that only repeats its document's title (a PDF's or a text file's first line) names
    # the document, as the citation does already: it answers nothing, yet it matches any question
    # that names the document ("What does Article 2 of the Lunar Mining Guidelines say?").
    spans = [c for c in candidates_from(hits) if not _is_title(documents[c.chunk.doc_id], c.start, c.end)]
    if not spans:
        return []
    texts = [documents[c.chunk.doc_id].text[c.start : c.end] for c in spans]
    q_terms = question_terms(question, tokenize, idf)
    # The locator counts as context: "Liability Convention › Article XV" tells which
    # treaty a sentence belongs to, which the sentence itself rarely repeats.
    contexts = [f"{c.chunk.locator}\n{t}" for c, t in zip(spans, texts, strict=True)]
    cand_terms = [set(t) for t in tokenize(contexts)]
    top_hit = max(hits[0].score, 1e-9)
    source_q = is_source_question(question)
    lexical = [lexical_overlap(q_terms, t) for t in cand_terms]
    passage = [max(0.0, hits[c.hit_rank].score / top_hit) for c in spans]

    qv = np.asarray(question_vector, dtype=np.float32).ravel()
    semantic = np.zeros(len(spans), dtype=np.float32)
    stored = [span_vectors(h) for h in hits]
    missing = []
    for i, c in enumerate(spans):
        v = stored[c.hit_rank].get((c.start, c.end))
        if v is None:
            missing.append(i)
        else:
            semantic[i] = float(np.asarray(v, dtype=np.float32) @ qv)
    if missing:
        cheap = sorted(missing, key=lambda i: -(lexical[i] + passage[i] + spans[i].is_reference))
        embed = sorted(cheap[:max_embedded])
        if embed:
            semantic[embed] = encode([texts[i] for i in embed]) @ qv
    semantic = np.clip(semantic, 0.0, 1.0)
    named = named_documents(question, {locator_title(c.chunk.locator) for c in spans}, tokenize)
    out = []
    for i, c in enumerate(spans):
        article = article_match(question, c.chunk.locator, texts[i])
        if article > 0 and named and locator_title(c.chunk.locator) not in named:
            article = -1.0  # "Article 40 of the Moon Agreement": not the Charter's Article 40
        kind = answer_type_match(question, texts[i]) + article + paragraph_match(question, texts[i], c.chunk.locator)
        source = 0.0
        if c.is_reference:
            ref = references(c.chunk.ref_id or "")
            by_author = names_an_author(question, ref)
            source = 1.0 if source_q or by_author else -1.0
            # An author named in the question picks out the entry as a year or a kind of source
            # does: "What did Campbell write about?" shares no topic word with the entry.
            kind += year_match(question, ref) + kind_match(question, ref) + by_author
        score = (
            weights.semantic * float(semantic[i])
            + weights.lexical * lexical[i]
            + weights.passage * passage[i]
            + weights.answer_type * kind
            + weights.source * source
        )
        out.append(
            Candidate(
                c.chunk.doc_id,
                c.chunk.chunk_id,
                c.start,
                c.end,
                texts[i],
                round(score, 6),
                round(float(semantic[i]), 6),
                round(lexical[i], 6),
                round(passage[i], 6),
                c.is_reference,
                kind,
                source,
                c.chunk.locator,
            )
        )
    out.sort(key=lambda c: -c.score)
    return out


@dataclass(frozen=True)
class Combination:
    """How the feature score and the learned selector combine. The best ``rerank``
    candidates by feature score are read by the selector, and all are ranked by
    ``score + selector * P_selector`` (``P`` = 0 for the ones it did not read; the
    probability saturates, so it settles near-ties without overriding strong lexical
    and source evidence). The confidence is ``sigmoid(scale * s + bias)`` of the best
    *feature* score ``s``: Platt scaling fitted on dev questions against "the answer
    shown is right", so it reads as a probability. The selector only reorders: letting
    it move the confidence cost refusals on every dev set (docs/answerer.md). All fitted
    by ``bench/tune_selector.py``; each candidate the selector reads costs time."""

    # Fitted by bench/tune_selector.py on the dev questions (docs/answerer.md).
    selector: float = 0.1
    scale: float = 5.908
    bias: float = -2.94
    rerank: int = 4
    threshold: float = 0.5
    # The answer window (``answer_window``): those of the next ``join - 1`` candidates that
    # rank within ``join_ratio`` of the winner and neighbour it in its passage join it in one
    # contiguous span (at most ``join_chars`` characters). Where the ranking is split
    # between nearby sentences of one passage, the user gets them in reading order instead
    # of a coin toss between them. ``join=1`` turns it off. Fitted with the rest, under a
    # cap of 300 characters on the median dev answer.
    join: int = 6
    join_ratio: float = 0.6
    join_chars: int = 600

    def rank(self, c: Candidate) -> float:
        return c.score + self.selector * (c.selector or 0.0)

    def probability(self, score: float) -> float:
        return _sigmoid(self.scale * score + self.bias)


Select = Callable[[str, Sequence[str]], np.ndarray]


DEFAULT_THRESHOLD = Combination.threshold


def select_candidates(
    question: str, scored: Sequence[Candidate], select: Select, combination: Combination
) -> list[Candidate]:
    """All of ``scored``, the first ``combination.rerank`` with the selector's probability
    filled in, best ``Combination.rank`` first."""
    top = list(scored[: combination.rerank])
    if not top:
        return []
    logits = np.asarray(select(question, [selector_input(c.locator, c.text) for c in top]), dtype=np.float64)
    read = [dataclasses.replace(c, selector=round(_sigmoid(float(z)), 6)) for c, z in zip(top, logits, strict=True)]
    return sorted(read + list(scored[len(top) :]), key=lambda c: -combination.rank(c))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def answer_question(
    question: str,
    hits: Sequence[Hit],
    documents: dict[str, Document],
    *,
    question_vector: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    tokenize: Callable[[list[str]], list[list[str]]],
    idf: Callable[[str], float],
    span_vectors: SpanVectors = _no_span_vectors,
    threshold: float = DEFAULT_THRESHOLD,
    weights: Weights = Weights(),
    references: Callable[[str], Reference | None] = lambda ref_id: None,
    stale: Callable[[str], bool] = lambda doc_id: False,
    select: Select | None = None,
    combination: Combination = Combination(),
) -> Answer:
    """Choose the best verbatim span among the hits' candidates, or abstain.

    Args:
        question: The user's question, already validated.
        hits: Retrieved passages, best first.
        documents: Indexed documents by id (canonical texts for the offsets).
        question_vector: The embedded question (unit norm).
        encode: Embeds candidate texts into unit vectors.
        tokenize: BM25 tokenizer (stemmed, stop words removed).
        idf: Inverse document frequency of a token in the index.
        span_vectors: The stored vectors of a hit's candidate spans, by document
            offsets (``qa.index`` embeds them at build time); others are encoded.
        weights: How candidate features combine.
        references: Looks up a reference record by id, for citation metadata.
        stale: Whether a document changed on disk since it was indexed.
        threshold: Confidence (a calibrated probability) below which the answerer abstains.
        select: The learned selector's logits for (question, candidate texts); used when
            ``combination.selector`` gives it weight.
        combination: How the selector and the feature score combine into the ranking,
            and how that becomes the confidence.
    """
    passages = tuple(_passage(h, documents) for h in hits)
    scored = score_candidates(
        question,
        hits,
        documents,
        question_vector=question_vector,
        encode=encode,
        tokenize=tokenize,
        idf=idf,
        span_vectors=span_vectors,
        references=references,
        weights=weights,
    )
    if not scored:
        return Answer(
            question,
            "",
            True,
            0.0,
            (),
            passages,
            {"threshold": threshold, "candidates": [], "reason": "no passages retrieved"},
        )
    explain = {
        "threshold": threshold,
        "weights": dataclasses.asdict(weights),
        "source_question": is_source_question(question),
    }
    explain["combination"] = dataclasses.asdict(combination)

    # The evidence that the corpus answers at all: the best feature score, taken before the
    # selector reorders (the calibration was fitted on it).
    # A numbered paragraph's credit ranks the paragraph asked for first; it is no evidence that
    # the corpus answers ("What does paragraph 5 say?" of six treaties): see ``structural`` below.
    def evidence(c: Candidate) -> float:
        return c.score - weights.answer_type * paragraph_match(question, c.text, c.locator)

    confidence = combination.probability(evidence(scored[0]))
    if select is not None and combination.selector > 0 and confidence >= threshold:  # a refusal needs no order
        scored = select_candidates(question, scored, select, combination)
    rank = combination.rank

    def conf(c: Candidate) -> float:
        return combination.probability(evidence(c))

    explain["candidates"] = [_explain_row(c, rank(c), conf(c)) for c in scored[:10]]
    best = scored[0]
    chunk_of = {h.chunk.chunk_id: h.chunk for h in hits}
    # A question that asks for an article the corpus does not have is refused, not answered
    # from elsewhere: "Article XXV of the Outer Space Treaty" (it has 17) got a reference
    # entry, then the treaty's preamble. The asked article's passages were read if any
    # document has one (Engine.hits), so when no candidate lies under it (in the document the
    # question names, if it names one) the article is not there. A best span elsewhere is no
    # such sign: a commentary may discuss the article better than its text does. Only where
    # the passages read are located by article at all: a corpus without article headings
    # cannot say.
    asked = asked_articles(question)
    named = named_documents(question, {locator_title(c.locator) for c in scored}, tokenize)
    missing = (
        bool(asked)
        and not is_source_question(question)
        and any(located_article(c.locator) is not None for c in scored)
        and not any(
            located_article(c.locator) in asked and (not named or locator_title(c.locator) in named) for c in scored
        )
    )
    if missing:
        explain["missing_article"] = ", ".join(m.group(0) for m in _ARTICLE_ASKED.finditer(question))
    # A numbered paragraph asked for ("What does paragraph 3.3 of the commentary say?") that
    # one candidate alone opens (in the document the question names, if it names one) is the
    # answer by the text's own structure, as a named article is. Such a question has few
    # other words for the features to weigh, so it is answered below the threshold too; the
    # confidence shown stays the calibrated one.
    openers = {
        (c.doc_id, c.start)
        for c in (scored if asked_numbered_paragraphs(question) else ())
        if paragraph_match(question, c.text, c.locator) == PARAGRAPH_NAMED
        and (not named or locator_title(c.locator) in named)
    }
    structural = asked_numbered_paragraphs(question) and openers == {(best.doc_id, best.start)}
    if structural:
        explain["named_paragraph"] = opens_numbered_paragraph(best.text, best.locator)
    elif len(openers) > 1:  # said if refused: which paragraph of which document was meant
        first = next(c for c in scored if (c.doc_id, c.start) in openers)
        where = dict.fromkeys(locator_title(c.locator) for c in scored if (c.doc_id, c.start) in openers)
        explain["ambiguous_paragraph"] = [opens_numbered_paragraph(first.text, first.locator), list(where)[:3]]
    if (confidence < threshold and not structural) or missing:
        if language := other_language(question):  # say why, instead of blaming the corpus alone
            explain["language"] = language
        closest = _closest(scored, documents, chunk_of, references, stale, conf)
        return Answer(question, "", True, round(confidence, 4), (), passages, explain, closest)

    start, end, joined = answer_window(scored, documents, chunk_of, combination)
    if article := whole_article(question, best, documents[best.doc_id], tokenize):
        start, end = article
    explain["joined"] = [[c.start, c.end] for c in joined]
    chosen = [(best, start, end)]
    used_docs = {best.doc_id}
    topic_terms = {t for t in question_terms(drop_question_words(question), tokenize, idf) if not t.isdigit()}
    for c in scored[1:]:
        if len(chosen) >= MAX_CITATIONS or rank(c) < SUPPORT_RATIO * rank(best):
            break
        if conf(c) < threshold:  # the selector may have lifted it above stronger evidence further down
            continue
        # The locator is shared context, not evidence: every entry of a reference list is
        # "Space diplomacy › Reference N", so for a question about sources all of them score
        # alike, and "A/RES/47/68; (16.11.2017)." would be cited as support for an answer
        # about space security diplomacy. Support has to say something of the question itself,
        # in a word that names a topic (not "which", nor the "11" of "Article 11" in a date),
        # or, for a reference entry, by being the kind or year of source asked for ("which
        # resolutions": every UN document of the list).
        fits = c.is_reference and c.answer_type > 0
        if not fits and not topic_terms & set(tokenize([c.text])[0]):
            continue
        # Further citations come from other documents (or other reference entries), so
        # the user sees independent support, not the neighbouring sentence again.
        if c.doc_id in used_docs and not (c.is_reference and best.is_reference):
            continue
        chosen.append((c, *extend_span(documents[c.doc_id], c.start, c.end, chunk_of[c.chunk_id])))
        used_docs.add(c.doc_id)
    # The answer's own citation carries the answer's confidence (calibrated on whether the span
    # shown, whichever the selector put first, was right); further ones their own.
    citations = tuple(
        _citation(n, c, s, e, documents, chunk_of[c.chunk_id], references, stale, confidence if n == 1 else conf(c))
        for n, (c, s, e) in enumerate(chosen, 1)
    )
    shown = [(c.doc_id, s, e) for c, s, e in chosen]
    runners_up = [c for c in scored if not any(d == c.doc_id and c.start < e and s < c.end for d, s, e in shown)]
    closest = _closest(runners_up, documents, chunk_of, references, stale, conf)
    return Answer(question, citations[0].quote, False, round(confidence, 4), citations, passages, explain, closest)


def below_threshold_note(explain: Mapping, confidence: float) -> str | None:
    """Why an answer is given below the threshold: it is the numbered paragraph asked for."""
    if (label := explain.get("named_paragraph")) and confidence < explain.get("threshold", 0.0):
        return f"answered as {_numbered_name(label)}, asked for by number"
    return None


def refusal_hint(explain: Mapping) -> str | None:
    """Why a refusal is not the corpus's silence alone, for the user to act on: a question in
    another language, one asking for an article no passage read is under, or for a numbered
    paragraph that several passages open."""
    if articles := explain.get("missing_article"):
        return (
            f"No passage found is under {articles}: check the article number and the "
            "document's name (it may have fewer articles), or ask without the number."
        )
    if explain.get("ambiguous_paragraph"):
        label, titles = explain["ambiguous_paragraph"]
        return (
            f"Several passages open a {_numbered_name(label)} ({'; '.join(titles)}): name the document, "
            f'and for a treaty the article ("Article 2(4) of the Charter").'
        )
    if language := explain.get("language"):
        return language_hint(language)
    return None


def _closest(
    scored: Sequence[Candidate],
    documents: dict[str, Document],
    chunk_of: Mapping[str, Chunk],
    references: Callable[[str], Reference | None],
    stale: Callable[[str], bool],
    conf: Callable[[Candidate], float],
) -> tuple[Citation, ...]:
    """The best-ranked candidate of each of the first ``MAX_CLOSEST`` passages, as checkable
    spans. For an abstention these are the sentences nearest the question; for an answer, the
    runners-up (``scored`` without the spans already cited). Where the answerer refuses an
    answerable question or answers it wrongly, the answer is often among them
    (docs/answerer.md), so the user can judge for themselves. Candidates below
    ``CLOSEST_FLOOR`` are left out: for an off-topic question there may be none."""
    best_of: dict[str, Candidate] = {}  # per passage its first (best-ranked) candidate, in rank order
    for c in scored:
        if conf(c) >= CLOSEST_FLOOR:
            best_of.setdefault(c.chunk_id, c)
    # Listed by the score each one shows (its own calibrated probability), not by the rank the
    # selector gave it: a list whose printed scores go up and down reads as a bug.
    shown = sorted(list(best_of.values())[:MAX_CLOSEST], key=lambda c: -conf(c))
    return tuple(
        _citation(n, c, c.start, c.end, documents, chunk_of[c.chunk_id], references, stale, conf(c))
        for n, c in enumerate(shown, 1)
    )


def answer_window(
    ranked: Sequence[Candidate],
    documents: Mapping[str, Document],
    chunk_of: Mapping[str, Chunk],
    combination: Combination,
) -> tuple[int, int, list[Candidate]]:
    """The answer's span in the winner's document: the winner (``ranked[0]``, extended by
    ``extend_span``), grown by the near-tied candidates among the next ``combination.join - 1``
    (ranking within ``join_ratio`` of it, in its passage) that are neighbours of the span so
    far, while it stays within ``join_chars``: the contiguous block of near-tied sentences
    around the winner. Ranks are ``Combination.rank`` values (the feature score plus the
    selector's share), the scale ``bench/tune_selector.py`` fits the ratio on.
    Returns (start, end, the candidates joined to it, best first)."""

    rank = combination.rank
    best = ranked[0]
    doc = documents[best.doc_id]
    text = doc.text
    chunk = chunk_of[best.chunk_id]
    start, end = extend_span(doc, best.start, best.end, chunk)
    floor = combination.join_ratio * rank(best)
    near = []
    # A paragraph the question named ("Article 2(4)") is the whole answer, as a reference entry is.
    named = best.answer_type >= PARAGRAPH_NAMED
    if named:
        end = max(end, whole_paragraph(doc, best.start, best.end))
    for c in ranked[1 : combination.join] if rank(best) > 0 and not named else ():
        if rank(c) < floor:
            break
        # A reference entry is a whole record on its own; neighbouring entries are other works.
        if c.chunk_id == best.chunk_id and not (c.is_reference or best.is_reference):
            near.append((c, *extend_span(doc, c.start, c.end, chunk)))
    # A winner that opens a list item ("(d) The term …") starts a unit of its own: the sentences
    # before it belong to earlier items ("(i) …" under "(c) … means:"), and joined without their
    # head they read as part of the answer (a user test).
    # The item's own head ("(a) The term … means:", whose span runs through its items) stays.
    if _enumerator_kind(best.text):
        near = [(c, s, e) for c, s, e in near if s >= best.start or e > best.start]
    joined: list[Candidate] = []
    grown = True
    while grown:  # a near-tie two sentences off joins once the one between has
        grown = False
        for c, s, e in near:
            # Only a neighbour of the span so far: a sentence further off would bring the ones
            # between it and the winner along, which nothing ranked.
            adjacent = not text[min(end, e) : max(start, s)].strip()
            if c not in joined and adjacent and max(end, e) - min(start, s) <= combination.join_chars:
                start, end = min(start, s), max(end, e)
                joined.append(c)
                grown = True
    joined.sort(key=lambda c: -rank(c))
    return start, end, joined


def _next_page(doc: Document, pos: int) -> int:
    """Where the page after the one holding ``pos`` starts (the text's end without pages)."""
    return next((p for p, _ in doc.page_starts() if p > pos), len(doc.text))


def whole_paragraph(doc: Document, start: int, end: int) -> int:
    """Where the numbered paragraph that opens at ``start`` ("3. Activities of States Parties
    …") ends: at the next sentence opening a paragraph numbered alike ("4."), a heading or a
    page break. Items of another kind within it ("(a)") stay in. ``end`` when there is no
    numbered paragraph there or it is longer than ``WHOLE_ARTICLE_CHARS``."""
    text = doc.text
    kind = _paragraph_kind(text[start:end])
    if not kind:
        return end
    stop = min(
        next((pos for pos, _, _ in doc.headings if pos > start), len(text)),
        _next_page(doc, start),
        start + WHOLE_ARTICLE_CHARS + 1,
    )
    # Split from the paragraph's start: cut mid-text, "force. 5. All" would read "5." alone.
    sentences = split_sentences(text[start:stop], start)
    nxt = next((s for s, e in sentences if s >= end and _paragraph_kind(text[s:e]) == kind), stop)
    if nxt - start > WHOLE_ARTICLE_CHARS:
        return end
    return start + len(text[start:nxt].rstrip())


def extend_span(doc: Document, start: int, end: int, chunk: Chunk) -> tuple[int, int]:
    """Add following sentences of the same section when the chosen one cannot stand
    alone: it ends in a colon ("... means:") or is too short to carry an answer.
    They may come from the next passage: a list the chunker cut ("The Purposes of the
    United Nations are:" and items 1-3 in one chunk, item 4 in the next) is still one answer.
    A heading ends the section, so the span never runs into the next article, and a page
    break ends it too: a citation names one page (qa.chunking)."""
    if chunk.ref_id:
        return start, end
    start = clause_start(doc, start)
    text = doc.text
    section_end = min(
        next((pos for pos, _, _ in doc.headings if pos >= chunk.end), len(text)),
        _next_page(doc, start),
    )
    # A list may run on, but not for ever: read a few thousand characters, not the whole rest
    # of a long document without headings.
    span = text[start:end].rstrip()
    rest = split_sentences(text[end : min(section_end, max(chunk.end, end + READ_AHEAD))], end)
    if rest and _ANAPHOR.match(text[rest[0][0] : rest[0][1]]) and rest[0][1] - rest[0][0] < LONG_SENTENCE:
        # "... may decide what measures are to be employed. These may include ..." -- the
        # next sentence refers back to this one and carries its content.
        return start, rest[0][1]
    if not (span.endswith(":") or len(span) < 40):
        return start, end
    if not span.endswith(":"):
        return (start, rest[0][1]) if rest else (start, end)
    # A sentence ending in ':' continues with its list items, up to the next item at its own
    # level ("(a) ... means:" takes "(i)", "(ii)" and stops at "(b)") or the first sentence
    # after them that is no item. Nested lists are followed: "1. ... the following
    # information:" takes "(a)" to "(e)" with the "(i)" to "(iv)" under "(d) ..., including:".
    # Prose after a colon: at most four sentences.
    level = _enumerator_kind(span)
    stop, listed = end, False
    for i, (s, e) in enumerate(rest[:MAX_LIST_SENTENCES]):
        kind = _enumerator_kind(text[s:e])
        if (level and kind == level) or (not kind and (listed or i >= 4)):
            break
        listed = listed or bool(kind)
        stop = e
    return start, stop


READ_BACK = 2000  # characters before a span where the clause it belongs to may begin


def clause_start(doc: Document, start: int) -> int:
    """Where the sentence (or, in an over-long one, the clause) holding ``start`` begins, in its
    paragraph and page. A chunk may begin mid-sentence (the splitter cuts a long paragraph at a
    space), and so may its first candidate: the OST preamble's "entitled “Declaration of Legal
    Principles …”" was cited without the "Recalling resolution 1962 (XVIII)," it is about."""
    text = doc.text
    page = max((p for p, _ in doc.page_starts() if p <= start), default=0)
    line = text.rfind("\n", max(0, start - READ_BACK), start) + 1  # 0: none in sight
    floor = max(page, start - READ_BACK, line)
    line_end = text.find("\n", start, start + READ_BACK)
    stop = min(start + READ_BACK, len(text)) if line_end < 0 else line_end
    # The whole sentence, so that it is cut into clauses as the candidates were.
    for s0, e0 in split_sentences(text[floor:stop], floor):
        for s, e in split_long(text, s0, e0):
            if s <= start < e:
                # Cut at the look-back, not at a line or a page: the clause began further back and
                # the floor may cut a word, so the span keeps its own start.
                return start if s == floor and floor not in (page, line) else s
    return start


# A next sentence that lists what this one announces ("These may include ...").
_ANAPHOR = re.compile(r"(These|Such|They)\s+(?:\w+\s+)?(?:may\s+|shall\s+)?(?:include|includes|comprise|consist)\b")
_ENUMERATOR = re.compile(r"^\(?([0-9]+|[ivx]+|[a-z])[.)]\s", re.I)
_DECIMAL = re.compile(r"^\d{1,3}(?:\.\d{1,3})+\.?\s+[A-Z\"“(]")


def _paragraph_kind(sentence: str) -> str:
    """As ``_enumerator_kind``, and "note" for a note's text ("⁴ Jakhu …"), ended by the next."""
    return _enumerator_kind(sentence) or ("note" if _OPENS_NOTE.match(sentence) else "")


def _enumerator_kind(sentence: str) -> str:
    m = _ENUMERATOR.match(sentence)
    if not m:
        # "3.3 The duty …": a commentary's paragraph, ended by the next one ("3.4", or "4.1").
        return "decimal" if _DECIMAL.match(sentence) else ""
    label = m.group(1).lower()
    if label.isdigit():
        return "digit"
    # "(i)" is read as roman; lettered lists rarely reach "(i)" before a colon item ends.
    return "roman" if set(label) <= set("ivx") else "letter"


def _explain_row(c: Candidate, rank: float, probability: float) -> dict:
    return {
        "doc_id": c.doc_id,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "score": c.score,
        "semantic": c.semantic,
        "lexical": c.lexical,
        "passage": c.passage,
        "answer_type": c.answer_type,
        "source": c.source,
        "reference": c.is_reference,
        "selector": c.selector,
        "rank": round(rank, 6),
        "probability": round(probability, 6),
    }


def _passage(hit: Hit, documents: dict[str, Document]) -> Passage:
    c = hit.chunk
    return Passage(
        c.doc_id, c.chunk_id, documents[c.doc_id].title, c.locator, c.text, c.start, c.end, round(hit.score, 6)
    )


_DOC_FIELDS = ("title", "type", "date", "authors", "year", "doi", "un_symbol", "source", "url", "keywords")


def _citation(n, cand: Candidate, start, end, documents, chunk: Chunk, references, stale, score) -> Citation:
    doc = documents[cand.doc_id]
    meta = {k: doc.metadata[k] for k in _DOC_FIELDS if doc.metadata.get(k)}
    meta.setdefault("title", doc.title)
    if chunk.ref_id and (ref := references(chunk.ref_id)):
        meta = {"document": doc.title, "reference": ref.n, **ref.metadata()}
    return Citation(
        n=n,
        doc_id=doc.doc_id,
        title=doc.title,
        locator=chunk.locator,
        quote=doc.text[start:end],
        start=start,
        end=end,
        score=round(score, 6),
        metadata=meta,
        stale=stale(doc.doc_id),
    )


def idf_lookup(bm25) -> Callable[[str], float]:
    """idf(token) from a bm25s index: log(1 + (N - df + 0.5) / (df + 0.5)); unseen tokens get the max."""
    vocab = getattr(bm25, "vocab_dict", None) or {}
    scores = getattr(bm25, "scores", None) or {}
    n = int(scores.get("num_docs", 0) or 0)
    indptr = scores.get("indptr")

    def idf(token: str) -> float:
        j = vocab.get(token)
        df = 0 if j is None or indptr is None else int(indptr[j + 1] - indptr[j])
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    return idf
