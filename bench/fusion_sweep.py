"""The fusion sweep (``bench/quality.py --sweep``): convex fusion over the dense weight and a weighted
reciprocal rank fusion over the weight and k, on the candidate pools ``qa.retrieval.retrieve`` fuses.
Settings are picked on dev and checked on test; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from bench.data import Question, select
from bench.prepared import prepare
from bench.quality_metrics import CRANFIELD_K, RANK_K, mean
from bench.report import fmt, table
from qa.embedding import Embedder
from qa.evaluation import ndcg_at_k, recall_at_k
from qa.retrieval import POOL, dense_search, fuse, lexical_search, retrieve

SWEEP_WEIGHTS = [round(0.05 * i, 2) for i in range(21)]
SWEEP_RRF_K = (5, 10, 20, 60, 100)


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
                return mean(
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
        best = max(keys, key=lambda key: mean(per["dev"][key] for per in results.values()))
        out[method] = best
    return out


def engine_fusion() -> tuple[str, float]:
    """The fusion method and dense weight ``retrieve`` uses by default (read, not assumed)."""
    params = inspect.signature(retrieve).parameters
    return params["fusion"].default, params["dense_weight"].default


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
