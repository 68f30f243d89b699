"""Split Documents into Chunks with exact offsets and locators. Pure functions.

Sections between Markdown headings are split separately, so a chunk never
straddles two treaty articles and its locator ("Outer Space Treaty › Article
IV") names the heading it sits under. Each reference entry is one chunk of its
own, so a question about sources is answered with the whole entry.
"""

from __future__ import annotations

import itertools
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.sentences import split_sentences
from qa.types import Chunk, Document

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_CHUNK_OVERLAP = 150
# Paragraphs first, then lines, then sentences, so a split rarely cuts a sentence.
_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


def short_title(doc: Document) -> str:
    """'Treaty on ... (Outer Space Treaty)' -> 'Outer Space Treaty'; otherwise the title."""
    if short := doc.metadata.get("short_title"):
        return str(short)
    # A name in brackets, not a note: "(Liability Convention)", but not "(bulk)" or "(2019)".
    m = re.search(r"\(([A-Z][^()]{2,59})\)\s*$", doc.title)
    return m.group(1) if m else doc.title


def _section_name(heading: str, doc: Document) -> str:
    # Treaties repeat their own title as a sub-heading over the preamble.
    if doc.title.casefold().startswith(heading.casefold()[:40]):
        return "Preamble"
    return heading


def _page_cut(text: str, pos: int, entries: list[tuple[int, int]]) -> int:
    """Where a section may end for a page that starts at ``pos``: there if a line starts there,
    else after the sentence (``qa.sentences``, which knows "U.S." and initials) or reference
    entry that runs across the page break."""
    if pos == 0 or text[pos - 1] == "\n":
        return pos
    for start, end in entries:
        if start < pos < end:
            return end
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos) % (len(text) + 1)  # -1 (no line break) becomes len(text)
    for start, end in split_sentences(text[line_start:line_end], line_start):
        if start >= pos:  # a sentence begins on the new page: cut before it
            return start
        if end > pos:  # the sentence crossing the break stays with the page it starts on
            return end
    return line_end


def sections(doc: Document) -> list[tuple[int, int, str]]:
    """(start, end, heading path) of every stretch of body text between headings."""
    text = doc.text
    out = []
    stack: list[tuple[int, str]] = []
    bounds = [(0, 0, "")] + list(doc.headings)
    for i, (pos, level, title) in enumerate(bounds):
        if i:
            while stack and stack[-1][0] >= level:
                stack.pop()
            if level > 1:  # the H1 is the document title, already in the locator
                stack.append((level, _section_name(title, doc)))
            nl = text.find("\n", pos)
            body_start = len(text) if nl < 0 else nl + 1
        else:
            body_start = 0
        body_end = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
        path = " › ".join([short_title(doc)] + [t for _, t in stack])
        out.append((body_start, body_end, path))
    if pages := doc.page_starts():
        # A PDF: sections are cut at page breaks too, so every chunk (and citation) has one page
        # number. A sentence that runs onto the next page stays whole, with the page it starts
        # on: the cut moves to the end of that sentence (of the entry, in a reference list).
        entries = [(r.start, r.end) for r in doc.references]
        cuts = [0, *(_page_cut(text, p, entries) for p, _ in pages[1:])]
        cuts = list(itertools.accumulate(cuts, max))
        ends = [*cuts[1:], len(text)]
        labels = [label for _, label in pages]
        out = [
            (max(s, lo), min(e, hi), f"{path} › p. {label}")
            for s, e, path in out
            for label, lo, hi in zip(labels, cuts, ends, strict=True)
            if max(s, lo) < min(e, hi)
        ]
    return out


def chunk_document(
    doc: Document,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
) -> list[Chunk]:
    """Split one document; every chunk satisfies ``doc.text[c.start:c.end] == c.text``."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    ref_spans = {(r.start, r.end): r for r in doc.references}
    chunks: list[Chunk] = []
    for start, end, path in sections(doc):
        body = doc.text[start:end]
        refs = [r for r in doc.references if start <= r.start and r.end <= end]
        if refs:
            for r in refs:
                chunks.append(
                    Chunk(
                        f"{doc.doc_id}:{r.start}",
                        doc.doc_id,
                        r.raw,
                        r.start,
                        r.end,
                        f"{short_title(doc)} › Reference {r.n}",
                        ref_id=r.ref_id,
                    )
                )
            continue
        if not body.strip():
            continue
        for piece in splitter.create_documents([body]):
            s = start + piece.metadata["start_index"]
            e = s + len(piece.page_content)
            chunks.append(Chunk(f"{doc.doc_id}:{s}", doc.doc_id, piece.page_content, s, e, path))
    assert all(doc.text[c.start : c.end] == c.text for c in chunks), doc.doc_id
    assert len(ref_spans) == sum(1 for c in chunks if c.ref_id), doc.doc_id
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed: the locator gives the chunk its context
    ("Outer Space Treaty › Article IV"), which the passage text alone often lacks."""
    return f"{chunk.locator}\n{chunk.text}"
