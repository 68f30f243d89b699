"""Records passed between pipeline stages: small, typed, frozen."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

FORMAT_VERSION = 2


@dataclass(frozen=True)
class Reference:
    """One entry of a reference list, parsed into source metadata.

    ``start``/``end`` locate the verbatim entry in the canonical text of the
    document that lists it, so ``doc.text[start:end] == raw``.
    """

    ref_id: str
    doc_id: str
    n: int
    raw: str
    start: int
    end: int
    kind: Literal["un_document", "article", "book", "report", "treaty", "unparsed"]
    authors: tuple[str, ...] = ()
    year: str | None = None
    title: str | None = None
    container: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    place: str | None = None
    publisher: str | None = None
    doi: str | None = None
    un_symbol: str | None = None
    date: str | None = None
    access_date: str | None = None
    url: str | None = None
    note: str | None = None  # text the parser kept but could not place
    flagged: str | None = None  # why the entry could not be parsed, if it could not

    def metadata(self) -> dict[str, Any]:
        """The non-empty bibliographic fields, for citations and display."""
        keys = (
            "kind",
            "authors",
            "year",
            "title",
            "container",
            "volume",
            "issue",
            "pages",
            "place",
            "publisher",
            "doi",
            "un_symbol",
            "date",
            "access_date",
            "url",
            "note",
            "flagged",
        )
        out = {k: getattr(self, k) for k in keys if getattr(self, k)}
        if self.authors:
            out["authors"] = list(self.authors)
        return out


@dataclass(frozen=True)
class Document:
    """A document as indexed. ``text`` is the canonical text all offsets index into."""

    doc_id: str
    path: str
    title: str
    text: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)
    references: tuple[Reference, ...] = ()
    # (start, level, title) of every heading in ``text``, for locators.
    headings: tuple[tuple[int, int, str], ...] = ()

    def page_starts(self) -> list[tuple[int, str]]:
        """(offset in ``text``, printed page label) where each page of a PDF starts: the
        label is the number printed on the page when the PDF says, else its page order.
        Empty for documents without pages."""
        pages = self.metadata.get("pages")
        if not isinstance(pages, list) or not pages:
            return []
        labels = self.metadata.get("page_labels")
        if not isinstance(labels, list) or len(labels) != len(pages):  # none, or not this index's
            labels = [str(n) for n in range(1, len(pages) + 1)]
        return list(zip(pages, map(str, labels), strict=True))


@dataclass(frozen=True)
class Chunk:
    """A span of a document: ``doc.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    locator: str
    ref_id: str | None = None  # set when the chunk is one whole reference entry


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and per-retriever ranks (1-based; 0 = not found)."""

    chunk: Chunk
    score: float
    dense_rank: int = 0
    lexical_rank: int = 0
    row: int = -1  # the chunk's row in the index it came from


@dataclass(frozen=True)
class Candidate:
    """A verbatim span considered as an answer, with the features behind its score."""

    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    score: float
    semantic: float
    lexical: float
    passage: float
    is_reference: bool
    # Fit to a date/duration/definition/count question (qa.answering.answer_type_match,
    # in [0, 1]) plus, for a reference entry, to a year the question names (+1/-1).
    answer_type: float = 0.0
    source: float = 0.0  # +1 a reference entry for a question about sources, -1 one for any other
    locator: str = ""
    # Set for the candidates the learned selector read (qa.selector): its probability that
    # the span answers.
    selector: float | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered, checkable pointer into a document: ``text[start:end] == quote``."""

    n: int
    doc_id: str
    title: str
    locator: str
    quote: str
    start: int
    end: int
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    stale: bool = False


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as reported to users (closest passages, --json output)."""

    doc_id: str
    chunk_id: str
    title: str
    locator: str
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An extractive answer: verbatim ``answer`` text, or ``abstained`` with ``answer == ""``."""

    question: str
    answer: str
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    explain: dict[str, Any] = field(default_factory=dict)
    # Not the answer, checkable like citations: an abstention's nearest sentences (the best of
    # each closest passage), or an answer's runners-up (the same, the cited spans left out).
    closest: tuple[Citation, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The answer back from ``dataclasses.asdict`` (``--json`` output, the app's chat history).
        Keys that are no field (``--json``'s ``note``) are left out."""
        known = {f.name for f in fields(cls)}
        return cls(
            **{
                **{k: v for k, v in data.items() if k in known},
                "citations": tuple(Citation(**c) for c in data["citations"]),
                "passages": tuple(Passage(**p) for p in data["passages"]),
                "closest": tuple(Citation(**c) for c in data.get("closest", ())),
            }
        )
