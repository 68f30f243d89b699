"""The test collections indexed with the project's pipeline, once per process, with every embedding cached.

``prepare`` indexes a collection with ``qa.index.build_index`` (default chunking, the bundled model);
chunk, span, sentence and question vectors are cached under ``bench/.cache/embeddings/`` as ``.npy``
files keyed by a hash of the model and the texts, so a re-run only pays for what changed. Used by
bench/quality.py and the tuning scripts; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import CACHE
from bench.data import Collection, load_collection
from qa.answering import split_sentences
from qa.embedding import Embedder, load_embedder
from qa.index import BuildStats, Index, build_index


class CachedEmbedder:
    """Wraps an embedder; a whole ``encode`` call is stored as one ``.npy`` keyed by the
    model and a hash of the texts, so an unchanged collection is never embedded twice."""

    def __init__(self, inner: Embedder, folder: Path = CACHE / "embeddings") -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.folder = folder

    def _key(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]] | None = None) -> str:
        h = hashlib.sha256(f"{self.name}\x1f{self.dimension}".encode())
        for t in texts:
            h.update(b"\x1e" + t.encode("utf-8"))
        if spans is not None:
            h.update(b"\x1dspans" + json.dumps([list(map(list, s)) for s in spans]).encode())
        return h.hexdigest()[:40]

    def _load(self, path: Path, rows: int) -> np.ndarray | None:
        if path.is_file():
            vecs = np.load(path, allow_pickle=False)
            if vecs.shape == (rows, self.dimension):
                return vecs
        return None

    def _save(self, path: Path, vecs: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, vecs, allow_pickle=False)
        os.replace(tmp, path)

    def encode(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        path = self.folder / f"{self._key(texts)}.npy"
        vecs = self._load(path, len(texts))
        if vecs is None:
            vecs = np.asarray(self.inner.encode(list(texts), progress=progress), dtype=np.float32)
            self._save(path, vecs)
        return vecs

    def encode_spans(self, texts, spans, *, progress=None) -> tuple[np.ndarray, np.ndarray]:
        key = self._key(texts, spans)
        paths = self.folder / f"{key}.npy", self.folder / f"{key}.spans.npy"
        vecs, span_vecs = self._load(paths[0], len(texts)), self._load(paths[1], sum(len(s) for s in spans))
        if vecs is None or span_vecs is None:
            vecs, span_vecs = self.inner.encode_spans(list(texts), spans, progress=progress)
            self._save(paths[0], np.asarray(vecs, dtype=np.float32))
            self._save(paths[1], np.asarray(span_vecs, dtype=np.float32))
        return vecs, span_vecs


class SeededEmbedder:
    """The real embedder, except for texts whose vectors are handed in (questions the benchmark
    already embedded and timed, or precomputed sentences): those are looked up, not re-encoded."""

    def __init__(self, inner: Embedder, seeded: dict[str, np.ndarray]) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.seeded = seeded

    def encode(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.seeded]
        if not missing:
            return np.stack([self.seeded[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        if len(missing) < len(texts):  # some seeded, or repeated texts
            found = dict(zip(missing, self.inner.encode(missing, progress=progress), strict=True))
            return np.stack([self.seeded.get(t, found.get(t)) for t in texts])
        return self.inner.encode(texts, progress=progress)


def normalize_question(text: str) -> str:
    """The form ``Engine.ask`` embeds (``qa.engine.validate_question`` collapses whitespace)."""
    return " ".join(text.split())


@dataclass
class Prepared:
    """A collection indexed with the project's pipeline."""

    collection: Collection
    index: Index
    stats: BuildStats
    seconds: float


_PREPARED: dict[str, Prepared] = {}


def prepare(name: str, embedder: Embedder | None = None) -> Prepared:
    """Load and index a collection once per process (embeddings come from the disk cache)."""
    if name not in _PREPARED:
        embedder = embedder or load_embedder(None)
        collection = load_collection(name)
        t0 = time.perf_counter()
        index, stats = build_index(collection.documents, CachedEmbedder(embedder))
        _PREPARED[name] = Prepared(collection, index, stats, time.perf_counter() - t0)
    return _PREPARED[name]


def sentence_vectors(index: Index, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of every sentence of every chunk (cached on disk), for the naive answerer."""
    texts = list(
        dict.fromkeys(
            c.text[s - c.start : e - c.start] for c in index.chunks for s, e in split_sentences(c.text, c.start)
        )
    )
    vecs = CachedEmbedder(embedder).encode(texts)
    return dict(zip(texts, vecs, strict=True))
