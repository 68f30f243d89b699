"""The on-disk index: FAISS vectors, BM25, chunk and document records, manifest.

Layout of an index folder (``embeddings/`` by default)::

    CURRENT                 name of the active build folder (replaced atomically)
    build-<time>-<id>/
        manifest.json       settings, per-document hashes, counts, build time
        index.faiss         dense vectors (inner product = cosine on unit vectors)
        chunks.jsonl        one Chunk per line, row i <-> FAISS id i
        vectors.npy         float32 chunk vectors, row i (exact copies, reused by updates)
        span_ptr.npy        spans of chunk i are rows span_ptr[i]:span_ptr[i+1] of:
        span_bounds.npy       (start, end) of each candidate answer span, relative to its chunk
        span_vectors.npy      float16 vector of each span (qa.sentences.candidate_spans)
        documents.jsonl     one Document per line (canonical text, metadata, references)
        bm25/               bm25s sparse matrices and vocabulary (JSON + .npy, no pickle)
    .lock                   held while a build writes
    .partial/               vectors embedded by a build not yet saved (PartialVectors)

A build is written to a temporary folder, renamed to its final name, and only
then does ``CURRENT`` switch to it (``os.replace``, atomic on POSIX). A build
killed at any moment leaves the previous index loadable; readers never see a
half-written folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, chunk_document, embedding_text
from qa.embedding import Embedder
from qa.errors import IndexLockedError, IndexMismatchError, IndexNotFoundError
from qa.sentences import candidate_spans
from qa.types import FORMAT_VERSION, Chunk, Document, Reference

# Exact search is fast and perfect up to a few hundred thousand vectors. Above
# this, an inverted file with 8-bit scalar quantization keeps memory at about a
# quarter with recall@10 >= 0.95, in less memory and build time than HNSW needs
# for that recall (docs/performance.md, "Scale: 1M chunks").
ANN_THRESHOLD = 200_000


def _ivf_params(n: int) -> tuple[int, int]:
    """(nlist, nprobe) for n vectors: ~4 sqrt(n) lists, 1/32 of them (at least 32) probed."""
    nlist = max(8, int(4 * n**0.5))
    return nlist, max(32, nlist // 32)


@dataclass(frozen=True)
class IndexConfig:
    """Settings that shape an index; an index is only usable with the same ones."""

    model: str
    dimension: int
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.chunk_size < 50:
            raise ValueError(f"chunk_size of {self.chunk_size} is too small; use at least 50 characters")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError(
                f"chunk_overlap of {self.chunk_overlap} must be between 0 and chunk_size ({self.chunk_size})"
            )


@dataclass(frozen=True)
class BuildStats:
    """What a build did, for the CLI's report."""

    documents: int
    chunks: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    embedded: int
    seconds: float
    chunk_counts: dict[str, int] = field(default_factory=dict)  # doc_id -> chunks, in corpus order
    embed_seconds: float = 0.0  # of ``seconds``: computing the ``embedded`` vectors
    resumed: int = 0  # chunks whose vectors an interrupted build had embedded (PartialVectors)


@dataclass
class Index:
    """A loaded (or freshly built) index. Query it with ``qa.retrieval``."""

    config: IndexConfig
    documents: dict[str, Document]
    chunks: list[Chunk]
    faiss_index: Any
    bm25: Any
    built_at: str
    chunk_hashes: list[str]
    faiss_info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    dense: np.ndarray | None = None  # float32 chunk vectors (memory-mapped when loaded)
    span_ptr: np.ndarray | None = None
    span_bounds: np.ndarray | None = None
    span_vectors: np.ndarray | None = None

    def document(self, doc_id: str) -> Document:
        try:
            return self.documents[doc_id]
        except KeyError:
            raise KeyError(f"no document {doc_id!r} in the index; `python -m qa sources` lists them") from None

    def reference(self, ref_id: str) -> Reference | None:
        doc_id = ref_id.split("#", 1)[0]
        doc = self.documents.get(doc_id)
        return next((r for r in doc.references if r.ref_id == ref_id), None) if doc else None

    def vectors(self) -> np.ndarray:
        """All stored vectors, row i for chunk i."""
        if self.dense is not None:
            return self.dense
        if self.faiss_index.ntotal == 0:
            return np.zeros((0, self.config.dimension), dtype=np.float32)
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)

    def spans(self, row: int) -> dict[tuple[int, int], np.ndarray]:
        """Stored vectors of chunk ``row``'s candidate spans, keyed by document offsets."""
        if self.span_ptr is None or self.span_bounds is None or self.span_vectors is None:
            return {}
        lo, hi = int(self.span_ptr[row]), int(self.span_ptr[row + 1])
        base = self.chunks[row].start
        return {
            (base + int(s), base + int(e)): v
            for (s, e), v in zip(self.span_bounds[lo:hi], self.span_vectors[lo:hi], strict=True)
        }


# ---------------------------------------------------------------- building


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def make_faiss(vectors: np.ndarray, *, ann_threshold: int = ANN_THRESHOLD):
    """Exact inner-product search, or IVF + 8-bit scalar quantization from ``ann_threshold`` vectors on."""
    import faiss

    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if n >= ann_threshold:
        nlist, nprobe = _ivf_params(n)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        # 64 points per list is plenty for k-means; a fixed seed keeps builds reproducible.
        sample = np.random.default_rng(0).choice(n, size=min(n, 64 * nlist), replace=False)
        index.train(vectors[np.sort(sample)])
        index.add(vectors)
        index.nprobe = nprobe
        index.make_direct_map()  # lets an update reuse stored vectors (reconstruct)
        info = {
            "type": "IndexIVFScalarQuantizer",
            "quantizer": "QT_8bit",
            "nlist": nlist,
            "nprobe": nprobe,
            "threshold": ann_threshold,
        }
    else:
        index = faiss.IndexFlatIP(dim)
        if n:
            index.add(vectors)
        info = {"type": "IndexFlatIP", "threshold": ann_threshold}
    return index, info


# Superscript and subscript digits (a web page's footnote marks: "adopted in 2007⁶") end a
# word: otherwise "2007⁶" is one token and a search for 2007 misses the sentence.
_SCRIPTS = str.maketrans(dict.fromkeys("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉", " "))


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """BM25 tokens: lower-cased words, English stop words removed, Snowball-stemmed."""
    import bm25s

    texts = [t.translate(_SCRIPTS) for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


# Question words are not in bm25s's English stop list, yet they carry no topic, so
# queries drop them (what that gained: docs/answerer.md, "Retrieval").
_QUESTION_WORDS = frozenset(
    {
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "which",
        "why",
        "how",
        "many",
        "much",
        "did",
        "does",
        "do",
        "was",
        "were",
        "is",
        "are",
    }
)


def drop_question_words(text: str) -> str:
    """``text`` without its question words ("why", "how many", …), before any stemming."""
    return " ".join(w for w in text.split() if w.lower().strip("?,.!;:\"'“”‘’") not in _QUESTION_WORDS)


def tokenize_query(text: str) -> list[str]:
    """BM25 tokens of a question: as ``tokenize``, without question words."""
    return tokenize([drop_question_words(text)])[0]


def _stemmer():
    import Stemmer

    global _STEMMER
    if _STEMMER is None:
        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


_STEMMER = None


def make_bm25(texts: Sequence[str]):
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index(tokenize(texts), show_progress=False)
    return retriever


def build_index(
    documents: Sequence[Document],
    embedder: Embedder,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP,
    previous: Index | None = None,
    progress: Callable[[int, int], None] | None = None,
    ann_threshold: int = ANN_THRESHOLD,
    partial: PartialVectors | None = None,
) -> tuple[Index, BuildStats]:
    """Chunk, embed and index ``documents``.

    Vectors of chunks whose text is unchanged since ``previous`` (same model,
    same embedded text) are reused, so an update only embeds what changed.

    Args:
        documents: The corpus.
        embedder: Turns chunk texts into vectors.
        previous: The index being replaced, if any, for vector reuse.
        progress: Called with (done, total) while embedding.
        partial: Where vectors are saved group by group as they are embedded, and
            reused from, so a build that is interrupted loses at most one group.
    """
    t0 = time.perf_counter()
    config = IndexConfig(embedder.name, embedder.dimension, chunk_size, chunk_overlap)
    chunks = [c for d in documents for c in chunk_document(d, chunk_size=chunk_size, chunk_overlap=chunk_overlap)]
    texts = [embedding_text(c) for c in chunks]
    hashes = [_hash(t) for t in texts]

    # Candidate answer spans, relative to their chunk; each gets a vector pooled from the
    # chunk's own forward pass (Embedder.encode_spans), so answering encodes nothing.
    bounds = [[(s - c.start, e - c.start) for s, e in candidate_spans(c)] for c in chunks]

    wanted = dict(zip(hashes, bounds, strict=True))
    reuse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if (
        previous is not None
        and previous.span_ptr is not None
        and (previous.config.model, previous.config.dimension) == (config.model, config.dimension)
    ):
        old_vectors = previous.vectors()
        for i, h in enumerate(previous.chunk_hashes):
            lo, hi = int(previous.span_ptr[i]), int(previous.span_ptr[i + 1])
            if h in wanted and [tuple(b) for b in previous.span_bounds[lo:hi].tolist()] == wanted[h]:
                reuse[h] = (old_vectors[i], previous.span_vectors[lo:hi])
    resumed: set[str] = set()
    if partial is not None:
        for h, (vector, span_bounds, span_vecs) in partial.load(config).items():
            if h in wanted and h not in reuse and span_bounds == wanted[h]:
                reuse[h] = (vector, span_vecs)
                resumed.add(h)
    # In the embedder's own order (shortest first, a stable sort), so that embedding group by
    # group batches texts exactly as one call over all of them would.
    todo = sorted((i for i, h in enumerate(hashes) if h not in reuse), key=lambda i: len(texts[i]))
    embed_seconds = 0.0
    vectors = np.zeros((len(chunks), config.dimension), dtype=np.float32)
    span_ptr = np.zeros(len(chunks) + 1, dtype=np.int64)
    span_ptr[1:] = np.cumsum([len(b) for b in bounds])
    span_vectors = np.zeros((int(span_ptr[-1]), config.dimension), dtype=np.float16)
    # An embedder that hands back its results as they come (RayEmbedder: starting its actor
    # pool is the costly part) takes every chunk in one call and reports each batch to be saved.
    streams = partial is not None and getattr(embedder, "streams_rows", False)
    group = partial.group if partial is not None and not streams else max(len(todo), 1)

    def save_rows(rows: list[int], vecs: np.ndarray, span_vecs: np.ndarray) -> None:
        done = [todo[r] for r in rows]  # rows index ``todo``: a streaming embedder takes it whole
        partial.save(config, [hashes[i] for i in done], vecs, [bounds[i] for i in done], span_vecs)

    extra = {"on_rows": save_rows} if streams else {}
    t_embed = time.perf_counter()
    for lo in range(0, len(todo), group):
        part = todo[lo : lo + group]
        # Offsets into the embedded text, which starts with the locator line.
        shifted = []
        for i in part:
            p = len(texts[i]) - len(chunks[i].text)
            shifted.append([(p + s, p + e) for s, e in bounds[i]])
        step = None if progress is None else (lambda done, _n, lo=lo: progress(lo + done, len(todo)))
        new, new_spans = embedder.encode_spans([texts[i] for i in part], shifted, progress=step, **extra)
        vectors[part] = new
        row = 0
        for i in part:
            n = len(bounds[i])
            span_vectors[span_ptr[i] : span_ptr[i + 1]] = new_spans[row : row + n]
            row += n
        if partial is not None and not streams:
            partial.save(config, [hashes[i] for i in part], new, [bounds[i] for i in part], new_spans)
    if todo:
        embed_seconds = time.perf_counter() - t_embed
    for i, h in enumerate(hashes):
        if h in reuse:
            vectors[i], span_vectors[span_ptr[i] : span_ptr[i + 1]] = reuse[h]
    span_bounds = np.array([b for bs in bounds for b in bs], dtype=np.int32).reshape(-1, 2)

    faiss_index, faiss_info = make_faiss(vectors, ann_threshold=ann_threshold)
    old = {d.doc_id: d.sha256 for d in previous.documents.values()} if previous else {}
    new_ids = {d.doc_id: d.sha256 for d in documents}
    index = Index(
        config=config,
        documents={d.doc_id: d for d in documents},
        chunks=chunks,
        faiss_index=faiss_index,
        bm25=make_bm25(texts),
        built_at=_now(),
        chunk_hashes=hashes,
        faiss_info=faiss_info,
        dense=vectors,
        span_ptr=span_ptr,
        span_bounds=span_bounds,
        span_vectors=span_vectors,
    )
    stats = BuildStats(
        documents=len(documents),
        chunks=len(chunks),
        added=tuple(d for d in new_ids if d not in old),
        updated=tuple(d for d in new_ids if d in old and old[d] != new_ids[d]),
        removed=tuple(d for d in old if d not in new_ids),
        unchanged=tuple(d for d in new_ids if old.get(d) == new_ids[d]),
        embedded=len(todo),
        seconds=time.perf_counter() - t0,
        embed_seconds=embed_seconds,
        resumed=sum(h in resumed for h in hashes),
        chunk_counts=dict(Counter(c.doc_id for c in chunks)),
    )
    return index, stats


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- persistence


def _document_record(doc: Document) -> dict:
    rec = dataclasses.asdict(doc)
    rec["headings"] = [list(h) for h in doc.headings]
    return rec


def _document_from(rec: dict) -> Document:
    refs = tuple(Reference(**{**r, "authors": tuple(r.get("authors") or ())}) for r in rec.pop("references", []))
    headings = tuple(tuple(h) for h in rec.pop("headings", []))
    return Document(**rec, references=refs, headings=headings)


def save_index(index: Index, root: Path | str, *, stats: BuildStats | None = None) -> Path:
    """Write ``index`` under ``root`` and make it the current one, atomically.

    Returns:
        The build folder now named by ``root/CURRENT``.
    """
    import faiss

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = f"build-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    try:
        faiss.write_index(index.faiss_index, str(tmp / "index.faiss"))
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c, h in zip(index.chunks, index.chunk_hashes, strict=True):
                f.write(json.dumps({**dataclasses.asdict(c), "hash": h}, ensure_ascii=False) + "\n")
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as f:
            for d in index.documents.values():
                f.write(json.dumps(_document_record(d), ensure_ascii=False) + "\n")
        if index.chunks:
            index.bm25.save(str(tmp / "bm25"))
        for attr, stem in _ARRAYS.items():
            if getattr(index, attr) is None:
                raise ValueError(f"index has no {attr}; build it with build_index")
            np.save(tmp / f"{stem}.npy", np.ascontiguousarray(getattr(index, attr)), allow_pickle=False)
        manifest = {
            **dataclasses.asdict(index.config),
            "built_at": index.built_at,
            "faiss": index.faiss_info,
            "counts": {
                "documents": len(index.documents),
                "chunks": len(index.chunks),
                "spans": int(index.span_ptr[-1]),
                "references": sum(len(d.references) for d in index.documents.values()),
            },
            "documents": {
                d.doc_id: {"path": d.path, "title": d.title, "sha256": d.sha256} for d in index.documents.values()
            },
        }
        if stats:
            manifest["build_seconds"] = round(stats.seconds, 3)
            manifest["embedded"] = stats.embedded
            manifest["embed_seconds"] = round(stats.embed_seconds, 3)
        # Checked by `qa verify` (not at every load: hashing the vectors costs seconds at scale).
        manifest["files"] = file_digests(tmp)
        # The manifest is written last: a folder without one is never loaded.
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_dir(tmp)
        final = root / name
        os.replace(tmp, final)
        pointer = root / f".CURRENT-{uuid.uuid4().hex[:8]}"
        pointer.write_text(name + "\n", encoding="utf-8")
        os.replace(pointer, root / "CURRENT")
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index.path = final
    _remove_old_builds(root, keep=name)
    return final


# Index attribute -> file stem of the arrays saved beside the FAISS index.
_ARRAYS = {"dense": "vectors", "span_ptr": "span_ptr", "span_bounds": "span_bounds", "span_vectors": "span_vectors"}


class PartialVectors:
    """Vectors a build has embedded so far, kept in ``root/.partial/`` until the build is saved.

    A build that is killed or fails keeps them, and the next build of the same index reuses
    every one whose chunk text and spans are unchanged, so an interrupted build of a large
    corpus resumes instead of starting over. Each group is one ``.npz`` of plain arrays
    (loaded without pickle), written to a temporary name and renamed; a file that is damaged
    or from another model is ignored.
    """

    def __init__(self, root: Path | str, *, group: int = 512) -> None:
        # 512 chunks, one slice of SentenceTransformerEmbedder.encode_spans: about 20 s of
        # embedding on 2 cores, the most an interruption loses, and groups batch texts as one
        # call would. Saving a group costs milliseconds (docs/reliability.md, section 11).
        self.dir = Path(root) / ".partial"
        self.group = group

    def save(
        self,
        config: IndexConfig,
        hashes: Sequence[str],
        vectors: np.ndarray,
        bounds: Sequence[Sequence[tuple[int, int]]],
        span_vectors: np.ndarray,
    ) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        ptr = np.zeros(len(hashes) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(b) for b in bounds])
        name = f"group-{uuid.uuid4().hex}"
        tmp = self.dir / f".{name}.npz"
        np.savez(
            tmp,
            model=np.array(config.model),
            hashes=np.array(hashes, dtype="U32"),
            vectors=np.asarray(vectors, dtype=np.float32),
            span_ptr=ptr,
            span_bounds=np.array([b for bs in bounds for b in bs], dtype=np.int32).reshape(-1, 2),
            span_vectors=np.asarray(span_vectors, dtype=np.float16),
        )
        os.replace(tmp, self.dir / f"{name}.npz")

    def load(self, config: IndexConfig) -> dict[str, tuple[np.ndarray, list[tuple[int, int]], np.ndarray]]:
        """Chunk hash -> (vector, span bounds, span vectors) of the saved groups made with
        ``config``'s model and dimension."""
        out: dict[str, tuple[np.ndarray, list[tuple[int, int]], np.ndarray]] = {}
        for path in self.groups():
            try:
                with np.load(path, allow_pickle=False) as z:
                    if str(z["model"]) != config.model or z["vectors"].shape[1:] != (config.dimension,):
                        continue
                    hashes, vectors, ptr = z["hashes"], z["vectors"], z["span_ptr"]
                    bounds, span_vectors = z["span_bounds"], z["span_vectors"]
                    shapes_agree = len(hashes) == len(vectors) == len(ptr) - 1 and (
                        int(ptr[-1]) == len(bounds) == len(span_vectors)
                    )
                    if not (shapes_agree and np.isfinite(vectors).all() and np.isfinite(span_vectors).all()):
                        continue
                    for i, h in enumerate(hashes.tolist()):
                        lo, hi = int(ptr[i]), int(ptr[i + 1])
                        out[h] = (vectors[i], [tuple(b) for b in bounds[lo:hi].tolist()], span_vectors[lo:hi])
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # damaged (e.g. a disk filled up mid-write): those chunks are embedded again
        return out

    def groups(self) -> list[Path]:
        """The saved group files."""
        return sorted(self.dir.glob("group-*.npz")) if self.dir.is_dir() else []

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_builds(root: Path, keep: str) -> None:
    # Readers that opened an older build keep their open files (POSIX); the
    # folder itself is no longer needed once CURRENT points elsewhere.
    for p in root.iterdir():
        if p.is_dir() and p.name != keep and (p.name.startswith("build-") or p.name.startswith(".tmp-build-")):
            shutil.rmtree(p, ignore_errors=True)


def current_build(root: Path | str) -> Path:
    """The active build folder of an index root.

    Raises:
        IndexNotFoundError: nothing has been built there yet.
    """
    root = Path(root)
    pointer = root / "CURRENT"
    if not pointer.is_file():
        raise IndexNotFoundError(f"no index in {root}; build it with `python -m qa index`")
    try:
        build = root / pointer.read_text(encoding="utf-8").strip()
    except (UnicodeDecodeError, OSError) as exc:
        raise IndexMismatchError(
            f"{pointer} is corrupt ({exc}); rebuild the index with `python -m qa index --full`"
        ) from None
    if not (build / "manifest.json").is_file():
        raise IndexMismatchError(
            f"index in {root} is incomplete ({build.name} has no manifest); rebuild it with `python -m qa index --full`"
        )
    return build


def file_digests(build: Path) -> dict[str, str]:
    """sha256 of every file of a build folder but its manifest, by path inside the folder."""
    out = {}
    for path in sorted(p for p in build.rglob("*") if p.is_file() and p.name != "manifest.json"):
        with open(path, "rb") as f:
            out[path.relative_to(build).as_posix()] = hashlib.file_digest(f, "sha256").hexdigest()
    return out


def damaged_files(root: Path | str) -> list[str] | None:
    """Files of the current build whose content is not what was written (changed, missing or
    added since), or None for a build made before checksums were recorded."""
    build, recorded = current_build(root), read_manifest(root).get("files")
    if recorded is None:
        return None
    now = file_digests(build)
    return sorted(name for name in recorded.keys() | now.keys() if recorded.get(name) != now.get(name))


def read_manifest(root: Path | str) -> dict:
    build = current_build(root)
    try:
        return json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexMismatchError(
            f"{build / 'manifest.json'} is corrupt ({exc}); rebuild with `python -m qa index --full`"
        ) from None


def load_index(root: Path | str, *, expect: IndexConfig | None = None) -> Index:
    """Load the current index under ``root``.

    Args:
        expect: If given, the settings the caller will query with; any
            difference (model, dimension, chunking, format) is an error.

    Raises:
        IndexNotFoundError: no index has been built.
        IndexMismatchError: the index was built with other settings, or its
            files are corrupt or inconsistent.
    """
    import bm25s
    import faiss

    build = current_build(root)
    manifest = read_manifest(root)
    fix = "rebuild it with `python -m qa index --full`"
    try:
        config = IndexConfig(**{f.name: manifest[f.name] for f in dataclasses.fields(IndexConfig)})
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexMismatchError(f"{build / 'manifest.json'} lacks or has bad settings ({exc}); {fix}") from None
    if config.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {config.format_version} is not this version's format {FORMAT_VERSION}; {fix}"
        )
    if expect is not None:
        for name in ("model", "dimension", "chunk_size", "chunk_overlap"):
            have, want = getattr(config, name), getattr(expect, name)
            if have != want:
                raise IndexMismatchError(
                    f"index in {root} was built with {name}={have!r} but {want!r} is configured; "
                    f"run `python -m qa index --full` to rebuild it"
                )
    try:
        faiss_index = faiss.read_index(str(build / "index.faiss"))
        chunks, hashes = [], []
        with open(build / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                hashes.append(rec.pop("hash"))
                chunks.append(Chunk(**rec))
        with open(build / "documents.jsonl", encoding="utf-8") as f:
            documents = {d.doc_id: d for d in (_document_from(json.loads(line)) for line in f)}
        bm25 = bm25s.BM25.load(str(build / "bm25"), mmap=False) if chunks else make_bm25([])
        # Memory-mapped: a query reads only the rows of its candidates.
        arrays = {
            name: np.load(build / f"{stem}.npy", mmap_mode="r", allow_pickle=False) for name, stem in _ARRAYS.items()
        }
    except (OSError, RuntimeError, ValueError, TypeError, KeyError, EOFError) as exc:  # EOFError: an empty .npy
        raise IndexMismatchError(f"index files in {build} are corrupt or unreadable ({exc}); {fix}") from None
    if "nprobe" in manifest.get("faiss", {}):
        faiss_index.nprobe = int(manifest["faiss"]["nprobe"])
    if faiss_index.ntotal != len(chunks) or faiss_index.d != config.dimension:
        raise IndexMismatchError(
            f"index in {build} is inconsistent: {faiss_index.ntotal} vectors of dimension {faiss_index.d} "
            f"for {len(chunks)} chunks of dimension {config.dimension}; {fix}"
        )
    if int(getattr(bm25, "scores", {}).get("num_docs", len(chunks))) != len(chunks):
        raise IndexMismatchError(f"BM25 index in {build} does not match its chunks; {fix}")
    ptr, spans = arrays["span_ptr"], int(arrays["span_bounds"].shape[0])
    if (
        arrays["dense"].shape != (len(chunks), config.dimension)
        or ptr.shape != (len(chunks) + 1,)
        or (len(ptr) and int(ptr[-1]) != spans)
        or arrays["span_vectors"].shape != (spans, config.dimension)
    ):
        raise IndexMismatchError(f"vector files in {build} do not match its {len(chunks)} chunks; {fix}")
    # Every chunk must quote its document at its offsets, or citations would be wrong without a
    # word (a documents.jsonl from another build, an edited offset). A memory compare per chunk:
    # about 80 ms at 100k chunks of 1,000 characters on a 2-core VM, once per load.
    for c in chunks:
        doc = documents.get(c.doc_id)
        if doc is None or doc.text[c.start : c.end] != c.text:
            problem = "is not in documents.jsonl" if doc is None else f"does not hold chunk {c.chunk_id} at its offsets"
            raise IndexMismatchError(f"index in {build} is inconsistent: document {c.doc_id!r} {problem}; {fix}")
    return Index(
        config=config,
        documents=documents,
        chunks=chunks,
        faiss_index=faiss_index,
        bm25=bm25,
        built_at=manifest.get("built_at", ""),
        chunk_hashes=hashes,
        faiss_info=manifest.get("faiss", {}),
        path=build,
        **arrays,
    )


class IndexLock:
    """An exclusive, non-blocking lock on an index root for the length of a build."""

    def __init__(self, root: Path | str) -> None:
        from filelock import FileLock, Timeout

        Path(root).mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(Path(root) / ".lock"))
        self._timeout = Timeout
        self._root = root

    def __enter__(self) -> IndexLock:
        try:
            self._lock.acquire(timeout=0)
        except self._timeout:
            raise IndexLockedError(
                f"another reindex of {self._root} is running; wait for it to finish and try again"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()
