"""Fit how the learned selector combines with the feature score, on dev questions only.

For every dev question of XQuAD-en, the SQuAD 2.0 sample and spacelaw_qa (the even
half of sha256(id), the split bench/quality.py reports the other half of), the
engine's candidates are scored once: feature score, and the selector's logit for
the best ``--pool`` of them. Then, for each number of candidates the selector reads
(its cost), a logistic regression of "this candidate contains a gold answer" on
(feature score, selector logit) is fitted (unanswerable questions: every candidate
is a negative), and the abstention threshold is chosen to maximise summed answer
hit on the answerable and refusals on the unanswerable questions. It prints the
``Combination`` to put in qa/answering.py and the test-split figures it gives.

Usage: .venv/bin/python bench/tune_selector.py [--limit 400]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import prepare, select  # noqa: E402

from qa.answering import Weights, score_candidates  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import contains_gold  # noqa: E402
from qa.index import tokenize  # noqa: E402
from qa.retrieval import DEFAULT_K  # noqa: E402
from qa.selector import load_selector, selector_input  # noqa: E402

SETS = ("xquad", "squad2", "spacelaw")


@dataclass
class Row:
    """One question's candidates, best feature score first."""

    collection: str
    split: str
    answerable: bool
    score: np.ndarray  # feature score
    logit: np.ndarray  # selector logit (nan beyond the pool)
    hit: np.ndarray  # contains a gold answer


def collect(name: str, split: str, limit: int | None, pool: int, embedder, selector, weights: Weights) -> list[Row]:
    prep = prepare(name, embedder)
    engine = Engine(prep.index, embedder)
    questions = select(prep.collection.questions, split, limit)
    qvecs = embedder.encode([q.text for q in questions])
    out = []
    for q, qv in zip(questions, qvecs, strict=True):
        hits = engine.hits(q.text, qv, k=DEFAULT_K)
        cands = score_candidates(q.text, hits, engine.index.documents, question_vector=qv,
                                 encode=embedder.encode, tokenize=tokenize, idf=engine._idf,
                                 span_vectors=engine._span_vectors, references=engine.index.reference,
                                 weights=weights)
        logit = np.full(len(cands), np.nan)
        top = cands[:pool]
        if top:
            logit[:len(top)] = selector.logits(q.text, [selector_input(c.locator, c.text) for c in top])
        hit = np.array([q.answerable and contains_gold(c.text, q.gold) for c in cands], dtype=bool)
        out.append(Row(name, split, q.answerable, np.array([c.score for c in cands]), logit, hit))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Weights (w_score, w_logit, bias) by Newton's method on the log loss."""
    X = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        grad = X.T @ (p - y) + l2 * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def decide(row: Row, w: np.ndarray, m: int) -> tuple[float, bool]:
    """(confidence, hit) of the answer the combination picks among the first ``m``."""
    if len(row.score) == 0:
        return 0.0, False
    n = min(m, len(row.score))
    p = 1 / (1 + np.exp(-(w[0] * row.score[:n] + w[1] * row.logit[:n] + w[2])))
    i = int(np.argmax(p))
    return float(p[i]), bool(row.hit[i])


def rates(rows: list[Row], w: np.ndarray, m: int, t: float) -> dict[str, tuple[float, float | None]]:
    out = {}
    for name in SETS:
        part = [r for r in rows if r.collection == name]
        ans = [decide(r, w, m) for r in part if r.answerable]
        un = [decide(r, w, m) for r in part if not r.answerable]
        hit = sum(c >= t and h for c, h in ans) / max(1, len(ans))
        refused = sum(c < t for c, _ in un) / len(un) if un else None
        out[name] = (round(hit, 3), None if refused is None else round(refused, 3))
    return out


def objective(r: dict) -> float:
    return sum(h for h, _ in r.values()) + sum(a for _, a in r.values() if a is not None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="questions per collection and split")
    ap.add_argument("--pool", type=int, default=16, help="candidates the selector scores per question")
    ap.add_argument("--answer-type-weight", type=float, default=Weights().answer_type,
                    help="weight of the question-type rules (0 = an ablation without them)")
    args = ap.parse_args()
    weights = Weights(answer_type=args.answer_type_weight)
    embedder = load_embedder(None)
    selector = load_selector()
    rows = {split: [r for name in SETS
                    for r in collect(name, split, args.limit, args.pool, embedder, selector, weights)]
            for split in ("dev", "test")}
    best = None
    for m in (2, 4, 6, 8, 12, 16):
        if m > args.pool:
            continue
        xs, ys = [], []
        for r in rows["dev"]:
            n = min(m, len(r.score))
            xs += [[s, z] for s, z in zip(r.score[:n], r.logit[:n], strict=True)]
            ys += list(r.hit[:n].astype(float))
        w = fit_logistic(np.array(xs), np.array(ys))
        mine = None
        for t in np.arange(0.05, 0.96, 0.01):
            r = rates(rows["dev"], w, m, float(t))
            if mine is None or objective(r) > mine[0] + 1e-9:
                mine = (objective(r), m, float(t), w, r)
        # A bigger pool must earn more than 0.01 of summed rate: each candidate costs time.
        if best is None or mine[0] > best[0] + 0.01:
            best = mine
        print(f"rerank {m:2d}: w={np.round(w, 3).tolist()} dev objective {mine[0]:.3f} at t={mine[2]:.2f}: {mine[4]}",
              flush=True)
    _, m, t, w, r = best
    print(json.dumps({"rerank": m, "threshold": round(t, 2), "feature": round(float(w[0]), 3),
                      "selector": round(float(w[1]), 3), "bias": round(float(w[2]), 3)}))
    print("dev :", r)
    print("test:", rates(rows["test"], w, m, t))
    # Without the selector, for comparison: feature score alone, at its own best dev threshold.
    w0 = np.array([1.0, 0.0, 0.0])
    sig = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731 - the feature-only decision on the same scale
    t0 = max(np.arange(0.05, 0.96, 0.01), key=lambda t: objective(rates(rows["dev"], w0, 1, float(sig(t)))))
    print(f"features only (t={t0:.2f}): dev", rates(rows["dev"], w0, 1, float(sig(t0))),
          "test", rates(rows["test"], w0, 1, float(sig(t0))))


if __name__ == "__main__":
    main()
