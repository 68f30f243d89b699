"""Compare fusion settings on dev questions: gold-passage Recall@1/@5 and MRR.

Dev data: tests/data/eval.jsonl (default corpus), spacelaw_qa, and the dev half of
XQuAD-en (even hash of the question id). Usage: .venv/bin/python bench/tune_retrieval.py
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/tune_retrieval.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ROOT  # noqa: E402
from bench.data import data_root, split_of  # noqa: E402
from bench.tune_answerer import squad_engine  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import first_gold_rank, load_questions, reciprocal_rank  # noqa: E402
from qa.index import load_index  # noqa: E402
from qa.retrieval import retrieve  # noqa: E402

SETTINGS = (
    [("dense", "convex", 1.0), ("lexical", "convex", 0.0)]
    + [("hybrid", "convex", w) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)]
    + [("hybrid", "rrf", 0.5)]
)


def main() -> None:
    embedder = load_embedder(None)
    sets = {
        "eval": (
            Engine(load_index(ROOT / "embeddings"), embedder),
            [q for q in load_questions(ROOT / "tests/data/eval.jsonl") if q.answerable],
        )
    }
    bench_data = data_root()
    eng, qs = squad_engine(bench_data / "spacelaw_qa/spacelaw_qa.json", embedder)
    sets["spacelaw"] = (eng, qs)
    eng, qs = squad_engine(bench_data / "xquad_en/xquad.en.json", embedder)
    sets["xquad-dev"] = (eng, [q for q in qs if split_of(q.qid) == "dev"])
    print(f"{'setting':<22}" + "".join(f"{n:>24}" for n in sets))
    vectors = {n: embedder.encode([q.question for q in qs]) for n, (_, qs) in sets.items()}
    for mode, fusion, w in SETTINGS:
        row = f"{mode + ' ' + fusion + ' ' + str(w):<22}"
        for name, (engine, qs) in sets.items():
            r1 = r5 = mrr = 0.0
            for q, v in zip(qs, vectors[name], strict=True):
                hits = retrieve(engine.index, q.question, v, k=5, mode=mode, fusion=fusion, dense_weight=w)
                rank = first_gold_rank([h.chunk.text for h in hits], q.gold)
                r1 += rank == 1
                r5 += rank > 0
                mrr += reciprocal_rank(rank)
            n = len(qs)
            row += f"{f'{r1 / n:.3f}/{r5 / n:.3f}/{mrr / n:.3f}':>24}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
