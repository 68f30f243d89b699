"""Text extracted from PDF pages, made into paragraphs.

A PDF's text layer has a line break at the end of every printed line, a running header and a
page number on every page, and words hyphenated across lines. Left as they are, the sentence
splitter (``qa.sentences``) ends a sentence at every line break, so answers would be half
sentences ("It doesn't support the AUTOMATIC TAGS"), and "peace-\\nful" is not the word
"peaceful" to BM25. ``reflow_pages`` joins the lines of a paragraph, undoes end-of-line
hyphenation, drops running headers, footers and page numbers, moves footnotes out of the
sentence a page break cuts, and finds headings and the entries of a reference list. Pure
functions on strings: ``qa.ingest.parse_pdf`` applies them, and the result is the document's
canonical text, which citation offsets index into. Measured in docs/reliability.md, section 13
(``bench/pdf_reflow.py``).

Everything here errs towards keeping text: a line is dropped only as furniture that repeats
(a running header on several pages, page numbers that count up with the pages).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from qa.references import ENTRY_START, REFERENCE_SECTION
from qa.sentences import is_sentence_end

_BULLET = re.compile(r"^[•●▪◦■\-–—*]\s")
_ENUMERATOR = re.compile(r"^\(?(?:\d{1,3}|[a-z]|[ivxlc]{1,5})[.)]\s", re.I)
# "3.5 The Convention …" after a finished sentence (maybe with a footnote mark: "… 2020.4"):
# a numbered paragraph of a commentary, not the sentence going on.
_DECIMAL_PARAGRAPH = re.compile(r"^\d{1,2}(?:\.\d{1,2})+\.?\s+[A-Z]")
_FINISHED = re.compile(r"[.;:!?][\d⁰¹²³⁴⁵⁶⁷⁸⁹”’\")\]]*$")
# "2.3 Naming", "1. Introduction", "A. Proofs", "IV. Liability": an enumerator that opens a heading.
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z]\.|[IVX]{1,5}\.)\s+[A-Z]")
# What may follow a reference list: only such a heading ends it (a short capitalised line
# inside it is a wrapped entry's tail, "University Press").
_AFTER_REFERENCES = re.compile(r"^(?:appendix|annex|acknowledg|notes$|endnotes|about the author)", re.I)
_LONE_NUMBER = re.compile(r"^\W*(?:page\s+)?(\d{1,4})(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.I)
# A number opening or closing a line of words, as running headers carry the page number.
_EDGE_NUMBER = re.compile(r"^(\d{1,4})\s+[^\W\d_]|[^\W\d_]\W*\s(\d{1,4})$")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_URL_END = re.compile(r"https?://\S+$")  # an entry that ends in its URL: the next line is a new one
_IDENTIFIER_TAIL = re.compile(r"\s+(?:doi:|https?://|ISSN\b|ISBN\b)\S*.*$", re.I)
_LEADER = re.compile(r"(?:\.\s?){3}")
_CODE = re.compile(r"[=(){}\[\]<>\\/+_|@#$%^&*]")
# A line that closes (or ends a sentence), perhaps before a footnote mark: "never sat.⁷".
_CLOSES = re.compile(r"[.,;:!?)\]”\"’'][⁰¹²³⁴⁵⁶⁷⁸⁹]*$")
# A footnote mark closing a line: superscript, or plain digits right after a word's punctuation
# ("twice.2"; after a digit it is a number, "Article 2.2").
_TRAILING_MARK = re.compile(r"(?<=[^\W\d_][.,;:!?])\d{1,3}$|(?<=[^\W\d_][.,;:!?][)\]”\"’'])\d{1,3}$|[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")
_ENDS_SENTENCE = re.compile(r"[.!?][)\]”\"’']?$")  # of a line without its mark (``_bare``)
# Word parts typeset with a hyphen of their own: "non-binding" broken after "non-" keeps it.
_HYPHENATED_PREFIXES = frozenset(
    ("non", "self", "well", "long", "short", "high", "low", "cross", "half", "quasi", "semi", "anti")
    + ("all", "ex", "co", "multi", "post", "pre")
)
# A line this share of a full line is full: its paragraph goes on. A full line is the median
# of the NEAR lines either side, and at least COLUMN of the document's widest usual line.
FULL_LINE, NEAR, COLUMN = 0.8, 4, 0.4
# A line shorter than this share of the text's width, without closing punctuation, may be a heading.
HEADING = 0.6
# A first or last line (digits ignored) on at least this many pages, and this share of them,
# is a running header or footer.
REPEATS, REPEAT_SHARE = 3, 0.3


@dataclass(frozen=True)
class Reflowed:
    """A PDF's canonical text, where each page starts in it, and the headings found in it
    (offset, level, title), as ``qa.ingest`` gives a Markdown document's."""

    text: str
    pages: list[int]
    headings: tuple[tuple[int, int, str], ...]


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _running(pages: list[list[str]], pick: int, *, strict: bool = False) -> set[str]:
    """The first (``pick`` 0) or last (-1) lines that repeat across pages, as ``_key``s: on at
    least ``REPEATS`` pages and ``REPEAT_SHARE`` of them with digits ignored, or word for word on
    two pages and that share (a journal's even-page header in a short article; "Table 1 …" and
    "Table 2 …" topping two pages differ, so they stay; not when ``strict``). Only lines of two
    words or more: a lone "Article #" at the top of several pages is content."""
    keys = Counter(_key(p[pick]) for p in pages if p)
    lines = [" ".join(p[pick].split()) for p in pages if p]
    exact = Counter(lines)
    # A journal's header on later pages is often the first page's without its DOI: "Journal of
    # Orbital Affairs 12 (2025) 211–216" under "… 211–216 doi:10.9999/joa.2025.0211".
    if pick == 0 and lines and (m := _IDENTIFIER_TAIL.search(lines[0])):
        exact[lines[0][: m.start()].rstrip()] += 1
    share = REPEAT_SHARE * len(pages)
    out = {k for k, n in keys.items() if n >= max(REPEATS, share)}
    if not strict:
        out |= {_key(line) for line, n in exact.items() if n >= max(2, share)}
    return {k for k in out if len(re.findall(r"[^\W\d_]{2,}", k)) >= 2}


def _edge_number(line: str) -> int | None:
    """A lone page number ("12", "- 12 -", "Page 12 of 30") or one that opens or closes a running
    header ("Chapter 3: Utilities 7", "212 Journal of Space Law")."""
    if m := _LONE_NUMBER.match(line):
        return int(m.group(1))
    # Two words or more besides the number: "Article 3" topping page 3 is a heading, not furniture.
    if (m := _EDGE_NUMBER.search(line)) and len(re.findall(r"[^\W\d_]{2,}", line)) >= 2:
        return int(m.group(1) or m.group(2))
    return None


def _page_number_offsets(pages: list[list[str]]) -> set[int]:
    """Printed page number minus page index, for each numbering at page tops or bottoms that
    counts up with the pages on enough of them (so "1967." closing a paragraph at the foot of a
    page is not taken for one). A header and a footer may count differently."""
    offsets = Counter()
    for n, lines in enumerate(pages):
        for line in {lines[0], lines[-1]} if lines else ():
            if (v := _edge_number(line)) is not None:
                offsets[v - n] += 1
    return {d for d, n in offsets.items() if n >= max(2, REPEAT_SHARE * len(pages))}


def _strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Running headers, footers and page numbers dropped. A browser's "Print to PDF" puts a
    header line *and* a page number at a page's edge ("Commentary on …" over "Page 2 of 4"):
    the second layer goes too, when it is of the other kind (a number under a running line,
    or the reverse), never two running lines, so repeated text inside a page stays."""
    peeled: list[dict[int, str]] = [{} for _ in pages]  # per page and edge: the kind taken off
    for layer in range(2):
        # A second layer's running line must repeat on most pages, not word for word on two.
        heads, feet = _running(pages, 0, strict=bool(layer)), _running(pages, -1, strict=bool(layer))
        if not layer:
            first_heads = heads  # the page number under page 1's header is looked for with these
        offsets = _page_number_offsets(pages)
        out = []
        for n, lines in enumerate(pages):
            lines = list(lines)
            for edge, running in ((0, heads), (-1, feet)):
                if not lines:
                    break
                v = _edge_number(lines[edge])
                kind = "number" if v is not None and v - n in offsets else ""
                # A second layer's running line is a title, not a sentence: a repeated line that
                # ends like one ("Chanock A. (2013). …") is content.
                title_like = not layer or not lines[edge].rstrip().endswith((".", ";", ":", ","))
                kind = kind or ("running" if _key(lines[edge]) in running and title_like else "")
                # The first page's top line stays: a document's title is not its own running header.
                if kind and not (n == 0 and edge == 0) and (layer == 0 or peeled[n].get(edge) not in (None, kind)):
                    lines.pop(edge)
                    peeled[n][edge] = kind
                elif layer:
                    peeled[n].pop(edge, None)
            if layer and n == 0 and len(lines) > 1 and _key(lines[0]) in first_heads:
                v = _edge_number(lines[1])
                if v is not None and v in offsets:
                    lines.pop(1)  # the page number under the first page's header goes, as on the others
            out.append(lines)
        pages = out
    return pages


def _widths(pages: list[list[str]]) -> tuple[list[float], list[float]]:
    """For each line, (how long a full line is around it, how wide the text around it is).

    Full: ``FULL_LINE`` of the median length of its ``NEAR`` neighbours either side on the page
    (most lines of running text are full), so a column of a two-column page is measured against
    its own width, not the abstract's or a footnote's. Wide: the longest of them, against which
    a heading is short. Both at least ``COLUMN`` of the document's widest usual line, so a run
    of short lines (a list, an address) is not taken for a column of full lines."""
    lengths = sorted(len(ln) for p in pages for ln in p)
    floor = COLUMN * (lengths[math.ceil(0.95 * (len(lengths) - 1))] if lengths else 0)
    full, wide = [], []
    for page in pages:
        for i in range(len(page)):
            near = [len(ln) for ln in page[max(0, i - NEAR) : i + NEAR + 1]]
            full.append(FULL_LINE * max(statistics.median(near), floor))
            wide.append(max(*near, floor))
    return full, wide


def _opens_its_subsections(line: str, nxt: str) -> bool:
    """``line`` is "3. Information …" or "3 Information …" and ``nxt`` opens "3.1 …"."""
    m = re.match(r"(\d{1,2})\.?\s+[A-Z]", line)
    return bool(m) and nxt.startswith(f"{m.group(1)}.1 ")


def _section_number_end(line: str) -> int:
    m = re.match(r"\d{1,2}(?:\.\d{1,2})*\.?\s", line)
    return m.end() if m else 0


def _looks_like_heading(line: str, wide: float) -> bool:
    return (
        len(line) < HEADING * wide
        and (line[0].isupper() or line[0].isdigit())
        and (not _CLOSES.search(_bare(line)) or (line.endswith("?") and bool(_NUMBERED_HEADING.match(line))))
        and not _BULLET.match(line)
        and (not _ENUMERATOR.match(line) or bool(_NUMBERED_HEADING.match(line)))
        and sum(ch.isalpha() for ch in line) >= 2
        and not _CODE.search(line)  # "LEN = strlen(VALUE)+1" stands alone too
        and not _LEADER.search(line)  # a table of contents: "2 Naming . . . . 4"
        and not re.fullmatch(r"[A-Z]{1,5}", line)  # "BEGIN", "END" in code; "ABSTRACT" is a heading
        # A table row: "United Kingdom 1986 764 133". A heading holds two numbers at most besides
        # its section number ("Chapter 3 Report 2019"; "62/101" and "2010–2020" count once).
        and len(re.findall(r"(?<![\w./–-])\d[\d,.]*(?![\w/])", line[_section_number_end(line) :])) < 3
    )


def _hyphen(a: str, b: str, vocabulary: set[str]) -> str:
    """For "...peace-" then "ful ...": "dehyphen" (one word broken by the typesetter) or
    "hyphen" (a hyphenated word broken at its hyphen, "non-" then "binding"). The document
    decides when it has the word elsewhere; else a prefix usually written with a hyphen keeps it."""
    head = _WORD.findall(a[:-1])[-1].lower()
    tail = _WORD.match(b).group(0).lower()
    if f"{head}-{tail}" in vocabulary or "-" in tail:  # "twenty-" + "five-year"
        return "hyphen"
    if f"{head}{tail}" in vocabulary:
        return "dehyphen"
    return "hyphen" if head.rsplit("-", 1)[-1] in _HYPHENATED_PREFIXES else "dehyphen"


def _joiner(a: str, b: str, full: float, wide: tuple[float, float], vocabulary: set[str]) -> str | None:
    """How line ``b`` follows line ``a`` (``full``: a full line's length at ``a``; ``wide``: the
    text's width at each): "space" (the paragraph goes on), "dehyphen" or "hyphen" (a word
    broken across the lines), "direct" (CJK text, which has no spaces), or None (``b`` starts
    a new line)."""
    if _BULLET.match(b) or _ENUMERATOR.match(b) or REFERENCE_SECTION.match(a):
        return None
    if _DECIMAL_PARAGRAPH.match(b) and _FINISHED.search(a):
        return None
    if _NUMBERED_HEADING.match(a) and _looks_like_heading(a, wide[0]):
        return None  # "5. A registry of removal missions" is a heading, however long the lines near it
    if len(a) >= 2 and a[-1] == "-" and a[-2].isalpha() and b[0].isalpha():
        # "peace-" + "ful", or in capitals "ELE-" + "MENT".
        if b[0].islower() or (a[-2].isupper() and _WORD.match(b).group(0).isupper()):
            return _hyphen(a, b, vocabulary)
        return "hyphen"  # a name broken at its own hyphen: "Cour-" + "Palais"
    if len(a) >= full and _CJK.match(a[-1]) and _CJK.match(b[0]):
        return "direct"
    if b[0].islower():
        return "space"
    # After a full line the paragraph goes on, unless the next line is short and unpunctuated:
    # a heading ("Article V", "2.3 Naming") after a paragraph whose last line happened to be full.
    return "space" if len(a) >= full and not a.endswith(":") and not _looks_like_heading(b, wide[1]) else None


def reflow_pages(pages: list[str]) -> Reflowed:
    """Join PDF page texts into one canonical text.

    A page whose first paragraph began on the page before starts after the joining space. A
    heading is a short unpunctuated line standing alone before running text ("Article IV"
    over a full line): it becomes a level-2 heading, so citations name their article as in a
    Markdown document. Under a "References" heading each entry becomes its own paragraph
    (``qa.references.ENTRY_START``), so the entries are parsed as a Markdown list's are.
    Footnotes at a page's foot, and a table at a page's top, go after the sentence that
    crosses the page break, so they do not cut it in two (``_place_footnotes``,
    ``_lift_floats``); numbered section headings are also found by their run of numbers
    (``_numbered_sections``).
    """
    lines = _strip_furniture([[ln.strip() for ln in p.splitlines() if ln.strip()] for p in pages])
    bodies, notes = zip(*(_split_footnotes(p) for p in lines), strict=True) if lines else ((), ())
    bodies, notes = _join_note_tails(list(bodies), list(notes))
    bodies, floats = _lift_floats(bodies)
    lines, edges, moved, begin = _place_footnotes(bodies, floats, list(notes))
    flat = [(n, i == 0, line) for n, page in enumerate(lines) for i, line in enumerate(page)]
    begins = [i == begin[n] for n, page in enumerate(lines) for i in range(len(page))]
    full, wide = _widths(lines)
    joins = _joins(flat, full, wide, lines)
    # A footnote or a table row starts a line of its own, and so does the text after them.
    for k, edge in enumerate(edges):
        if edge:
            joins[k] = None
    sections = _numbered_sections(flat, wide)
    for k in sections:
        joins[k] = joins[k + 1] = None
    heading = _headings(flat, joins, full, wide)
    for k in sections:
        heading[k] = True
    for k, was_moved in enumerate(moved):  # a short note ("² Ibid") or a table row is not a heading
        heading[k] = heading[k] and not was_moved
    text, starts, offsets = _assemble(flat, joins, len(lines), begins)
    headings = tuple((offsets[k], 2, flat[k][2]) for k in range(len(flat)) if heading[k])
    return Reflowed(text, starts, headings)


Line = tuple[int, bool, str]  # (page index, first line of its page, text)

# A section number opening a heading: "5. A registry of removal missions", "5 Conclusions".
_SECTION = re.compile(r"^(\d{1,2})\.?\s+[A-Z]")
MIN_SECTIONS = 3
MAX_SECTION_WORDS = 8  # a heading names a section; a longer numbered line opens a paragraph
MIN_SECTION_LINES = 4  # lines from one numbered section heading to the next, at least
# The caption that heads a table or figure: "Table 1.", "Figure 2:", "Fig. 3".
_CAPTION = re.compile(r"^(?:Table|Figure|Fig\.|Chart|Map|Box|Exhibit)\s+(?:\d+|[IVX]+)(?:\.\d+)?(?:[.:–—]\s|[.:]?$)")
MAX_FLOAT = 25  # lines a table or figure at a page top may take before the text goes on

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# A footnote opens with its number: set as superscript ("¹ D. J. Kessler …", what most text
# layers give), or plain before a capital ("1 UN Doc. A/62/20"), then at least a word.
_NOTE_START = re.compile(r"^(?:([⁰¹²³⁴⁵⁶⁷⁸⁹]{1,3})\s?|(\d{1,3})\s+(?=[A-Z“\"(]))\S.{4,}")


def _bare(line: str) -> str:
    """The line without a footnote mark at its end ("twice.2", "negligent.²")."""
    return _TRAILING_MARK.sub("", line) if line[-1:].isdigit() else line  # superscripts are digits too


def _after_abbreviation(line: str) -> bool:
    """Whether a line ends in the full stop of an abbreviation or an initial ("Nicaragua v.",
    "Art.", "U.N."), which does not end the sentence. A footnote mark after it says it does
    ("… and so on, etc.¹")."""
    if _TRAILING_MARK.search(line):
        return False
    core = line.rstrip(")]”\"’'")
    return core.endswith(".") and not is_sentence_end(core, len(core))


def _ends_sentence(line: str) -> bool:
    """Whether a line ends a sentence: closing punctuation, perhaps then a quote or bracket and
    a footnote mark ("negligent.²", "twice.2"), and not after an abbreviation."""
    return bool(_ENDS_SENTENCE.search(_bare(line))) and not _after_abbreviation(line)


def _crosses(last: str, going_on: str) -> bool:
    """Whether the sentence of a page's ``last`` line goes on in the next page's line
    ``going_on``: it does not end, and the next line is in lower case or the last line ended in
    an abbreviation ("Nicaragua v." / "United States"). A page ending "as follows:" or in a
    heading left at its foot is followed by a new sentence, whatever its case."""
    if _ends_sentence(last) or last.endswith(":"):
        return False
    return going_on[:1].islower() or _after_abbreviation(last)


# Marks in the text that a footnote's number answers: superscript digits anywhere, or plain
# digits right after a word or its punctuation ("the treaty.1 The", as some text layers flatten
# a raised mark); after a letter only, as after a digit they are a decimal ("2.4 Naming").
_SUPERSCRIPT_MARK = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_PLAIN_MARK = re.compile(r"(?<=[^\W\d_][.,;:”’\")])(\d{1,3})(?=\s|$)|(?<=[^\W\d_])(\d{1,3})(?=[\s.,;:]|$)", re.M)
MAX_NOTE_STARTS = 8  # first lines of a notes block tried per page (a page of numbered lines is not scanned for each)


def _marks(body: str) -> tuple[list[str], set[int]]:
    """The superscript runs and plain mark numbers of a page's body text."""
    return _SUPERSCRIPT_MARK.findall(body), {int(a or b) for a, b in _PLAIN_MARK.findall(body)}


def _note_number(line: str, marks: tuple[list[str], set[int]]) -> int | None:
    """The number of the footnote ``line`` opens, if the body above it carries that number
    as a mark (``_marks``)."""
    m = _NOTE_START.match(line)
    if not m or _LEADER.search(line):
        return None
    superscripts, plain = marks
    if m.group(1):
        return int(m.group(1).translate(_SUPERSCRIPT)) if any(m.group(1) in run for run in superscripts) else None
    return int(m.group(2)) if int(m.group(2)) in plain else None


def _split_footnotes(page: list[str]) -> tuple[list[str], list[str]]:
    """(body, footnotes) of a page's lines: the footnotes are the lines from the first note at
    the page foot on, where every note's number is marked in the body and the numbers go up.
    Only in the lower half of the page, so a numbered line of the body is never taken."""
    starts = [k for k in range(len(page) // 2, len(page)) if _NOTE_START.match(page[k])]
    for k in starts[:MAX_NOTE_STARTS]:
        marks = _marks("\n".join(page[:k]))
        if (first := _note_number(page[k], marks)) is None:
            continue
        numbers = [first]
        for line in page[k + 1 :]:
            if (n := _note_number(line, marks)) is not None:
                numbers.append(n)
        if numbers == sorted(set(numbers)):
            return page[:k], page[k:]
    return page, []


def _join_note_tails(bodies: list[list[str]], notes: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """A footnote that runs onto the next page goes on at that page's foot, above its own notes
    and without a number, so it was read as body text ("… has never sat.⁷ feared that a narrower
    definition …"). When a page's last note does not end a sentence, the lines at the next
    page's foot from one in lower case after a finished sentence (up to the next note) are
    that note's tail."""
    bodies, notes = [list(b) for b in bodies], [list(n) for n in notes]
    for n in range(len(bodies) - 1):
        body = bodies[n + 1]
        # A note breaks off mid-sentence: in a word or after a comma, not after a year or a title.
        if not notes[n] or not body or not re.search(r"[a-z,;–-]$", notes[n][-1]):
            continue
        tail = [
            i for i in range(max(1, len(body) // 2), len(body)) if body[i][0].islower() and _ends_sentence(body[i - 1])
        ]
        if tail:
            # ...up to a line that opens another note, even one whose mark was not recognised.
            i = tail[-1]
            j = next((j for j in range(i + 1, len(body)) if _NOTE_START.match(body[j])), len(body))
            notes[n] += body[i:j]
            del body[i:j]
    return bodies, notes


def _lift_floats(bodies: list[list[str]]) -> tuple[list[list[str]], list[list[bool]]]:
    """The pages' lines with a table or figure set at the top of a page (its caption, "Table
    1. …", first) moved after the sentence that crosses into that page from the one before,
    which it cut in two ("… even where nothing of Table 1. … Mission Year … value is saved.").
    The block ends where the crossing sentence goes on (the first line in lower case). Also,
    per line, whether it must start a line of its own: each of the block's (table rows are
    not a paragraph) and the one after it."""
    pages, edges = [], []
    for n, page in enumerate(bodies):
        before = bodies[n - 1] if n else []
        k = None
        caption = page and _CAPTION.match(page[0]) and (_CLOSES.search(page[0]) or len(page[0].split()) <= 4)
        if before and caption:  # a whole caption: one that wraps would read as the sentence going on
            k = next((i for i, line in enumerate(page[:MAX_FLOAT]) if line[0].islower()), None)
            k = k if k and _crosses(before[-1], page[k]) else None
        rest = page[k:] if k else []
        end = next((i for i, line in enumerate(rest) if _ends_sentence(line)), None)
        if not k or end is None:
            pages.append(list(page))
            edges.append([False] * len(page))
            continue
        block, after = page[:k], rest[end + 1 :]
        pages.append(rest[: end + 1] + block + after)
        edges.append([False] * (end + 1) + [True] * len(block) + [True] * bool(after) + [False] * (len(after) - 1))
    return pages, edges


# A sentence ending inside a line, before the next one: "… is launched.⁵ Several States …".
_INNER_END = re.compile(r"[.!?][)\]”\"’']?[⁰¹²³⁴⁵⁶⁷⁸⁹]*(?=\s+[A-Z“\"(])")


def _sentence_end(lines: list[str]) -> tuple[int, int] | None:
    """Where the first sentence of ``lines`` ends: (line, position in it), unless a reference
    list begins first."""
    for i, line in enumerate(lines):
        if REFERENCE_SECTION.match(line):
            return None
        for m in _INNER_END.finditer(line):
            if not _after_abbreviation(line[: m.end()]):
                return i, m.end()
        if _ends_sentence(line):
            return i, len(line)
    return None


def _place_footnotes(
    bodies: list[list[str]], body_edges: list[list[bool]], notes: list[list[str]]
) -> tuple[list[list[str]], list[bool], list[bool], list[int]]:
    """The pages' lines with each page's footnotes moved out of running text. Left at the foot,
    the notes sat between the halves of a sentence that crosses to the next page ("… is
    absolutely liable for damage ¹ D. J. Kessler … caused by its space object"). They go:

    - before a reference list that starts on their page (else they would join its entries);
    - after the crossing sentence (the first line on the next page that ends one); the next
      page's own text then starts after them, so the notes keep their page in citations;
    - else at the foot of their page, as printed.

    Also, per line of the result, whether a line must start there (``body_edges``, a note's
    first line, and the line after the notes) and whether it was moved (a note, or a table
    ``_lift_floats`` moved: never a heading); and per page, the line where its own text starts."""
    pages = [list(b) for b in bodies]
    edges = [list(e) for e in body_edges]
    moved = [list(e) for e in body_edges]
    begin = [0] * len(pages)

    def insert(page: int, at: int, block: list[str]) -> None:
        pages[page][at:at] = block
        edges[page][at:at] = [bool(_NOTE_START.match(line)) for line in block]
        moved[page][at:at] = [True] * len(block)
        if at + len(block) < len(pages[page]):
            edges[page][at + len(block)] = True

    in_references = False
    for n, block in enumerate(notes):
        ref = next((i for i, line in enumerate(pages[n]) if REFERENCE_SECTION.match(line)), None)
        if not block:
            in_references = in_references or ref is not None
            continue
        nxt = n + 1
        if ref is not None:
            insert(n, ref, block)
            in_references = True
            continue
        # Inside a reference list an entry, not a sentence, crosses the page: the notes stay
        # at their page's foot (qa.ingest then reads them as part of the list, as before).
        crosses = not in_references and bodies[n] and nxt < len(pages) and bodies[nxt]
        crosses = crosses and _crosses(bodies[n][-1], bodies[nxt][0])
        if crosses and (end := _sentence_end(pages[nxt])) is not None:
            line, cut = end
            text = pages[nxt][line]
            if cut < len(text):  # the next sentence goes on in this line: it starts a line after the notes
                pages[nxt][line : line + 1] = [text[:cut], text[cut:].lstrip()]
                edges[nxt].insert(line + 1, False)
                moved[nxt].insert(line + 1, False)
            insert(nxt, line + 1, block)
            begin[nxt] = line + 1 + len(block)
            continue
        insert(n, len(pages[n]), block)
        if nxt < len(pages) and pages[nxt]:
            edges[nxt][0] = True
    return pages, [e for page in edges for e in page], [m for page in moved for m in page], begin


def _joins(flat: list[Line], full: list[float], wide: list[float], pages: list[list[str]]) -> list[str | None]:
    """How each line follows the one before (``_joiner``; None for the first)."""
    vocabulary = {w.lower() for p in pages for ln in p for w in _WORD.findall(ln.rstrip("-"))}
    joins: list[str | None] = [None]
    for k, ((_, _, a), (_, first, b)) in enumerate(zip(flat, flat[1:], strict=False)):
        join = _joiner(a, b, full[k], (wide[k], wide[k + 1]), vocabulary)
        # Across a page break a full line that ends a sentence ends its paragraph too, unless
        # the next page goes on in lower case: a page break is where paragraphs often end.
        if first and join == "space" and _CLOSES.search(_bare(a)) and not _after_abbreviation(a) and not b[0].islower():
            join = None
        joins.append(join)
    return joins


def _numbered_sections(flat: list[Line], wide: list[float]) -> list[int]:
    """Lines that are section headings by their numbers, however long: in a narrow column
    "5. A registry of removal missions" is nearly a full line, so length alone ran it into the
    paragraph after it. A candidate is a line of at most ``MAX_SECTION_WORDS`` words that opens
    with a section number, does not close like a sentence, follows a line that does and comes
    before one in capitals; only a run of at least ``MIN_SECTIONS`` of them numbered one after
    another (1., 2., 3., … in reading order) counts, so a numbered list item that happens to
    fit is not taken."""
    chain: dict[int, list[int]] = {}  # per candidate line: the longest run of numbers ending there
    last: dict[int, int] = {}  # section number -> the latest candidate line with that number
    for k in range(len(flat) - 1):
        line = flat[k][2]
        if REFERENCE_SECTION.match(line):
            break  # a numbered reference list is entries, not sections
        if not (m := _SECTION.match(line)) or _CLOSES.search(line) or not flat[k + 1][2][0].isupper():
            continue
        if k and not _ends_sentence(flat[k - 1][2]):
            continue
        if len(line.split()) > MAX_SECTION_WORDS:  # "1. States Parties shall inform … of the United"
            continue
        nxt = flat[k + 1][2]
        if len(nxt) < HEADING * wide[k + 1] and not _CLOSES.search(_bare(nxt)):
            continue  # a heading that wraps ("2. The launching State under the" / "Convention")
        v = int(m.group(1))
        before = last.get(v - 1, -1)
        # Sections hold paragraphs; numbered items a line or two each (in a narrow column too).
        chain[k] = [*(chain.get(before, []) if k - before >= MIN_SECTION_LINES else []), k]
        last[v] = k
    best = max(chain.values(), key=len, default=[])
    return best if len(best) >= MIN_SECTIONS else []


def _headings(flat: list[Line], joins: list[str | None], full: list[float], wide: list[float]) -> list[bool]:
    """Which lines are headings. Inside a reference list, also sets ``joins`` so that each entry
    is one paragraph."""
    heading = [False] * len(flat)
    in_references = False
    for k, (_, _, line) in enumerate(flat):
        alone = joins[k] is None and (k + 1 == len(flat) or joins[k + 1] is None)
        nxt = flat[k + 1][2] if k + 1 < len(flat) else ""
        # Before running text: a full line, or one that the line after continues.
        before_text = (k + 1 < len(flat) and len(nxt) >= full[k + 1]) or (
            k + 2 < len(flat) and joins[k + 2] is not None
        )
        if in_references:
            # A heading ends the list only before prose: a short capitalised line before the
            # next entry is the tail of a wrapped entry ("University Press").
            ends_list = _AFTER_REFERENCES.match(line) or (before_text and not ENTRY_START.match(nxt))
            if alone and ends_list and _looks_like_heading(line, wide[k]):
                heading[k], in_references = True, False
            elif not heading[k - 1] and (
                ENTRY_START.match(line) or (_URL_END.search(flat[k - 1][2]) and line[0].isupper())
            ):
                joins[k] = "entry"  # one paragraph per entry, as qa.ingest reads a reference list
            elif joins[k] is None and not heading[k - 1]:
                joins[k] = "space"  # the rest of an entry
            continue
        if REFERENCE_SECTION.match(line) and joins[k] is None:
            heading[k], in_references = True, True
        elif alone and _looks_like_heading(line, wide[k]) and (_NUMBERED_HEADING.match(line) or before_text):
            heading[k] = True  # a numbered heading may stand before a list or a short line too
        elif alone and _opens_its_subsections(line, nxt) and _looks_like_heading(line, 2 * wide[k]):
            heading[k] = True  # "3. Information to be furnished" over "3.1 …", however narrow the column
    return heading


def _assemble(
    flat: list[Line], joins: list[str | None], pages: int, begins: list[bool]
) -> tuple[str, list[int], list[int]]:
    """(text, where each page starts in it, where each line starts in it). ``begins``: the line
    where each page's own text starts (its first, or the first after notes moved there)."""
    text, starts, offsets = "", [], []
    for k, (n, first, line) in enumerate(flat):
        join = joins[k]
        if k == 0:
            sep = ""
        elif join is None:
            sep = "\n\n" if first else "\n"
        elif join == "entry":
            sep = "\n\n"
        elif join == "space":
            sep = " "
        else:  # "dehyphen", "hyphen", "direct": the word (or CJK run) goes on
            sep = ""
            if join == "dehyphen":
                text = text[:-1]
        while len(starts) < n:  # pages with no text start where the next text does
            starts.append(len(text) + len(sep))
        if begins[k]:
            starts.append(len(text) + len(sep))
        offsets.append(len(text) + len(sep))
        text += sep + line
    while len(starts) < pages:
        starts.append(len(text))
    return text, starts, offsets


# A footnote mark as pypdf reads it: a run of its own (pypdf starts a new run where the type
# size changes) holding only a number, "3" or "1,2" (not "2,917": a figure's thousands).
_MARK_RUN = re.compile(r"^(\s*)(\d{1,3}(?:,\d{1,2})*)(\s*)$")
_TO_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# A mark is set at most this share of the text beside it, its baseline raised by this share of
# that text's size (between the two bounds: more is another line).
MARK_SIZE, MARK_RISE = (0.9, (0.15, 0.8))
# How far a mark may sit from the text it belongs to, in that text's type size; and the widest
# a character is taken to be, as a share of the size (the runs carry no glyph widths).
MARK_GAP, WIDEST = 1.5, 0.6


def raise_marks(runs: list[tuple[str, float, float, float]]) -> str:
    """A page's text from its runs (text, type size, x, baseline height), as pypdf hands them
    to a text visitor, with every footnote mark set as superscript digits. The text layer has
    marks as plain digits: "… in the year 2023 alone.3" reads as a number, "2023" before a mark
    made "20233" (one search token), and the reflow can only guess which digits are marks. A
    mark is a number set smaller than the nearest text before or after it on its line, raised,
    and against it: right after where that text can end, or just before where it starts (a
    note's number). A table's figure beside a taller cell is neither."""

    def beside(i: int, step: int) -> tuple[str, float, float, float] | None:
        j = i + step
        while 0 <= j < len(runs) and not runs[j][0].strip():
            j += step
        return runs[j] if 0 <= j < len(runs) else None

    def mark_of(i: int) -> int:
        """-1: a mark of the text before it; 1: of the text after it (a note's number); 0: none."""
        text, size, x, y = runs[i]
        for step in (-1, 1):
            near = beside(i, step)
            if not near or near[1] <= 0 or not 0 < size <= MARK_SIZE * near[1]:
                continue
            words, big, nx, ny = near
            low, high = MARK_RISE
            if not low * big <= y - ny <= high * big:
                continue
            if step < 0:  # no further right than the text before it can reach
                against = nx <= x <= nx + WIDEST * big * len(words.strip()) + MARK_GAP * big
            else:  # the text after it starts right behind it
                against = 0 <= nx - x <= WIDEST * size * len(text.strip()) + MARK_GAP * big
            if against:
                return step
        return 0

    out: list[str] = []
    for i, (text, _, _, _) in enumerate(runs):
        m = _MARK_RUN.match(text)
        side = mark_of(i) if m else 0
        if not side:
            out.append(text)
            continue
        lead = m.group(1)
        if side < 0 and "\n" not in lead:
            # A mark is printed against its word: a gap before it is pypdf guessing at a space
            # from positions ("2023. ³"), and would part the mark from its sentence.
            lead = ""
            while out and not out[-1].strip(" "):  # empty runs, and runs of spaces only
                out.pop()
            if out:
                out[-1] = out[-1].rstrip(" ")
        out.append(lead + m.group(2).translate(_TO_SUPERSCRIPT) + m.group(3))
    return "".join(out)


# A PDF's /Title field is often the authoring tool's, not the work's; a browser's "Print to
# PDF" writes the page's address when the page has no <title> ("about:blank", "file:///…").
_TOOL_TITLE = re.compile(
    r"(?i)^(microsoft (word|powerpoint) - .*|untitled.*|title|document\d*|.*\.(docx?|odt|rtf|tex|pdf|indd)"
    r"|about:\S*|(https?|file|data|blob):\S*)$"
)


def pdf_title(info_title: object, first_page_runs: list[tuple[str, float]]) -> str | None:
    """The title of a PDF: its /Title field unless an authoring tool wrote it ("Microsoft Word -
    draft3.docx", "untitled"), else the text set largest on the first page when it stands out
    from the body text (1.3 x its size or more) and reads like a title: 3-200 characters, at most
    30 words. ``first_page_runs`` are (text, font size in points) in reading order. None when
    neither holds, so the caller falls back to the file name."""
    info = " ".join(str(info_title or "").split())
    if info and not _TOOL_TITLE.match(info):
        return info
    # Runs are pieces of text as drawn: a font change can split a word, and pypdf puts the
    # spaces and line breaks between them in the runs, so they are joined as they come.
    runs = [(t, abs(size)) for t, size in first_page_runs if size]
    sized = [(t, size) for t, size in runs if t.strip()]
    if not sized:
        return None
    body = statistics.median([size for t, size in sized for _ in t])  # by characters: the body text's size
    largest = max(size for _, size in sized)
    if largest < 1.3 * body:
        return None
    first = next(i for i, (t, size) in enumerate(runs) if t.strip() and size >= 0.95 * largest)
    parts = []
    for t, size in runs[first:]:  # the first block set in that size, up to the next smaller text
        if t.strip() and size < 0.95 * largest:
            break
        parts.append(t)
    title = " ".join("".join(parts).split())
    if 3 <= len(title) <= 200 and len(title.split()) <= 30 and sum(ch.isalpha() for ch in title) >= 2:
        return title
    return None
