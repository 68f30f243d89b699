"""(c) At 1M chunks: qa's automatic approximate index and alternatives that fit 1 GB against exact search,
BM25 latency and memory. Part of bench/perf.py (``--full-scale``, or ``--full-scale --scale-only`` on the
work folder of an earlier run); figures in docs/performance.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench import ROOT
from bench.perf_build import QUICK_SYNTHETIC_CHUNKS, SYNTHETIC_CHUNKS
from bench.perf_latency import (
    LATENCY_HEADERS,
    POOL,
    TARGET_1M_P50,
    latency_rows,
    measure_size,
    summarize,
    where_time_goes,
)
from bench.perf_report import PLOT, REPORT, parse_report_cold, parse_report_latency, plot, update_report
from bench.report import ms, run_header, table, verdict
from bench.synthetic import SEED, questions, sentence_pool, synthetic_docs_for, synthetic_name
from bench.timing import log, med, pct, proc_status_mb

TARGET_RECALL, TARGET_VECTOR_GB = 0.95, 1.0


def evaluate_faiss(
    index, queries: np.ndarray, truth: np.ndarray, set_param: Callable[[int], None], params: Sequence[int]
) -> list[dict]:
    rows = []
    for p in params:
        set_param(p)
        index.search(queries[:5], POOL)
        lat, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), POOL)
            lat.append(time.perf_counter() - t0)
            found.append(ids[0])
        found_arr = np.stack(found)
        r10 = np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found_arr, truth, strict=True)])
        r100 = np.mean([len(set(f) & set(t)) / POOL for f, t in zip(found_arr, truth, strict=True)])
        rows.append(
            {"param": p, "recall10": float(r10), "recall100": float(r100), "p50": med(lat), "p95": pct(lat, 95)}
        )
    return rows


def index_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def bench_approximate(
    vectors: np.ndarray, queries: np.ndarray, auto_index, auto_info: dict, auto_seconds: float, truth: np.ndarray
) -> list[dict]:
    """The automatic index (as built by qa) and alternatives that fit in 1 GB."""
    import faiss

    n, d = vectors.shape
    out = []

    def add(label: str, index, seconds: float, knob: str, setter, params) -> None:
        log(f"evaluating {label}")
        size = index_bytes(index)
        for row in evaluate_faiss(index, queries, truth, setter, params):
            out.append({"index": label, "build_s": seconds, "memory_mb": size / 1e6, "knob": knob, **row})
            log(
                f"  build {seconds:.0f} s, {size / 1e6:.0f} MB, {knob}={row['param']}: "
                f"recall@10 {row['recall10']:.3f}, "
                f"recall@100 {row['recall100']:.3f}, p50 {ms(row['p50'])} ms, p95 {ms(row['p95'])} ms"
            )

    label = (
        f"{auto_info.get('type')} (qa auto: "
        + ", ".join(f"{k}={v}" for k, v in auto_info.items() if k not in ("type", "threshold"))
        + ")"
    )
    if "nprobe" in auto_info:
        nprobe = int(auto_info["nprobe"])
        add(
            label,
            auto_index,
            auto_seconds,
            "nprobe",
            lambda p: setattr(auto_index, "nprobe", p),
            (max(1, nprobe // 2), nprobe, nprobe * 2),
        )
        auto_index.nprobe = nprobe
    else:
        add(label, auto_index, auto_seconds, "-", lambda p: None, (0,))

    log("building IndexHNSWSQ (8-bit scalar quantizer, M=32, efConstruction=80)")
    t0 = time.perf_counter()
    hsq = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
    hsq.hnsw.efConstruction = 80
    hsq.train(vectors[np.random.default_rng(SEED).choice(n, min(n, 100_000), replace=False)])
    hsq.add(vectors)
    add(
        "IndexHNSWSQ QT_8bit M=32 efConstruction=80",
        hsq,
        time.perf_counter() - t0,
        "efSearch",
        lambda p, h=hsq: setattr(h.hnsw, "efSearch", p),
        (128, 256, 512),
    )
    del hsq

    nlist = 4096 if n >= 500_000 else max(64, int(4 * math.sqrt(n)))
    for spec in (f"IVF{nlist},SQ8",):
        log(f"building {spec}")
        t0 = time.perf_counter()
        ivf = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors[np.random.default_rng(SEED).choice(n, min(n, 40 * nlist), replace=False)])
        ivf.add(vectors)
        seconds = time.perf_counter() - t0
        ivf_ = faiss.extract_index_ivf(ivf)
        add(
            f"{spec} (trained on {min(n, 40 * nlist):,} vectors)",
            ivf,
            seconds,
            "nprobe",
            lambda p, ivf_=ivf_: setattr(ivf_, "nprobe", p),
            (16, 32, 64, 128),
        )
        del ivf
    return out


def scale_section(
    big: tuple,
    results: dict[int, dict],
    scale_notes: dict[int, dict],
    base,
    qs: Sequence[str],
    embedder,
    info: dict[str, str],
    t_start: float,
    command: str,
    emit: Callable[[str], None],
) -> str:
    """(c) at the largest size: approximate indexes vs exact, BM25, memory; the Markdown section."""
    index, vectors, flat, timings = big
    n = len(index.chunks)
    log(f"exact top-{POOL} of {len(qs)} questions over {n:,} vectors")
    qvecs = embedder.encode(qs)
    _, truth = flat.search(qvecs, POOL)
    del flat
    approx = bench_approximate(vectors, qvecs, index.faiss_index, index.faiss_info, timings["faiss (auto)"], truth)
    arow = [
        [
            a["index"],
            f"{a['build_s']:.0f}",
            f"{a['memory_mb']:.0f}",
            f"{a['knob']}={a['param']}",
            f"{a['recall10']:.3f}",
            f"{a['recall100']:.3f}",
            ms(a["p50"]),
            ms(a["p95"]),
            "yes" if a["recall10"] >= TARGET_RECALL and a["memory_mb"] <= TARGET_VECTOR_GB * 1000 else "no",
        ]
        for a in approx
    ]
    approx_table = table(
        [
            "index",
            "build s",
            "memory MB",
            "search param",
            "recall@10",
            "recall@100",
            "search p50 ms",
            "search p95 ms",
            "meets recall and 1 GB",
        ],
        arow,
    )
    emit(approx_table)
    bm = index.bm25.scores
    bm_mb = sum(np.asarray(bm[k]).nbytes for k in ("data", "indices", "indptr")) / 1e6
    r = results[n]
    m = len(base.chunks)
    real = vectors[:m]
    # nearest other real vector of a real one; nearest real vector of a synthetic one
    nn_real = float(np.median(np.sort(real[:2000] @ real.T, axis=1)[:, -2]))
    nn_synth = float(np.median((vectors[max(m, n // 2) : max(m, n // 2) + 2000] @ real.T).max(axis=1)))
    mem_rows = [
        ["float32 vectors held by the bench (n x 384 x 4 B)", f"{vectors.nbytes / 1e6:.0f}"],
        [
            f"span vectors, float16 ({len(index.span_vectors):,} spans x 384 x 2 B) + span_bounds + span_ptr",
            f"{(index.span_vectors.nbytes + index.span_bounds.nbytes + index.span_ptr.nbytes) / 1e6:.0f}",
        ],
        [
            f"FAISS index as built by qa ({index.faiss_info.get('type')})",
            f"{index_bytes(index.faiss_index) / 1e6:.0f}",
        ],
        ["BM25 sparse matrix (data + indices + indptr)", f"{bm_mb:.0f}"],
        ["process RSS growth while building the 1M in-memory index", f"{scale_notes[n]['rss_delta']:.0f}"],
        ["process RSS after the 1M latency run", f"{scale_notes[n]['rss']:.0f}"],
        ["process peak RSS (VmHWM) during the whole bench so far", f"{proc_status_mb('VmHWM'):.0f}"],
    ]
    approx_md = "\n\n".join(
        [
            run_header("Scale: 1M chunks", info, command, time.perf_counter() - t_start),
            f"How the 1M index is made: the {len(base.chunks):,} chunks of the synthetic corpus build "
            f"keep their real vectors; {n - len(base.chunks):,} more chunks come from further synthetic "
            "documents (distinct texts of shuffled real sentences, chunked and BM25-indexed by qa), "
            "and their vectors are "
            "perturbed copies of the real ones: `normalize(v_i + w * v_j + 0.05 * g / sqrt(d))` with "
            "`w ~ U(0.2, 0.6)`, `v_j` another real vector and `g` Gaussian noise. Median nearest-neighbour "
            f"cosine among real vectors {nn_real:.3f}, of synthetic ones to the real set {nn_synth:.3f}. "
            "Their candidate spans are their own (`qa.sentences.candidate_spans`), and span t of synthetic "
            "chunk i gets the (t mod k)-th of the k real span vectors of the chunk its vector came from, shifted "
            "by the same perturbation (`v_i - v_src`) and renormalised, stored as float16 "
            f"({len(index.span_vectors) / n:.2f} spans per chunk). "
            f"Queries: the {len(qs)} benchmark questions encoded by the model; ground truth: exact "
            f"IndexFlatIP top-{POOL}. Build of the in-memory index: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
            + ".",
            "### Approximate index vs exact search (one question at a time, k = 100 as the engine asks)",
            approx_table,
            f"BM25 at {n:,} chunks (`qa.retrieval.lexical_search`, top {POOL}): "
            f"p50 {ms(med(r['lexical']))} ms, "
            f"p95 {ms(pct(r['lexical'], 95))} ms. Engine.ask at {n:,}: p50 {ms(med(r['cold']))} ms, "
            f"p95 {ms(pct(r['cold'], 95))} ms (target p50 <= {TARGET_1M_P50:.0f} ms: "
            f"{verdict(med(r['cold']) <= TARGET_1M_P50 / 1000)}).",
            f"Latency at {n:,} chunks (columns as in the main latency table):",
            table(LATENCY_HEADERS, latency_rows({n: r})),
            "Where the time of `ask` goes:\n\n" + where_time_goes({n: r}),
            "### Memory at 1M chunks",
            table(["what", "MB"], mem_rows),
        ]
    )

    return approx_md


def scale_only(args, info: dict[str, str], t_start: float) -> int:
    """Only the 1M part, on the synthetic index kept by an earlier run with ``--work DIR``."""
    from qa.embedding import SentenceTransformerEmbedder
    from qa.index import load_index

    quick = args.quick
    n = args.scale_size or (200_000 if quick else 1_000_000)
    pool = sentence_pool()
    n_docs = synthetic_docs_for(QUICK_SYNTHETIC_CHUNKS if quick else SYNTHETIC_CHUNKS, pool)
    qs = questions(20 if quick else args.questions)
    embedder = SentenceTransformerEmbedder()
    base = load_index(args.work / "index-synthetic")
    if sorted(base.documents) != [synthetic_name(i) for i in range(n_docs)]:
        raise SystemExit(
            f"{args.work / 'index-synthetic'} has {len(base.documents)} documents, not the {n_docs} synthetic "
            "ones this version generates; rerun the default bench with the same --work and --quick settings"
        )
    base_vectors = base.vectors()
    results, notes = {}, {}
    results[n], notes[n], big = measure_size(n, base, base_vectors, pool, n_docs, embedder, qs, True)
    command = "python bench/perf.py --full-scale --scale-only" + (" --quick" if quick else "")
    section = scale_section(big, results, notes, base, qs, embedder, info, t_start, command, print)
    print(section, flush=True)
    if not args.no_report:
        old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        lat = {k: v for k, v in parse_report_latency(old).items() if k != n}
        lat.update(summarize(results))
        plot(lat, parse_report_cold(old))
        update_report({"scale-1m": section})
        log(f"wrote {REPORT.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    log(f"done in {(time.perf_counter() - t_start) / 60:.1f} min")
    return 0
