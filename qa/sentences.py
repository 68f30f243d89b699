"""Where an answer may start and end: sentences, and clauses of over-long ones.

Pure functions over strings. The index stores one vector per candidate span
(``qa.index``) and the answerer scores the same spans (``qa.answering``), so
both call ``candidate_spans``.
"""

from __future__ import annotations

import re

from qa.types import Chunk

_ABBREVIATIONS = {
    "u.s",
    "u.k",
    "u.n",
    "no",
    "nos",
    "vol",
    "art",
    "arts",
    "e.g",
    "i.e",
    "etc",
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "vs",
    "cf",
    "p",
    "pp",
    "ed",
    "eds",
    "inc",
    "ltd",
    "co",
    "jr",
    "sr",
    "prof",
    "gen",
    "fig",
    "para",
    "paras",
    "ch",
    "sec",
    "res",
    "approx",
    "dept",
    "govt",
    "op",
    "cit",
    "al",
}
# After the punctuation, a closing quote or bracket and a footnote mark ("Treaty.¹ It …")
# still belong to the sentence that ends.
_CLOSERS = "\"'”’)]⁰¹²³⁴⁵⁶⁷⁸⁹"
_BOUNDARY = re.compile(r"(?<=[.!?;:…])[\"'”’)\]⁰¹²³⁴⁵⁶⁷⁸⁹]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ„])|\n+")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text`` (shifted by ``offset``), whitespace trimmed.

    Splits after ``. ! ? ; :`` followed by a capital or digit, and at line
    breaks, but not after abbreviations ("U.S.", "No.", "Vol.") or initials
    ("K. M.").
    """
    spans = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        # Line breaks always end a sentence (treaty paragraphs, list items).
        if "\n" not in m.group(0) and not is_sentence_end(text, m.start()):
            continue
        g = m.group(0)
        closers = len(g) - len(g.lstrip(_CLOSERS))
        spans.append((start, m.start() + closers))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if e - s - lead - trail > 0:
            out.append((offset + s + lead, offset + e - trail))
    return out


def is_sentence_end(text: str, pos: int) -> bool:
    """Whether the punctuation just before ``pos`` ends a sentence: not a full stop after an
    abbreviation ("U.S.", "Art.", "et al."), an initial ("v.", "K.") or a list number."""
    # Only the last word matters; a bounded tail keeps the search linear on a long run of text.
    offset = max(0, pos - 100)
    before = text[offset:pos]
    if not before.endswith("."):
        return True
    word = re.search(r"(\S+)\.$", before)
    if not word:
        return True
    token = word.group(1).lower().lstrip("(\"'“‘")
    if token in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha():  # an initial, as in "K. M. Campbell"
        return False
    # "1." or "(a)." opening a line or following a sentence numbers a list item.
    line_start = text.rfind("\n", 0, offset + word.start()) + 1
    opens_item = offset + word.start() == line_start or re.search(r"[.;:]\s+$", before[: word.start()])
    return not (opens_item and re.fullmatch(r"\(?([0-9]{1,3}|[a-z]|[ivx]{1,4})\)?", token))


# Preambles run one "sentence" over a whole page ("..., Recalling ..., Convinced
# ..."); past this length a sentence is cut at clause boundaries instead.
LONG_SENTENCE = 350
_CLAUSE = re.compile(r"(?:,|;)\s+(?=[A-Z])")


def split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= LONG_SENTENCE:
        return [(start, end)]
    out, s = [], start
    for m in _CLAUSE.finditer(text, start, end):
        if m.start() - s >= 40:
            out.append((s, m.start() + 1))
            s = m.end()
    out.append((s, end))
    return out


def candidate_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """The spans an answer may be drawn from, as document offsets: the whole entry of
    a reference chunk, else each sentence (long ones cut into clauses)."""
    if chunk.ref_id:
        return [(chunk.start, chunk.end)]
    text, base = chunk.text, chunk.start
    return [(base + s, base + e) for s0, e0 in split_sentences(text) for s, e in split_long(text, s0, e0)]
