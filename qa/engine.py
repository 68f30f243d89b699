"""The public facade: build an index from a corpus folder, open it, ask questions, check citations.

The CLI (``qa.cli``) and the app (``app.py``) are thin shells over this module.

Example:
    >>> from qa import Engine, build
    >>> build("corpus", "embeddings")              # doctest: +SKIP
    >>> engine = Engine.open("embeddings", corpus="corpus")  # doctest: +SKIP
    >>> engine.ask("Who wrote about anti-satellite weapons?").citations[0].locator  # doctest: +SKIP
    'Space diplomacy › Reference 9'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from qa.answering import (
    Combination,
    Weights,
    answer_question,
    asked_articles,
    asked_numbered_paragraphs,
    idf_lookup,
    is_source_question,
    lexical_overlap,
    located_article,
    opens_numbered_paragraph,
    question_terms,
    score_candidates,
)
from qa.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from qa.embedding import Embedder, LazyEmbedder, load_embedder, model_dimension, model_name
from qa.errors import BadQuestionError, IndexMismatchError, IndexNotFoundError, IndexOutOfDateError, QAError
from qa.index import (
    BuildStats,
    Index,
    IndexLock,
    PartialVectors,
    build_index,
    load_index,
    read_manifest,
    save_index,
    tokenize,
)
from qa.ingest import DEFAULT_MAX_BYTES, CorpusLoad, Skipped, corpus_files, corpus_path, load_corpus, read_document
from qa.retrieval import DEFAULT_K, MAX_K, Mode, retrieve
from qa.selector import Selector, load_selector
from qa.types import Answer, Candidate, Hit
from qa.uploads import UploadResult, corpus_file, save_uploads

MAX_QUESTION_CHARS = 2000
SOURCE_POOL = 30
EXTRA_REFERENCES = 3
# A question that names an article by number ("What does Article II say?") also reads the
# passages of the articles so numbered that are closest to it in meaning, retrieved or not:
# "Article II" is one short token that BM25 and the embedding barely weigh. So does a question
# that asks for a numbered paragraph ("paragraph 3.3"), with the passages opening one so numbered.
EXTRA_ARTICLES = 3
DEFAULT_CORPUS = "corpus"
DEFAULT_INDEX = "embeddings"
RAY_ADDRESS_ENV = "QA_RAY_ADDRESS"  # qa.cluster.RAY_ADDRESS_ENV; not imported from there, which imports Ray


def default_corpus() -> Path:
    return Path(os.environ.get("QA_CORPUS") or DEFAULT_CORPUS)


def default_index() -> Path:
    return Path(os.environ.get("QA_INDEX") or DEFAULT_INDEX)


def validate_question(question: str) -> str:
    """The question, stripped; raises BadQuestionError if it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise BadQuestionError("the question is empty; type a question in plain words")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestionError(
            f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Ask about one thing at a time"
        )
    return question


def validate_k(k: int) -> int:
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadQuestionError(f"k of {k!r} is out of range; use a number of passages from 1 to {MAX_K}")
    return k


@dataclass(frozen=True)
class BuildReport:
    """What ``build`` did: the index statistics and the files it skipped."""

    stats: BuildStats
    skipped: tuple[Skipped, ...]
    path: Path
    cluster: str | None = None  # where the vectors were embedded, for a Ray build that embedded any


def build(
    corpus: Path | str | None = None,
    index_dir: Path | str | None = None,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    full: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int, int], None] | None = None,
    ray_address: str | None = None,
) -> BuildReport:
    """(Re)build the index of a corpus folder; only new or changed text is embedded.

    The previous index stays current until the new one is completely written.

    Args:
        full: Re-embed everything instead of reusing unchanged vectors.
        ray_address: Embed on the Ray cluster at this address (``local``, ``auto``,
            ``ray://HOST:10001``; default ``$QA_RAY_ADDRESS``, unset: on this process).
            The index written is the same (``qa.cluster``).

    Raises:
        CorpusError: the corpus folder is missing or has no readable document.
        IndexLockedError: another build of the same index is running.
        QAError: the Ray cluster cannot be reached or failed (the previous index is kept).
    """
    if ray_address is None:
        ray_address = os.environ.get(RAY_ADDRESS_ENV) or None
    corpus = Path(corpus or default_corpus())
    index_dir = Path(index_dir or default_index())
    try:  # the files the current index holds keep their ids against duplicates added since
        indexed = [d["path"] for d in read_manifest(index_dir)["documents"].values()]
    except (QAError, OSError, KeyError, TypeError):
        indexed = []
    loaded: CorpusLoad = load_corpus(corpus, max_bytes=max_bytes, indexed=indexed)
    with IndexLock(index_dir):
        previous = None
        if not full:
            try:
                previous = load_index(index_dir)
            except (IndexNotFoundError, IndexMismatchError):
                previous = None  # nothing reusable: build from scratch
        if embedder is None:
            name = model_name(model)
            same = previous is not None and previous.config.model == name and name != "hash"
            if ray_address:
                from qa.cluster import RayEmbedder  # Ray is imported only for a cluster build

                # The workers load the model; here its size is enough (loading it costs seconds).
                dim = previous.config.dimension if same else (model_dimension(model) or load_embedder(model).dimension)
                embedder = RayEmbedder(ray_address, model=model, name=name, dimension=dim)
            elif same:
                embedder = LazyEmbedder(model, name, previous.config.dimension)
            else:
                embedder = load_embedder(model)
        # Vectors are kept group by group (on Ray, batch by batch) until the build is saved,
        # so a build that is interrupted resumes where it stopped (docs/reliability.md).
        partial = PartialVectors(index_dir)
        if full:
            partial.clear()  # --full re-embeds everything
        index, stats = build_index(
            loaded.documents,
            embedder,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            previous=previous,
            progress=progress,
            partial=partial,
        )
        unchanged = (
            previous is not None
            and previous.path is not None
            and index.config == previous.config
            and not (stats.added or stats.updated or stats.removed or stats.embedded)
        )
        # Nothing changed: keep the current build (open engines keep their cache).
        path = previous.path if unchanged else save_index(index, index_dir, stats=stats)
        partial.clear()
    info = getattr(embedder, "info", None)
    return BuildReport(stats, loaded.skipped, path, cluster=info.describe() if info else None)


@dataclass(frozen=True)
class AddReport:
    """What ``add_documents`` did: the files saved or refused, and the index update (None if none was needed)."""

    uploads: UploadResult
    build: BuildReport | None


def add_documents(
    files: Iterable[tuple[str, bytes]],
    corpus: Path | str | None = None,
    index_dir: Path | str | None = None,
    *,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    replace: bool = False,
) -> AddReport:
    """Save uploaded files (name, content) into the corpus (``qa.uploads.save_uploads``) and
    update the index; only new or changed text is embedded. A file of the name of a corpus
    file with other content is refused unless ``replace``.

    Raises:
        QAError: the index could not be built (e.g. another build is running).
    """
    corpus = Path(corpus or default_corpus())
    uploads = save_uploads(files, corpus, replace=replace)
    if not uploads.saved:
        return AddReport(uploads, None)
    return AddReport(uploads, build(corpus, index_dir, model=model, progress=progress))


@dataclass(frozen=True)
class RemoveReport:
    """What ``remove_documents`` did: the corpus files deleted, and the index update."""

    removed: tuple[str, ...]
    build: BuildReport
    already_gone: tuple[str, ...] = ()  # files deleted before, by hand: only their index entries went


def remove_documents(
    doc_ids: Iterable[str],
    corpus: Path | str | None = None,
    index_dir: Path | str | None = None,
    *,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RemoveReport:
    """Delete the files of ``doc_ids`` (document ids, or their file names) from the corpus
    folder and update the index.

    Raises:
        QAError: a document is not in the index, or it is the last one (then nothing is
            deleted); or the index could not be updated (the files are gone, and the
            message says to run ``qa index``).
    """
    corpus = Path(corpus or default_corpus())
    index_dir = Path(index_dir or default_index())
    indexed = read_manifest(index_dir)["documents"]
    by_path = {entry["path"]: doc_id for doc_id, entry in indexed.items()}
    wanted = list(dict.fromkeys(by_path.get(d, d) for d in doc_ids))
    # A corpus file the index does not hold (a duplicate, an unreadable file) can be removed
    # by its name or id too: otherwise its "skipped" notice repeats on every build.
    files = [p.relative_to(corpus).as_posix() for p in corpus_files(corpus)] if corpus.is_dir() else []
    loose = {}
    for d in (d for d in wanted if d not in indexed):
        matches = [name for name in files if d in (name, name.rsplit(".", 1)[0]) and name not in by_path]
        if len(matches) != 1:
            raise QAError(
                f"no document {d!r} in the index or the corpus folder; `python -m qa sources` lists them"
                if not matches
                else f"{d!r} names {' and '.join(matches)}: give the file name"
            )
        loose[d] = matches[0]
    wanted = [d for d in wanted if d not in loose]
    if wanted and not set(indexed) - set(wanted):
        raise QAError("that would remove every document, and an index needs one; add another document first")
    removed, gone = [], []
    for path in [indexed[d]["path"] for d in wanted] + list(loose.values()):
        target = corpus_file(corpus, path)
        (removed if target.exists() or target.is_symlink() else gone).append(path)
        target.unlink(missing_ok=True)
    try:
        report = build(corpus, index_dir, model=model, progress=progress)
    except QAError as exc:
        raise IndexOutOfDateError(
            f"Removed {', '.join(removed + gone)} from the corpus folder, but the index was not updated ({exc}); "
            "run `python -m qa index`"
        ) from None
    return RemoveReport(tuple(removed), report, tuple(gone))


@dataclass(frozen=True)
class SpanCheck:
    """Whether a quote is still at ``[start, end)`` of a document's source file (``Engine.check_span``)."""

    level: Literal["ok", "warning", "error"]
    message: str
    text: str  # the text to show: the current source if readable, else the text as indexed
    label: str  # which of the two ``text`` is
    hit: tuple[int, int] | None  # where the quote stands in ``text``, if it does


class Engine:
    """A loaded index plus the model that queries it.

    Example:
        >>> engine = Engine.open("embeddings", corpus="corpus")  # doctest: +SKIP
        >>> answer = engine.ask("Which organizations deal with space security?")  # doctest: +SKIP
        >>> answer.citations[0].quote in engine.canonical_text(answer.citations[0].doc_id)  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        *,
        corpus: Path | str | None = None,
        threshold: float | None = None,
        selector: Selector | None = None,
        combination: Combination | None = None,
    ) -> None:
        if (index.config.model, index.config.dimension) != (embedder.name, embedder.dimension):
            raise IndexMismatchError(
                f"index was built with model {index.config.model!r} ({index.config.dimension} dims) "
                f"but {embedder.name!r} ({embedder.dimension} dims) is loaded; "
                "run `python -m qa index --full` to rebuild it"
            )
        self.index = index
        self.embedder = embedder
        self.corpus = Path(corpus) if corpus else None
        self.selector = selector
        self.combination = combination = combination or Combination()
        self.threshold = combination.threshold if threshold is None else threshold
        self._idf = idf_lookup(index.bm25)
        self._stale: dict[str, tuple[tuple[int, int], bool]] = {}
        self._articles: dict[int, list[int]] | None = None
        self._paragraphs: dict[str, list[int]] | None = None

    @classmethod
    def open(
        cls,
        index_dir: Path | str | None = None,
        *,
        corpus: Path | str | None = None,
        model: str | None = None,
        embedder: Embedder | None = None,
        threshold: float | None = None,
        selector: Selector | Path | str | None = "auto",
    ) -> Engine:
        """Load the index in ``index_dir``, the model it was built with, and the answer selector.

        ``selector="auto"`` loads the shipped selector (``$QA_SELECTOR`` overrides its
        folder; ``none`` turns it off) when the fitted ``Combination`` gives it weight, and
        never with the hash embedder of the tests, whose features it was not fitted to; a
        path loads that selector; ``None`` runs without one.

        Raises:
            IndexNotFoundError: no index there yet (build one with ``build``).
            IndexMismatchError: the index does not fit the configured model, or is corrupt.
        """
        embedder = embedder or load_embedder(model)
        index = load_index(index_dir or default_index())
        if isinstance(selector, str) and selector == "auto":
            # The selector is read only when the fitted combination gives it weight.
            wanted = Combination().selector > 0 and embedder.name != "hash"
            selector = load_selector() if wanted else None
        elif isinstance(selector, str | Path):
            selector = load_selector(selector)
        return cls(index, embedder, corpus=corpus or default_corpus(), threshold=threshold, selector=selector)

    # -------------------------------------------------------------- queries

    def ask(
        self,
        question: str,
        *,
        k: int = DEFAULT_K,
        mode: Mode = "hybrid",
        doc_ids: Iterable[str] | None = None,
        threshold: float | None = None,
    ) -> Answer:
        """Answer one question with a verbatim, cited span, or abstain.

        Args:
            k: Number of passages to retrieve and draw candidates from.
            mode: ``hybrid`` (default), ``dense`` or ``lexical`` retrieval.
            doc_ids: Restrict the search to these documents.

        Raises:
            BadQuestionError: empty or over-long question, or ``k`` out of range.
        """
        question = validate_question(question)
        validate_k(k)
        qvec = self.embedder.encode([question])[0]
        hits = self.hits(question, qvec, k=k, mode=mode, doc_ids=doc_ids)
        answer = answer_question(
            question,
            hits,
            self.index.documents,
            question_vector=qvec,
            encode=self.embedder.encode,
            tokenize=tokenize,
            idf=self._idf,
            span_vectors=self._span_vectors,
            threshold=self.threshold if threshold is None else threshold,
            references=self.index.reference,
            stale=self.is_stale,
            select=self.selector.logits if self.selector is not None else None,
            combination=self.combination,
        )
        if not np.isfinite(answer.confidence):  # only corrupt stored vectors (NaN) get here
            raise IndexMismatchError(
                f"the index in {self.index.path or 'memory'} gives scores that are not numbers (corrupt vector files); "
                "rebuild it with `python -m qa index --full`"
            )
        return answer

    def candidates(
        self, question: str, question_vector: np.ndarray, hits: Sequence[Hit], *, weights: Weights | None = None
    ) -> list[Candidate]:
        """The feature-scored answer candidates of ``hits``, best first: what ``ask`` ranks,
        for tuning scripts that need every candidate rather than the answer."""
        return score_candidates(
            question,
            hits,
            self.index.documents,
            question_vector=question_vector,
            encode=self.embedder.encode,
            tokenize=tokenize,
            idf=self._idf,
            span_vectors=self._span_vectors,
            references=self.index.reference,
            weights=weights or Weights(),
        )

    def hits(
        self,
        question: str,
        question_vector: np.ndarray,
        *,
        k: int = DEFAULT_K,
        mode: Mode = "hybrid",
        doc_ids: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The passages an answer is drawn from: the top ``k``, plus, for a question
        about sources, the best few reference entries just outside them (entries are
        short and often lose to long passages)."""
        keep = None
        if doc_ids is not None:
            wanted = set(doc_ids)
            unknown = wanted - self.index.documents.keys()
            if unknown:
                raise QAError(
                    f"unknown document id(s): {', '.join(sorted(unknown))}; `python -m qa sources` lists them"
                )
            chunks = self.index.chunks
            keep = lambda row: chunks[row].doc_id in wanted  # noqa: E731
        hits = retrieve(self.index, question, question_vector, k=k + SOURCE_POOL, mode=mode, keep=keep)
        extra = [h for h in hits[k:] if h.chunk.ref_id][:EXTRA_REFERENCES] if is_source_question(question) else []
        return hits[:k] + extra + self._article_hits(question, question_vector, hits, k, keep)

    def _article_rows(self) -> dict[int, list[int]]:
        """Article number -> rows of the chunks located under it; built once per engine."""
        if self._articles is None:
            self._articles = {}
            for row, chunk in enumerate(self.index.chunks):
                number = located_article(chunk.locator)
                if number is not None:
                    self._articles.setdefault(number, []).append(row)
        return self._articles

    def _paragraph_rows(self) -> dict[str, list[int]]:
        """Paragraph or note number -> rows of the chunks holding its opening line (one row per
        opening: chunks overlap); built once per engine."""
        if self._paragraphs is None:
            self._paragraphs = {}
            seen = set()
            for row, chunk in enumerate(self.index.chunks):
                for m in re.finditer(r"^.+", chunk.text, re.M):
                    label = opens_numbered_paragraph(m.group(0), chunk.locator)
                    if label is not None and (chunk.doc_id, chunk.start + m.start()) not in seen:
                        seen.add((chunk.doc_id, chunk.start + m.start()))
                        self._paragraphs.setdefault(label, []).append(row)
        return self._paragraphs

    def _article_hits(self, question: str, question_vector: np.ndarray, pool: Sequence[Hit], k: int, keep) -> list[Hit]:
        """Passages of the articles the question names by number, or of the numbered paragraphs
        it asks for ("paragraph 3.3"), outside the first ``k``: the ``EXTRA_ARTICLES`` best,
        those of the document the question names first, then by cosine; each with its fused
        score when retrieval found it (else 0: no passage credit)."""
        if asked := asked_articles(question):
            table = self._article_rows()
        elif asked := asked_numbered_paragraphs(question):
            table = self._paragraph_rows()
        else:
            return []
        shown = {h.row for h in pool[:k]}
        rows = [r for n in asked for r in table.get(n, ()) if r not in shown and (keep is None or keep(r))]
        if not rows:
            return []
        # Best first: the articles of the document the question names ("… of the Outer Space
        # Treaty": the share of the question's term weight its title holds), then by meaning.
        terms = question_terms(question, tokenize, self._idf)
        vectors = self.index.vectors()
        named: dict[str, float] = {}  # per document title: one tokenization, however many rows

        def closeness(row: int) -> tuple[float, float]:
            title = self.index.chunks[row].locator.split(" › ", 1)[0]
            if title not in named:
                named[title] = lexical_overlap(terms, set(tokenize([title])[0]))
            return named[title], float(vectors[row] @ question_vector)

        rows = sorted(rows, key=closeness, reverse=True)[:EXTRA_ARTICLES]
        fused = {h.row: h for h in pool}
        return [fused.get(r) or Hit(self.index.chunks[r], 0.0, 0, 0, r) for r in rows]

    def canonical_text(self, doc_id: str) -> str:
        """The text that citation offsets of ``doc_id`` index into."""
        return self.index.document(doc_id).text

    def check_source(self, doc_id: str) -> None:
        """Refuse a document whose corpus file is (now) a link leaving the corpus.

        Raises:
            UnreadableDocumentError: names the link and its target.
        """
        if self.corpus is not None:
            corpus_path(self.corpus, self.index.document(doc_id).path)

    def holds(self, doc_id: str, start: int, end: int, quote: str) -> bool:
        """Whether this index has ``quote`` at ``[start, end)`` of ``doc_id``.

        False for a citation from an earlier build whose document was removed or
        re-indexed with other text at these offsets since.
        """
        doc = self.index.documents.get(doc_id)
        return doc is not None and doc.text[start:end] == quote

    def check_span(self, doc_id: str, start: int, end: int, quote: str | None = None) -> SpanCheck:
        """Check a cited span against the document as indexed and as its file is on disk now.

        Args:
            quote: The text the citation quoted (default: the indexed text there).

        Raises:
            KeyError: no such document in the index.
            QAError: the span lies outside the document.
        """
        indexed = self.canonical_text(doc_id)
        if not 0 <= start <= end <= len(indexed):
            raise QAError(
                f"the span {start:,}–{end:,} lies outside {doc_id} ({len(indexed):,} characters); "
                "use character offsets of its text (`python -m qa show` prints it)"
            )
        given = quote is not None
        quote = quote if given else indexed[start:end]
        span = f"characters {start:,}–{end:,}"
        if not self.holds(doc_id, start, end, quote):
            return SpanCheck(
                "error",
                f"Mismatch: {span} of the indexed text are not the quoted text. "
                "The answer came from another version of the index; ask again.",
                indexed,
                "text as indexed",
                None,
            )
        if not self.is_stale(doc_id):
            # Offsets index the text read from the file (a PDF's extracted text, a page's main
            # text), not its bytes: say so rather than "of the file".
            source = f"the text read from {self.index.document(doc_id).path} now"
            return SpanCheck(
                "ok",
                f"Verified: {span} of {source} are exactly the quoted text."
                if given
                # A shared link carries offsets only: what can be checked is that the file
                # still has the indexed text there, not that it matches a quote.
                # Nor, after a re-index, that they still hold what was first cited: say so.
                else f"{span[0].upper()}{span[1:]} of {source} are as indexed. No quote came with them, so they "
                "cannot be checked against the text first cited: if the file was changed and re-indexed since, "
                "they may point at other text.",
                indexed,
                "current source",
                (start, end),
            )
        current = self.current_text(doc_id)
        if current is None:
            return SpanCheck(
                "error",
                "The source file was deleted or cannot be read any more since it was "
                "indexed. Shown: the text as indexed. Rebuild the index.",
                indexed,
                "text as indexed (the file is gone)",
                (start, end),
            )
        changed = "current source (changed since indexing)"
        if current[start:end] == quote:
            return SpanCheck(
                "warning",
                f"The source file changed since indexing, but {span} still hold "
                "exactly the quoted text. Rebuild the index to refresh it.",
                current,
                changed,
                (start, end),
            )
        moved = current.find(quote) if quote else -1
        if moved >= 0:
            return SpanCheck(
                "error",
                f"The source file changed since indexing: the quoted text is no longer at "
                f"{span}; it now stands at characters {moved:,}–{moved + len(quote):,}. "
                "Rebuild the index.",
                current,
                changed,
                (moved, moved + len(quote)),
            )
        return SpanCheck(
            "error",
            "The source file changed since indexing and no longer contains the quoted text. Rebuild the index.",
            current,
            changed,
            None,
        )

    def current_text(self, doc_id: str) -> str | None:
        """Canonical text of the document's file as it is on disk now; None if it is gone or unreadable."""
        if self.corpus is None:
            return None
        root = self.corpus.resolve()
        try:
            return read_document(corpus_path(root, self.index.document(doc_id).path), root).text
        except (OSError, QAError):
            return None

    def is_stale(self, doc_id: str) -> bool:
        """Whether the document's file changed (or vanished) since it was indexed."""
        if self.corpus is None:
            return False
        doc = self.index.document(doc_id)
        path = self.corpus / doc.path
        try:
            st = path.stat()
        except OSError:
            return True
        key = (st.st_mtime_ns, st.st_size)
        cached = self._stale.get(doc_id)
        if cached and cached[0] == key:
            return cached[1]
        try:
            stale = read_document(path, self.corpus).sha256 != doc.sha256
        except QAError:
            stale = True
        self._stale[doc_id] = (key, stale)
        return stale

    def _span_vectors(self, hit: Hit) -> dict[tuple[int, int], np.ndarray]:
        return self.index.spans(hit.row) if hit.row >= 0 else {}
