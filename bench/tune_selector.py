"""Fit how the learned selector combines with the candidate features, on dev questions only.

For every dev question of XQuAD-en, the SQuAD 2.0 sample and spacelaw_qa (the even
half of sha256(id), the split bench/quality.py reports the other half of) and of
tests/data/eval.jsonl (the project's dev set, the only one with reference entries), the
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

from quality import Question, prepare, select  # noqa: E402

from qa.answering import Weights, score_candidates  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import contains_gold, load_questions  # noqa: E402
from qa.index import load_index, tokenize  # noqa: E402
from qa.retrieval import DEFAULT_K  # noqa: E402
from qa.selector import load_selector, selector_input  # noqa: E402

SETS = ("xquad", "squad2", "spacelaw", "eval")


@dataclass
class Row:
    """One question's candidates, best feature score first."""

    collection: str
    split: str
    answerable: bool
    score: np.ndarray  # feature score (orders the candidates the selector reads)
    x: np.ndarray  # per candidate: the five features, then the selector logit (nan beyond the pool)
    hit: np.ndarray  # contains a gold answer


def collect(name: str, split: str, limit: int | None, pool: int, embedder, selector, weights: Weights) -> list[Row]:
    if name == "eval":
        # The project's dev set over the default corpus: the only dev questions about reference
        # entries, so the only ones that can weigh the "source" feature. All of it is dev.
        if split != "dev":
            return []
        engine = Engine(load_index(ROOT / "embeddings"), embedder)
        questions = [
            Question(q.qid, q.question, q.gold, frozenset(), q.answerable)
            for q in load_questions(ROOT / "tests" / "data" / "eval.jsonl")
        ][:limit]
    else:
        prep = prepare(name, embedder)
        engine = Engine(prep.index, embedder)
        questions = select(prep.collection.questions, split, limit)
    qvecs = embedder.encode([q.text for q in questions])
    out = []
    for q, qv in zip(questions, qvecs, strict=True):
        hits = engine.hits(q.text, qv, k=DEFAULT_K)
        cands = score_candidates(
            q.text,
            hits,
            engine.index.documents,
            question_vector=qv,
            encode=embedder.encode,
            tokenize=tokenize,
            idf=engine._idf,
            span_vectors=engine._span_vectors,
            references=engine.index.reference,
            weights=weights,
        )
        logit = np.full(len(cands), np.nan)
        top = cands[:pool]
        if top:
            logit[: len(top)] = selector.logits(q.text, [selector_input(c.locator, c.text) for c in top])
        hit = np.array([q.answerable and contains_gold(c.text, q.gold) for c in cands], dtype=bool)
        feats = np.array([[c.semantic, c.lexical, c.passage, c.answer_type, c.source] for c in cands]).reshape(-1, 5)
        out.append(
            Row(name, split, q.answerable, np.array([c.score for c in cands]), np.hstack([feats, logit[:, None]]), hit)
        )
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50) -> np.ndarray:
    """Weights (one per column of x, then the bias) by Newton's method on the log loss."""
    X = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        grad = X.T @ (p - y) + l2 * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def combined(row: Row, beta: float, m: int) -> np.ndarray:
    n = min(m, len(row.score))
    return row.score[:n] + beta / (1 + np.exp(-row.x[:n, 5]))


def calibrate(rows: list[Row], beta: float, m: int) -> tuple[float, float, float]:
    """(beta, scale, bias): Platt scaling of the winner's combined score against its being right."""
    xs, ys = [], []
    for r in rows:
        if len(r.score):
            c = combined(r, beta, m)
            i = int(np.argmax(c))
            xs.append([c[i]])
            ys.append(float(r.hit[i]))
    scale, bias = fit_logistic(np.array(xs), np.array(ys))
    return beta, float(scale), float(bias)


def decide(row: Row, w, m: int) -> tuple[float, bool]:
    """(confidence, hit) of the answer picked among the first ``m``: ``w`` is a calibration
    ``(beta, scale, bias)``, or an array of weights over the columns of ``row.x`` then a bias."""
    if len(row.score) == 0:
        return 0.0, False
    n = min(m, len(row.score))
    if isinstance(w, tuple):
        beta, scale, bias = w
        c = combined(row, beta, m)
        i = int(np.argmax(c))
        return float(1 / (1 + np.exp(-(scale * c[i] + bias)))), bool(row.hit[i])
    p = 1 / (1 + np.exp(-(row.x[:n] @ w[:-1] + w[-1])))
    i = int(np.argmax(p))
    return float(p[i]), bool(row.hit[i])


def rates(rows: list[Row], w: np.ndarray, m: int, t: float) -> dict[str, tuple[float, float | None]]:
    out = {}
    for name in SETS:
        part = [r for r in rows if r.collection == name]
        if not part:
            continue
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
    ap.add_argument("--save", type=Path, default=None, help="also write the collected rows to this .npz")
    ap.add_argument(
        "--answer-type-weight",
        type=float,
        default=Weights().answer_type,
        help="weight of the question-type rules (0 = an ablation without them)",
    )
    args = ap.parse_args()
    weights = Weights(answer_type=args.answer_type_weight)
    embedder = load_embedder(None)
    selector = load_selector()
    rows = {
        split: [r for name in SETS for r in collect(name, split, args.limit, args.pool, embedder, selector, weights)]
        for split in ("dev", "test")
    }
    if args.save:
        np.savez_compressed(
            args.save,
            **{
                f"{sp}_{i}_{k}": getattr(r, k)
                for sp in rows
                for i, r in enumerate(rows[sp])
                for k in ("score", "x", "hit")
            },
        )
    best = None
    # Ranking: feature score + beta * selector probability over the first m candidates; only the
    # ratio matters for which candidate wins, so beta is searched on a grid for top-1 answers.
    # Calibration: a logistic regression of "the chosen answer is right" on its combined score
    # (Platt scaling), so the confidence shown is a probability. Threshold: best summed rate on dev.
    for m in (2, 4, 6, 8, 12, 16):
        if m > args.pool:
            continue
        for beta in (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0):
            cal = calibrate(rows["dev"], beta, m)
            mine = None
            for t in np.arange(0.05, 0.96, 0.01):
                r = rates(rows["dev"], cal, m, float(t))
                if mine is None or objective(r) > mine[0] + 1e-9:
                    mine = (objective(r), m, float(t), cal, r)
            # A bigger pool must earn more than 0.01 of summed rate: each candidate costs time.
            if best is None or mine[0] > best[0] + 0.01 * (m > best[1]) + 1e-9:
                best = mine
            print(
                f"rerank {m:2d} beta {beta:4.2f}: dev objective {mine[0]:.3f} at t={mine[2]:.2f}: {mine[4]}", flush=True
            )
    _, m, t, cal, r = best
    print(
        json.dumps(
            {
                "selector": cal[0],
                "scale": round(cal[1], 3),
                "bias": round(cal[2], 3),
                "rerank": m,
                "threshold": round(t, 2),
            }
        )
    )
    print("dev :", r)
    print("test:", rates(rows["test"], cal, m, t))
    w = np.r_[np.zeros(5), 1.0, 0.0]
    # For comparison, at their own best dev thresholds: the hand-weighted feature score alone (the
    # answerer without the selector) and the selector's logit alone over the same candidates.
    for label, m0, w0 in (("features only", 1, None), ("selector only", m, w)):

        def decide_rates(split, t, m0=m0, w0=w0):
            if w0 is not None:
                return rates(rows[split], w0, m0, t)
            scored = [Row(r.collection, r.split, r.answerable, r.score, r.score[:, None], r.hit) for r in rows[split]]
            return rates(scored, np.array([1.0, 0.0]), 1, t)

        grid = [float(t) for t in np.arange(0.01, 0.99, 0.01)]  # on sigmoid(score) or sigmoid(logit)
        tb = max(grid, key=lambda t: objective(decide_rates("dev", t)))
        print(f"{label}: dev", decide_rates("dev", tb), "test", decide_rates("test", tb))


if __name__ == "__main__":
    main()
