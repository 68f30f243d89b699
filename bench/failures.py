"""Why the full answerer misses: each miss classified (gold paragraph not retrieved, abstained, answer from
another paragraph, ...), counted for docs/benchmarks.md and dumped with its candidates to
``bench/.cache/failures/<collection>-<split>.jsonl``. Part of bench/quality.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from bench import CACHE
from bench.data import Question
from bench.prepared import prepare
from bench.quality_metrics import Answered, is_hit, median
from bench.quality_systems import Result
from bench.report import fmt, table
from qa.answering import split_sentences
from qa.evaluation import contains_gold
from qa.retrieval import DEFAULT_K
from qa.types import Document


def _sentences_of(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def classify_miss(a: Answered, q: Question, documents: dict[str, Document]) -> str:
    """Why the full answerer missed an answerable question."""
    gold_doc = next(iter(q.gold_docs), None)
    if gold_doc not in a.passages:
        return f"gold paragraph not retrieved (top-{DEFAULT_K})"
    if a.abstained:
        return "abstained (confidence below threshold)"
    if a.doc != gold_doc:
        return "answer from another retrieved paragraph"
    if not any(contains_gold(s, q.gold) for s in _sentences_of(documents[gold_doc].text)):
        return "right paragraph; gold span crosses a sentence boundary"
    return "right paragraph, wrong sentence"


def failure_report(
    answers: Sequence[Answered], questions: Sequence[Question], documents: dict[str, Document]
) -> tuple[Counter, list[dict]]:
    counts: Counter = Counter()
    rows = []
    for a, q in zip(answers, questions, strict=True):
        if q.answerable:
            if is_hit(a, q):
                continue
            why = classify_miss(a, q, documents)
        elif a.abstained:
            continue
        else:
            why = "unanswerable question answered"
        counts[why] += 1
        rows.append(
            {
                "qid": q.qid,
                "split": q.split,
                "why": why,
                "question": q.text,
                "gold": list(q.gold),
                "gold_doc": sorted(q.gold_docs),
                "answer": a.text,
                "answer_doc": a.doc,
                "confidence": a.confidence,
                "passages": a.passages,
                "candidates": a.candidates,
            }
        )
    return counts, rows


def failure_section(results: dict[str, Result], split: str) -> tuple[str, dict[str, list[dict]]]:
    parts, dumps = [], {}
    for name in ("xquad", "squad2", "spacelaw"):
        res = results.get(name)
        if res is None or "full answerer" not in res.answers:
            continue
        qs = res.qs(split)
        answers = res.part(res.answers["full answerer"], split)
        counts, rows = failure_report(answers, qs, prepare(name).index.documents)
        dumps[f"{name}-{split}"] = rows
        n_ans = sum(q.answerable for q in qs)
        trows = [
            [why, str(n), fmt(n / (n_ans if why != "unanswerable question answered" else len(qs) - n_ans))]
            for why, n in counts.most_common()
        ]
        conf = {}
        for a, q in zip(answers, qs, strict=True):
            key = "answerable, hit" if is_hit(a, q) else ("answerable, miss" if q.answerable else "unanswerable")
            conf.setdefault(key, []).append(a.confidence)
        spread = "; ".join(f"{k}: median {fmt(median(v), 2)} (n={len(v)})" for k, v in sorted(conf.items()))
        parts.append(
            f"**{res.label}**, {split} split, full answerer misses (share of answerable questions; "
            f"answered unanswerable: share of unanswerable):\n\n"
            + table(["kind of miss", "count", "share"], trows)
            + f"\n\nConfidence: {spread}."
        )
    return "\n\n".join(parts), dumps


def write_failures(dumps: dict[str, list[dict]]) -> None:
    folder = CACHE / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for key, rows in dumps.items():
        with open(folder / f"{key}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
