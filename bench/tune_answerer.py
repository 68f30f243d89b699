"""Grid-search the answer-scoring weights and the abstention threshold on dev questions.

Features of every candidate are computed once per question (real model), then
each weight setting is scored offline, so the sweep takes seconds. Dev data:
``tests/data/eval.jsonl`` over the default corpus, spacelaw_qa, and the dev half
(even question-id hash) of XQuAD-en and the SQuAD 2.0 sample. The test halves
are left for ``bench/quality.py``.

Usage: .venv/bin/python bench/tune_answerer.py [--limit 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python bench/tune_answerer.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ROOT  # noqa: E402
from bench.data import data_root, split_of  # noqa: E402
from qa.answering import Weights  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import contains_gold, load_questions  # noqa: E402
from qa.index import build_index, load_index  # noqa: E402
from qa.ingest import sha256_text  # noqa: E402
from qa.retrieval import DEFAULT_K  # noqa: E402
from qa.types import Document  # noqa: E402


def squad_engine(path: Path, embedder) -> tuple[Engine, list]:
    data = json.loads(path.read_text(encoding="utf-8"))
    docs = []
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            text = para["context"]
            docs.append(Document(f"{a}-{p}", f"{a}-{p}", article.get("title", ""), text, sha256_text(text)))
    index, _ = build_index(docs, embedder)
    return Engine(index, embedder), load_questions(path)


def features(engine: Engine, question: str, k: int = DEFAULT_K):
    qvec = engine.embedder.encode([question])[0]
    hits = engine.hits(question, qvec, k=k)
    cands = engine.candidates(question, qvec, hits)
    rows = [(c.semantic, c.lexical, c.passage, c.answer_type, c.source) for c in cands]
    return np.array(rows, dtype=np.float32).reshape(-1, 5), [c.text for c in cands]


def collect(engine, questions, limit):
    out = []
    for q in questions[:limit]:
        feats, texts = features(engine, q.question)
        hit = np.array([q.answerable and contains_gold(t, q.gold) for t in texts], dtype=bool)
        out.append((feats, hit, q.answerable))
    return out


def evaluate(sets, w, threshold):
    res = {}
    for name, rows in sets.items():
        hits = ans = abst_ok = un = 0
        for feats, hit, answerable in rows:
            if len(feats) == 0:
                best_score, best_hit = 0.0, False
            else:
                scores = feats @ w
                i = int(np.argmax(scores))
                best_score, best_hit = float(scores[i]), bool(hit[i])
            answered = best_score >= threshold
            if answerable:
                ans += 1
                hits += answered and best_hit
            else:
                un += 1
                abst_ok += not answered
        res[name] = (hits / ans if ans else None, abst_ok / un if un else None)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=300)
    args = ap.parse_args()
    embedder = load_embedder(None)
    sets = {}
    engine = Engine(load_index(ROOT / "embeddings"), embedder)
    sets["eval"] = collect(engine, load_questions(ROOT / "tests/data/eval.jsonl"), 1000)
    bench_data = data_root()
    for name, path in (
        ("spacelaw", bench_data / "spacelaw_qa/spacelaw_qa.json"),
        ("xquad", bench_data / "xquad_en/xquad.en.json"),
        ("squad2", bench_data / "squad2_sample/small.json"),
    ):
        eng, qs = squad_engine(path, embedder)
        if name != "spacelaw":
            qs = [q for q in qs if split_of(q.qid) == "dev"]
        sets[name] = collect(eng, qs, args.limit)
        print(f"{name}: {len(sets[name])} questions", file=sys.stderr)

    results = []
    grid = itertools.product(
        [0.4, 0.5, 0.6, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5], [0.0, 0.1, 0.2, 0.3], [0.0, 0.05, 0.1, 0.15], [0.1, 0.2]
    )
    for sem, lex, pas, typ, src in grid:
        w = np.array([sem, lex, pas, typ, src], dtype=np.float32)
        for threshold in np.arange(0.30, 0.75, 0.01):
            r = evaluate(sets, w, threshold)
            # Hit rates on every set, abstention on the two sets with unanswerable questions.
            objective = r["eval"][0] + r["eval"][1] + r["spacelaw"][0] + r["xquad"][0] + r["squad2"][0] + r["squad2"][1]
            results.append((objective, (sem, lex, pas, typ, src), round(float(threshold), 2), r))
    results.sort(key=lambda x: -x[0])
    for objective, w, t, r in results[:10]:
        print(
            f"{objective:.3f} w={w} threshold={t} "
            + " ".join(f"{k}=({v[0]:.3f},{'-' if v[1] is None else f'{v[1]:.3f}'})" for k, v in r.items())
        )
    current = Weights()
    w = np.array([current.semantic, current.lexical, current.passage, current.answer_type, current.source])
    from qa.answering import DEFAULT_THRESHOLD

    print("current:", evaluate(sets, w, DEFAULT_THRESHOLD))


if __name__ == "__main__":
    main()
