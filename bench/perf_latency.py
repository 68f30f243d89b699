"""(b) Warm query latency at growing index sizes: ``Engine.ask`` against encoding the question plus one
exact FAISS search, and where its time goes.

The indexes beyond the real synthetic build are made in memory with qa's own ``make_faiss`` and
``make_bm25`` over more synthetic documents, with perturbed copies of real vectors. Part of
bench/perf.py; figures in docs/performance.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from bench.report import ms
from bench.synthetic import SEED, synthetic_document
from bench.timing import log, med, pct, proc_status_mb
from qa.chunking import chunk_document, embedding_text
from qa.retrieval import POOL  # candidates per retriever in qa.retrieval; the floor searches as many

TARGET_100K_P50, TARGET_100K_P95, TARGET_1M_P50 = 50.0, 150.0, 100.0


class CountingEmbedder:
    """Delegates to the real embedder and records what it encoded and what that cost."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.texts = 0
        self.spans = 0
        self.seconds = 0.0

    def encode(self, texts, *, progress=None):
        t0 = time.perf_counter()
        out = self.inner.encode(texts, progress=progress)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.texts += len(texts)
        return out

    def encode_spans(self, texts, spans, *, progress=None):
        t0 = time.perf_counter()
        out = self.inner.encode_spans(texts, spans, progress=progress)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.texts += len(texts)
        self.spans += sum(len(s) for s in spans)
        return out


def synthetic_vectors(base: np.ndarray, n: int, *, seed: int = SEED, block: int = 100_000) -> np.ndarray:
    """``n`` unit vectors: ``base`` itself, then perturbed, renormalised copies of its rows.

    Row ``i >= len(base)`` is ``normalize(base[i % m] + w * base[j] + 0.05 * g)`` with ``j`` a
    random other real row, ``w ~ U(0.2, 0.6)`` and ``g`` isotropic unit-variance noise per
    dimension scaled by 1/sqrt(d): each copy keeps its source's topic, mixed with a second
    real topic, so the set stays on the model's manifold instead of near-duplicates or
    random directions.
    """
    m, d = base.shape
    out = np.empty((n, d), dtype=np.float32)
    out[: min(m, n)] = base[:n]
    rng = np.random.default_rng(seed)
    for lo in range(m, n, block):
        hi = min(n, lo + block)
        rows = np.arange(lo, hi) % m
        other = rng.integers(0, m, hi - lo)
        w = rng.uniform(0.2, 0.6, (hi - lo, 1)).astype(np.float32)
        x = base[rows] + w * base[other] + (0.05 / math.sqrt(d)) * rng.standard_normal((hi - lo, d), np.float32)
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def scaled_index(n: int, base, base_vectors: np.ndarray, pool: Sequence[str], *, first_doc: int):
    """An in-memory Index of ``n`` chunks built with qa's own make_faiss / make_bm25.

    The first ``len(base.chunks)`` chunks are the real synthetic-corpus build (real
    vectors and span vectors). Beyond it, more synthetic documents are generated and
    chunked (distinct texts, real BM25, real candidate spans); their vectors come from
    ``synthetic_vectors`` and their span vectors from ``synthetic_spans``.
    """
    from qa.index import Index, make_bm25, make_faiss

    timings = {}
    t0 = time.perf_counter()
    chunks = list(base.chunks[:n])
    documents = {c.doc_id: base.documents[c.doc_id] for c in chunks}
    i = first_doc
    while len(chunks) < n:
        doc = synthetic_document(i, pool)
        documents[doc.doc_id] = doc
        chunks.extend(chunk_document(doc)[: n - len(chunks)])
        i += 1
    timings["generate+chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = synthetic_vectors(base_vectors, n)
    timings["vectors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    span_ptr, span_bounds, span_vectors = synthetic_spans(chunks, vectors, base, base_vectors)
    timings["spans + span vectors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    faiss_index, info = make_faiss(vectors)
    timings["faiss (auto)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bm25 = make_bm25([embedding_text(c) for c in chunks])
    timings["bm25"] = time.perf_counter() - t0
    index = Index(
        config=base.config,
        documents=documents,
        chunks=chunks,
        faiss_index=faiss_index,
        bm25=bm25,
        built_at="bench",
        chunk_hashes=[""] * n,
        faiss_info=info,
        dense=vectors,
        span_ptr=span_ptr,
        span_bounds=span_bounds,
        span_vectors=span_vectors,
    )
    return index, vectors, timings


def synthetic_spans(chunks, vectors: np.ndarray, base, base_vectors: np.ndarray, *, block: int = 20_000):
    """Span arrays (``span_ptr``, ``span_bounds``, float16 ``span_vectors``) for ``chunks``.

    Chunks of the real build (the first ``m = len(base.chunks)``) get their rows of the
    base index copied. A synthetic chunk ``i`` has its own candidate spans
    (``qa.sentences.candidate_spans``, as qa would store them); the vector of its ``t``-th
    span is the ``t mod k``-th of the ``k`` real span vectors of chunk ``i mod m`` (the real
    chunk its vector was derived from in ``synthetic_vectors``), shifted by the same
    perturbation, ``v_i - base_i``, and renormalised: spans keep their real spread around
    a chunk and follow their chunk's perturbed topic. Built in blocks of ``block`` chunks,
    so the float32 temporaries stay small next to the float16 result (~2.3 GB at 1M).
    """
    from qa.sentences import candidate_spans

    n, m = len(chunks), len(base.chunks)
    real = min(n, m)
    base_ptr = np.asarray(base.span_ptr, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    counts[:real] = np.diff(base_ptr[: real + 1])
    extra = []  # bounds of the synthetic chunks, relative to their chunk
    for i in range(real, n):
        c = chunks[i]
        spans = candidate_spans(c)
        counts[i] = len(spans)
        extra.extend((s - c.start, e - c.start) for s, e in spans)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    bounds = np.empty((int(ptr[-1]), 2), dtype=np.int32)
    bounds[: ptr[real]] = base.span_bounds[: base_ptr[real]]
    bounds[ptr[real] :] = np.asarray(extra, dtype=np.int32).reshape(-1, 2)
    out = np.empty((int(ptr[-1]), vectors.shape[1]), dtype=np.float16)
    out[: ptr[real]] = base.span_vectors[: base_ptr[real]]
    base_counts = np.diff(base_ptr)
    for lo in range(real, n, block):
        hi = min(n, lo + block)
        k = counts[lo:hi]
        rows = np.repeat(np.arange(lo, hi), k)  # chunk row of each span in the block
        t = np.arange(int(ptr[lo]), int(ptr[hi])) - np.repeat(ptr[lo:hi], k)  # span number within its chunk
        src = rows % m
        src_k = base_counts[src]
        has = src_k > 0  # a real chunk without spans (none so far) lends its own vector instead
        x = base_vectors[src]
        x[has] = base.span_vectors[base_ptr[src[has]] + t[has] % src_k[has]]
        x += vectors[rows] - base_vectors[src]
        out[ptr[lo] : ptr[hi]] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return ptr, bounds, out


def exact_index(vectors: np.ndarray):
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat


def bench_queries(index, vectors: np.ndarray, embedder, qs: Sequence[str], *, flat=None) -> dict:
    """Per question, interleaved: the floor, ``ask`` on a fresh engine, then its parts alone.

    The parts: ``Engine.hits`` (retrieval as ``ask`` runs it: dense + BM25 + fusion), and
    dense and BM25 search on their own. Answer extraction is, per question, ``ask`` minus
    its encoding minus retrieval. The candidates of each question (``candidates_from`` of
    the hits ``ask`` used) are counted with how many of them have a stored span vector.
    """
    from qa.answering import candidates_from
    from qa.engine import Engine
    from qa.retrieval import dense_search, lexical_search
    from qa.selector import load_selector

    flat = flat if flat is not None else exact_index(vectors)
    counting = CountingEmbedder(embedder)
    selector = load_selector()  # the product's answerer reads the top candidates with it
    for q in qs[:5]:  # warm-up: first calls allocate and fill CPU caches
        Engine(index, counting, selector=selector).ask(q)
        flat.search(embedder.encode([q]), POOL)
    keys = ("floor", "floor_encode", "cold", "cold_encode", "cold_texts", "retrieval", "answer", "dense", "lexical")
    rec: dict[str, list[float]] = {k: [] for k in (*keys, "candidates", "stored", "abstained")}
    for q in qs:
        t0 = time.perf_counter()
        qv = embedder.encode([q])
        t1 = time.perf_counter()
        flat.search(qv, POOL)
        t2 = time.perf_counter()
        rec["floor"].append(t2 - t0)
        rec["floor_encode"].append(t1 - t0)
        engine = Engine(index, counting, selector=selector)  # fresh: nothing cached from earlier questions
        counting.reset()
        t0 = time.perf_counter()
        answer = engine.ask(q)
        rec["cold"].append(time.perf_counter() - t0)
        rec["cold_encode"].append(counting.seconds)
        rec["cold_texts"].append(counting.texts - 1)  # texts encoded besides the question
        rec["abstained"].append(float(answer.abstained))
        t0 = time.perf_counter()
        hits = engine.hits(q, qv[0])
        rec["retrieval"].append(time.perf_counter() - t0)
        rec["answer"].append(rec["cold"][-1] - rec["cold_encode"][-1] - rec["retrieval"][-1])
        t0 = time.perf_counter()
        dense_search(index, qv[0], POOL)
        t1 = time.perf_counter()
        lexical_search(index, q, POOL)
        rec["dense"].append(t1 - t0)
        rec["lexical"].append(time.perf_counter() - t1)
        stored = [index.spans(h.row) for h in hits]
        cands = candidates_from(hits)
        rec["candidates"].append(len(cands))
        rec["stored"].append(sum((c.start, c.end) in stored[c.hit_rank] for c in cands))
    return rec


def latency_rows(results: dict[int, dict]) -> list[list[object]]:
    rows = []
    for n, r in sorted(results.items()):
        rows.append(
            [
                f"{n:,}",
                r["faiss"],
                ms(med(r["floor"])),
                ms(pct(r["floor"], 95)),
                ms(med(r["cold"])),
                ms(pct(r["cold"], 95)),
                f"{med(r['cold']) / med(r['floor']):.2f}x",
                ms(med(r["floor_encode"])),
                ms(med(r["cold_encode"])),
                ms(med(r["retrieval"])),
                ms(med(r["dense"])),
                ms(med(r["lexical"])),
                ms(med(r["answer"])),
                f"{med(r['candidates']):.0f}",
                f"{sum(r['stored']) / max(1, sum(r['candidates'])):.1%}",
                f"{sum(r['cold_texts']):.0f}",
            ]
        )
    return rows


LATENCY_HEADERS = [
    "chunks",
    "FAISS (auto)",
    "floor p50",
    "floor p95",
    "ask p50",
    "ask p95",
    "ask/floor p50",
    "floor: encode p50",
    "ask: encoding p50",
    "ask: retrieval p50",
    "dense search p50",
    "BM25 p50",
    "ask: answer extraction p50",
    "candidates per question p50",
    "candidates with a stored vector",
    "texts encoded besides the questions (all questions)",
]

LATENCY_COLUMNS = (
    "Columns: times in ms, per question, medians (p50) and 95th percentiles (p95) over the questions. "
    "'floor' is encoding the question plus one exact `IndexFlatIP` search for the top "
    f"{POOL}; 'ask' is `Engine.ask` on a fresh `Engine`, and 'ask: encoding' every encode call it made "
    "(the question, plus any candidate without a stored vector). 'ask: retrieval' is `Engine.hits` (dense and "
    "BM25 search, fusion) timed alone right after, and 'dense search' and 'BM25' the two searches alone. "
    "'ask: answer extraction' is, per question, ask minus its encoding minus retrieval: candidate spans, "
    "looking up their stored vectors, tokenizing them, scoring, citations. Candidates are the spans "
    "`qa.answering.candidates_from` takes from the hits `ask` used; 'with a stored vector' is the share "
    "found in the index's span arrays (the rest would be encoded at query time, at most "
    "`qa.answering.MAX_EMBEDDED` per question), and the last column counts the texts `ask` did encode "
    "besides the questions, over all of them."
)


def where_time_goes(results: dict[int, dict]) -> str:
    """A sentence per index size on what ``ask`` spends its median time on, from the measurements."""
    lines = []
    for n, r in sorted(results.items()):
        ask, floor = med(r["cold"]), med(r["floor"])
        dense, bm25 = med(r["dense"]), med(r["lexical"])
        parts = {
            "question encoding" if sum(r["cold_texts"]) == 0 else "encoding (question and candidates)": med(
                r["cold_encode"]
            ),
            "dense search": dense,
            "BM25 search": bm25,
            "fusion (retrieval minus the two searches)": max(0.0, med(r["retrieval"]) - dense - bm25),
            "answer extraction": med(r["answer"]),
        }
        top = max(parts, key=parts.__getitem__)
        lines.append(
            f"- {n:,} chunks ({r['faiss']}): ask p50 {ms(ask)} ms, {ask / floor:.2f}x the floor ({ms(floor)} ms; "
            f"ask minus floor {ms(ask - floor)} ms"
            + ("; ask searches qa's approximate index, the floor an exact one" if r["faiss"] != "IndexFlatIP" else "")
            + "). "
            + ", ".join(f"{k} {ms(v)} ms ({v / ask:.0%})" for k, v in parts.items())
            + f". Largest part: {top}. Texts encoded besides the questions: {sum(r['cold_texts']):.0f} "
            f"(of {sum(r['candidates']):.0f} candidates, {sum(r['stored']) / max(1, sum(r['candidates'])):.1%} "
            "with a stored vector)."
        )
    return "\n".join(lines)


def measure_size(
    n: int, base, base_vectors: np.ndarray, pool: Sequence[str], n_docs: int, embedder, qs: Sequence[str], keep: bool
) -> tuple[dict, dict, tuple | None]:
    """Build the in-memory index of ``n`` chunks and run the latency loop on it."""
    log(f"index of {n:,} chunks")
    rss0 = proc_status_mb("VmRSS")
    index, vectors, timings = scaled_index(n, base, base_vectors, pool, first_doc=n_docs)
    rss1 = proc_status_mb("VmRSS")
    log(f"  built in {sum(timings.values()):.0f} s ({', '.join(f'{k} {v:.1f}' for k, v in timings.items())})")
    log(f"latency at {n:,} chunks, {len(qs)} questions")
    flat = index.faiss_index if index.faiss_info.get("type") == "IndexFlatIP" else exact_index(vectors)
    rec = bench_queries(index, vectors, embedder, qs, flat=flat)
    rec["faiss"] = index.faiss_info.get("type", "?")
    note = {
        "timings": timings,
        "rss_delta": rss1 - rss0,
        "rss": proc_status_mb("VmRSS"),
        "hwm": proc_status_mb("VmHWM"),
    }
    return rec, note, ((index, vectors, flat, timings) if keep else None)


def summarize(results: dict[int, dict]) -> dict[int, dict[str, tuple[float, float]]]:
    """p50 and p95 in ms of ask and floor per size, as the plot needs them."""
    return {n: {k: (med(r[k]) * 1000, pct(r[k], 95) * 1000) for k in ("cold", "floor")} for n, r in results.items()}
