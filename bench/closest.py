"""When the answerer misses an answerable question, does what it shows besides hold the answer?

An abstention lists, as not an answer, the best-ranked sentence of each of up to three closest
passages (``Answer.closest``); before, it listed the opening of each of the three best passages
(the first 220 characters, as the app showed them). An answer lists its runners-up the same way
(the spans it cites left out). For every answerable question the shipped answerer refuses, this
counts how often each display contains a gold answer; for every one it answers wrongly, how often
a runner-up does. Test halves of the public sets, plus tests/data/eval.jsonl and
tests/data/paraphrase.jsonl over the default corpus (nothing here is tuned: the answers are the
shipped engine's). Figures in docs/answerer.md.

Usage: .venv/bin/python bench/closest.py
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/closest.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ROOT  # noqa: E402
from bench.data import Question, select  # noqa: E402
from bench.prepared import prepare  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation import contains_gold, load_questions  # noqa: E402
from qa.index import load_index  # noqa: E402

OPENING = 220  # characters of a passage the app showed before


def shown(engine: Engine, questions: list[Question]) -> tuple[int, int, int, int, int]:
    """(answerable questions refused, gold in the passage openings, gold in the closest sentences,
    answerable questions answered wrongly, gold in the runners-up)."""
    refused = openings = sentences = wrong = runners_up = 0
    for q in questions:
        if not q.answerable:
            continue
        a = engine.ask(q.text)
        if not a.abstained:
            if not contains_gold(a.answer, q.gold):
                wrong += 1
                runners_up += any(contains_gold(c.quote, q.gold) for c in a.closest)
            continue
        refused += 1
        openings += any(contains_gold(" ".join(p.text.split())[:OPENING], q.gold) for p in a.passages[:3])
        sentences += any(contains_gold(c.quote, q.gold) for c in a.closest)
    return refused, openings, sentences, wrong, runners_up


def main() -> None:
    embedder = load_embedder(None)
    sets: list[tuple[str, Engine, list[Question]]] = []
    for name in ("xquad", "squad2", "spacelaw"):
        prep = prepare(name, embedder)
        sets.append(
            (f"{prep.collection.label} (test)", Engine(prep.index, embedder), select(prep.collection.questions, "test"))
        )
    default = Engine(load_index(ROOT / "embeddings"), embedder)
    for file in ("eval.jsonl", "paraphrase_dev.jsonl", "paraphrase.jsonl"):
        qs = [
            Question(q.qid, q.question, q.gold, frozenset(), q.answerable)
            for q in load_questions(ROOT / "tests" / "data" / file)
        ]
        sets.append((file, default, qs))
    print(
        "| set | answerable questions refused | gold in the 3 passage openings | gold in the closest sentences "
        "| answered wrongly | gold in the runners-up |"
    )
    print("|---|---|---|---|---|---|")
    for label, engine, qs in sets:
        refused, openings, sentences, wrong, runners_up = shown(engine, qs)
        print(f"| {label} | {refused} | {openings} | {sentences} | {wrong} | {runners_up} |", flush=True)


if __name__ == "__main__":
    main()
