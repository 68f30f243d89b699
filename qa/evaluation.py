"""Question sets and the metrics computed on them (``python -m qa eval``). Metric functions are pure.

Figures on the public sets, measured with these metrics: docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.types import Answer


@dataclass(frozen=True)
class EvalQuestion:
    """One question: gold answer substrings (empty for unanswerable questions)."""

    question: str
    gold: tuple[str, ...]
    answerable: bool
    qid: str = ""


@dataclass(frozen=True)
class EvalReport:
    """Aggregate metrics over a question set; rates are in [0, 1]."""

    questions: int
    answerable: int
    unanswerable: int
    answer_hit: float  # answerable questions whose answer contains a gold string
    recall_at_k: float  # answerable questions with a gold string in a retrieved passage
    mrr: float
    abstention_accuracy: float  # unanswerable questions that were refused
    false_abstention: float  # answerable questions that were refused
    citation_exactness: float  # citations whose quote equals text[start:end]
    median_ms: float
    k: int
    failures: tuple[dict, ...] = ()


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


def contains_gold(text: str, gold: Iterable[str]) -> bool:
    """Whether ``text`` contains any gold string, ignoring case and whitespace differences."""
    t = _norm(text)
    return any(_norm(g) in t for g in gold if g.strip())


def first_gold_rank(passages: Sequence[str], gold: Iterable[str]) -> int:
    """1-based rank of the first passage containing a gold string; 0 if none does."""
    gold = list(gold)
    return next((i for i, p in enumerate(passages, 1) if contains_gold(p, gold)), 0)


def reciprocal_rank(rank: int) -> float:
    return 1.0 / rank if rank > 0 else 0.0


def ndcg_at_k(ranked_ids: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k."""
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked_ids[:k]) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked_ids: Sequence[str], relevant: set[str], k: int) -> float:
    return len(set(ranked_ids[:k]) & relevant) / len(relevant) if relevant else 0.0


def load_questions(path: Path | str) -> list[EvalQuestion]:
    """Read JSON Lines ``{question, gold, answerable}`` or SQuAD (v1.1 / v2.0) JSON.

    Raises:
        QAError: the file is missing or in neither format.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read question set {path}: {exc}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "data" in data:
        out = []
        for article in data["data"]:
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    impossible = bool(qa.get("is_impossible"))
                    gold = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                    out.append(
                        EvalQuestion(qa["question"], () if impossible else gold, not impossible, str(qa.get("id", "")))
                    )
        return out
    out = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            gold = rec.get("gold") or []
            out.append(
                EvalQuestion(
                    rec["question"],
                    tuple([gold] if isinstance(gold, str) else gold),
                    bool(rec.get("answerable", bool(gold))),
                    str(rec.get("id", n)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QAError(
                f"{path}:{n}: not a question record ({exc}); expected "
                '{"question": ..., "gold": [...], "answerable": true}'
            ) from None
    if not out:
        raise QAError(f"{path} holds no questions")
    return out


def citation_exact(answer: Answer, text_of: Callable[[str], str]) -> list[bool]:
    return [text_of(c.doc_id)[c.start : c.end] == c.quote for c in answer.citations]


def evaluate(
    questions: Sequence[EvalQuestion],
    ask: Callable[[str], Answer],
    text_of: Callable[[str], str],
    *,
    k: int,
) -> EvalReport:
    """Ask every question and score the answers."""
    hits = recall = rr = refused_ok = refused_bad = 0.0
    exact: list[bool] = []
    times: list[float] = []
    failures = []
    for q in questions:
        t0 = time.perf_counter()
        a = ask(q.question)
        times.append((time.perf_counter() - t0) * 1000)
        exact += citation_exact(a, text_of)
        if q.answerable:
            hit = not a.abstained and contains_gold(a.answer, q.gold)
            rank = first_gold_rank([p.text for p in a.passages], q.gold)
            hits += hit
            recall += rank > 0
            rr += reciprocal_rank(rank)
            refused_bad += a.abstained
            if not hit:
                failures.append(
                    {
                        "question": q.question,
                        "expected": list(q.gold),
                        "answer": a.answer,
                        "abstained": a.abstained,
                        "confidence": a.confidence,
                    }
                )
        else:
            refused_ok += a.abstained
            if not a.abstained:
                failures.append(
                    {"question": q.question, "expected": "abstain", "answer": a.answer, "confidence": a.confidence}
                )
    n_ans = sum(q.answerable for q in questions)
    n_un = len(questions) - n_ans
    times.sort()
    return EvalReport(
        questions=len(questions),
        answerable=n_ans,
        unanswerable=n_un,
        answer_hit=hits / n_ans if n_ans else 0.0,
        recall_at_k=recall / n_ans if n_ans else 0.0,
        mrr=rr / n_ans if n_ans else 0.0,
        abstention_accuracy=refused_ok / n_un if n_un else 0.0,
        false_abstention=refused_bad / n_ans if n_ans else 0.0,
        citation_exactness=sum(exact) / len(exact) if exact else 1.0,
        median_ms=times[len(times) // 2] if times else 0.0,
        k=k,
        failures=tuple(failures),
    )
