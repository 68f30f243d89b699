"""What a system returns for a question, and the retrieval and answer metrics over it (docs/benchmarks.md)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.data import Question
from qa.answering import split_sentences
from qa.evaluation import contains_gold, ndcg_at_k, recall_at_k, reciprocal_rank
from qa.types import Hit

RANK_K = 20  # chunks retrieved for paragraph-level Recall@1/@5 and MRR@20
CRANFIELD_K = 200  # chunks retrieved so that 100 distinct abstracts remain for Recall@100


@dataclass
class Ranked:
    docs: list[str]
    ms: float
    search_ms: float = math.nan  # without embedding the question


@dataclass
class Answered:
    text: str
    abstained: bool
    confidence: float
    doc: str | None
    passages: list[str]
    ms: float
    candidates: list[dict] = field(default_factory=list)


def doc_ranking(hits: Iterable[Hit]) -> list[str]:
    """Document ids in order of their best chunk."""
    return list(dict.fromkeys(h.chunk.doc_id for h in hits))


def first_rank(ranked: Sequence[str], relevant: Iterable[str]) -> int:
    """1-based rank of the first relevant id; 0 if none is ranked."""
    relevant = set(relevant)
    return next((i for i, d in enumerate(ranked, 1) if d in relevant), 0)


def mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else math.nan


def median(xs: Iterable[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def retrieval_metrics(ranked: Sequence[Ranked], questions: Sequence[Question]) -> dict[str, float]:
    """Recall@1/@5 and MRR@20 of the gold document, over questions that have one."""
    pairs = [(r, q) for r, q in zip(ranked, questions, strict=True) if q.answerable and q.gold_docs]
    return {
        "r1": mean(recall_at_k(r.docs, set(q.gold_docs), 1) for r, q in pairs),
        "r5": mean(recall_at_k(r.docs, set(q.gold_docs), 5) for r, q in pairs),
        "mrr": mean(reciprocal_rank(first_rank(r.docs[:RANK_K], q.gold_docs)) for r, q in pairs),
        "ms": median(r.ms for r in ranked),
    }


def ranking_metrics(ranked: Sequence[Ranked], questions: Sequence[Question]) -> dict[str, float]:
    """nDCG@10 and Recall@100 with binary relevance (Cranfield)."""
    return {
        "ndcg10": mean(ndcg_at_k(r.docs, set(q.gold_docs), 10) for r, q in zip(ranked, questions, strict=True)),
        "r100": mean(recall_at_k(r.docs, set(q.gold_docs), 100) for r, q in zip(ranked, questions, strict=True)),
        "ms": median(r.ms for r in ranked),
    }


def is_hit(a: Answered, q: Question) -> bool:
    return q.answerable and not a.abstained and contains_gold(a.text, q.gold)


def answer_metrics(answers: Sequence[Answered], questions: Sequence[Question]) -> dict[str, float]:
    """Hit rate on answerable questions, abstention on unanswerable ones, answer lengths, time."""
    ans = [(a, q) for a, q in zip(answers, questions, strict=True) if q.answerable]
    unans = [a for a, q in zip(answers, questions, strict=True) if not q.answerable]
    given = [len(a.text) for a in answers if not a.abstained]
    return {
        "hit": mean(is_hit(a, q) for a, q in ans),
        "one_sentence": mean(is_hit(a, q) and len(split_sentences(a.text)) == 1 for a, q in ans),
        "abstain_answerable": mean(a.abstained for a, _ in ans),
        "abstain_unanswerable": mean(a.abstained for a in unans),
        "mean_len": mean(given),
        "median_len": median(given),
        "ms": median(a.ms for a in answers),
    }
