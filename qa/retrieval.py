"""Dense, lexical and hybrid retrieval over an Index.

Retrieval takes a query vector, not a model, so it can be tested with
hand-made vectors. Fusion is a pure function over (row, score) lists.
How each mode and the fusion score on the public sets: docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from qa.index import Index, tokenize_query
from qa.types import Hit

Mode = Literal["hybrid", "dense", "lexical"]
Fusion = Literal["convex", "rrf"]
DEFAULT_K = 10
MAX_K = 100
# Candidates per retriever before fusion: enough that a passage ranked well by
# one retriever but badly by the other is still seen by the fusion.
POOL = 100
# Weight of the dense score in convex fusion, chosen on the dev sets (docs/benchmarks.md).
DENSE_WEIGHT = 0.5
RRF_K = 60


def dense_search(index: Index, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Top ``n`` rows by cosine similarity (inner product of unit vectors)."""
    n = min(n, len(index.chunks))
    if n <= 0:
        return []
    scores, rows = index.faiss_index.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), n)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def lexical_search(index: Index, question: str, n: int) -> list[tuple[int, float]]:
    """Top ``n`` rows by BM25; rows that share no term with the question are left out."""
    n = min(n, len(index.chunks))
    tokens = tokenize_query(question)
    if n <= 0 or not tokens:
        return []
    scores = index.bm25.get_scores(tokens)
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(r), float(scores[r])) for r in top if scores[r] > 0]


def fuse(
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    *,
    method: Fusion = "convex",
    dense_weight: float = DENSE_WEIGHT,
) -> list[tuple[int, float]]:
    """Combine two ranked lists into one, best first.

    ``convex``: ``w * minmax(cosine) + (1 - w) * minmax(bm25)``, each scaled over
    its own candidate pool; a row missing from one pool gets 0 from it.
    ``rrf``: reciprocal rank fusion, ``sum 1 / (60 + rank)``.
    """
    scores: dict[int, float] = {}
    if method == "rrf":
        for ranked in (dense, lexical):
            for rank, (row, _) in enumerate(ranked, 1):
                scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank)
    else:
        # Both scores are min-max scaled over their pools: cosines of MiniLM bunch in
        # [0.2, 0.7] and BM25 is unbounded, so raw values would let one side dominate.
        dense_n = _minmax(dense)
        lex_n = _minmax(lexical)
        for row, s in dense_n.items():
            scores[row] = dense_weight * s
        for row, s in lex_n.items():
            scores[row] = scores.get(row, 0.0) + (1 - dense_weight) * s
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _minmax(ranked: list[tuple[int, float]]) -> dict[int, float]:
    if not ranked:
        return {}
    values = [s for _, s in ranked]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return {r: 1.0 for r, _ in ranked}
    return {r: (s - lo) / (hi - lo) for r, s in ranked}


def retrieve(
    index: Index,
    question: str,
    query_vector: np.ndarray | None,
    *,
    k: int = DEFAULT_K,
    mode: Mode = "hybrid",
    fusion: Fusion = "convex",
    dense_weight: float = DENSE_WEIGHT,
    keep: Callable[[int], bool] | None = None,
) -> list[Hit]:
    """The ``k`` best chunks for a question.

    Args:
        query_vector: The embedded question (unused in ``lexical`` mode).
        keep: Optional filter on chunk rows (e.g. one document only).
    """
    pool = max(POOL, k)
    if keep is not None:
        pool = len(index.chunks)  # filters are rare and corpora small enough to scan
    dense = dense_search(index, query_vector, pool) if mode != "lexical" else []
    lexical = lexical_search(index, question, pool) if mode != "dense" else []
    if keep is not None:
        dense = [(r, s) for r, s in dense if keep(r)]
        lexical = [(r, s) for r, s in lexical if keep(r)]
    if mode == "dense":
        fused = dense
    elif mode == "lexical":
        fused = lexical
    else:
        fused = fuse(dense, lexical, method=fusion, dense_weight=dense_weight)
    dense_rank = {r: i for i, (r, _) in enumerate(dense, 1)}
    lex_rank = {r: i for i, (r, _) in enumerate(lexical, 1)}
    return [Hit(index.chunks[r], float(s), dense_rank.get(r, 0), lex_rank.get(r, 0), r) for r, s in fused[:k]]
