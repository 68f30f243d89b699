"""Text extracted from PDF pages, made into paragraphs.

A PDF's text layer has a line break at the end of every printed line, a running header and a
page number on every page, and words hyphenated across lines. Left as they are, the sentence
splitter (``qa.sentences``) ends a sentence at every line break, so answers would be half
sentences ("It doesn't support the AUTOMATIC TAGS"), and "peace-\\nful" is not the word
"peaceful" to BM25. ``reflow_pages`` joins the lines of a paragraph, undoes end-of-line
hyphenation and drops running headers, footers and page numbers. Pure functions on strings:
``qa.ingest.parse_pdf`` applies them, and the result is the document's canonical text, which
citation offsets index into. Measured in docs/reliability.md (``bench/pdf_reflow.py``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from qa.references import ENTRY_START, REFERENCE_SECTION

# A line that starts a new block, whatever came before: a bullet or an enumerator.
_BLOCK_START = re.compile(r"^(?:[•●▪◦■\-–—*]\s|\(?(?:\d{1,3}|[a-z]|[ivxlc]{1,5})[.)]\s)", re.I)
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.I)
# A line this share of the document's usual full line is full: its paragraph goes on.
FULL_LINE = 0.8
# A line shorter than this share of a full line, without closing punctuation, is a heading.
HEADING = 0.6
_CODE = re.compile(r"[=(){}\[\]<>\\/+_|@#$%^&*]")
_CLOSES = re.compile(r"[.,;:!?)\]”\"’']$")
# A first or last line on this many pages (digits ignored) is a running header or footer
# (a chapter's running title repeats only on that chapter's pages).
REPEATS = 2


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _running(pages: list[list[str]], pick: int) -> set[str]:
    """Keys of the first (``pick`` 0) or last (-1) lines that repeat across pages. Only lines of
    two words or more: a lone "Article #" at the top of three pages is content."""
    counts = Counter(_key(p[pick]) for p in pages if p)
    return {k for k, n in counts.items() if n >= REPEATS and len(re.findall(r"[a-z]{2,}", k)) >= 2}


def _strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    heads, feet = _running(pages, 0), _running(pages, -1)
    out = []
    for lines in pages:
        lines = list(lines)
        if lines and (_key(lines[0]) in heads or _PAGE_NUMBER.match(lines[0])):
            lines.pop(0)
        if lines and (_key(lines[-1]) in feet or _PAGE_NUMBER.match(lines[-1])):
            lines.pop()
        out.append(lines)
    return out


def _joiner(a: str, b: str, full: float) -> str | None:
    """What goes between line ``a`` and the next line ``b`` of one paragraph: "" (a hyphenated
    word), " " (the paragraph goes on), or None (``b`` starts a new line)."""
    if _BLOCK_START.match(b):
        return None
    if len(a) >= 2 and a[-1] == "-" and a[-2].isalpha() and b[0].islower():
        return ""
    if b[0].islower():
        return " "
    # After a full line the paragraph goes on, unless the next line is short and unpunctuated:
    # a heading ("Article V", "2.3 Naming") after a paragraph whose last line happened to be full.
    return " " if len(a) >= full and not a.endswith(":") and not _looks_like_heading(b, full) else None


def _looks_like_heading(line: str, full: float) -> bool:
    return (
        len(line) < HEADING * full
        and (line[0].isupper() or line[0].isdigit())
        and not _CLOSES.search(line)
        and not _BLOCK_START.match(line)
        and sum(ch.isalpha() for ch in line) >= 2
        and not _CODE.search(line)  # "LEN = strlen(VALUE)+1" stands alone too
    )


@dataclass(frozen=True)
class Reflowed:
    """A PDF's canonical text, where each page starts in it, and the headings found in it
    (offset, level, title), as ``qa.ingest`` gives a Markdown document's."""

    text: str
    pages: list[int]
    headings: tuple[tuple[int, int, str], ...]


def reflow_pages(pages: list[str]) -> Reflowed:
    """Join PDF page texts into one canonical text.

    A page whose first paragraph began on the page before starts after the joining space. A
    heading is a short unpunctuated line standing alone before running text ("Article IV"
    over a full line): it becomes a level-2 heading, so citations name their article as in a
    Markdown document. Under a "References" heading each entry becomes its own paragraph
    (``qa.references.ENTRY_START``), so the entries are parsed as a Markdown list's are.
    """
    lines = _strip_furniture([[ln.strip() for ln in p.splitlines() if ln.strip()] for p in pages])
    lengths = sorted(len(ln) for p in lines for ln in p)
    # The usual full line: most lines of running text are full, so a high quantile finds it.
    full = FULL_LINE * lengths[math.ceil(0.95 * (len(lengths) - 1))] if lengths else 0.0
    flat = [(n, i == 0, line) for n, page in enumerate(lines) for i, line in enumerate(page)]
    seps: list[str | None] = [None]
    in_references = False
    for (_, _, a), (_, _, b) in zip(flat, flat[1:], strict=False):
        sep = _joiner(a, b, full)
        if seps[-1] is None and _looks_like_heading(a, full):  # a new section starts at a
            in_references = bool(REFERENCE_SECTION.match(a))
        elif in_references and ENTRY_START.match(b):
            sep = "\n\n"  # one paragraph per entry, as qa.ingest reads a reference list
        seps.append(sep)
    text, starts, offsets = "", [], []
    for k, (n, first, line) in enumerate(flat):
        sep = seps[k]
        if k == 0:
            sep = ""
        elif sep is None:
            sep = "\n\n" if first else "\n"
        elif sep == "":
            text = text[:-1]  # the hyphen
        while len(starts) < n:  # pages with no text start where the next text does
            starts.append(len(text) + len(sep))
        if first:
            starts.append(len(text) + len(sep))
        offsets.append(len(text) + len(sep))
        text += sep + line
    while len(starts) < len(lines):
        starts.append(len(text))
    headings = tuple(
        (offsets[k], 2, line)
        for k, (_, _, line) in enumerate(flat)
        if seps[k] is None
        and k + 1 < len(flat)
        and seps[k + 1] is None
        and _looks_like_heading(line, full)
        # before running text (a full line, or one the next line continues), or a reference list
        and (
            len(flat[k + 1][2]) >= full
            or (k + 2 < len(flat) and seps[k + 2] in (" ", ""))
            or REFERENCE_SECTION.match(line)
        )
    )
    return Reflowed(text, starts, headings)
