import json
import math

import pytest

from qa.errors import QAError
from qa.evaluation import (
    contains_gold,
    first_gold_rank,
    load_questions,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)


def test_contains_gold_ignores_case_and_spacing():
    assert contains_gold("The  UN or\nNATO deal", ["un or nato"])
    assert not contains_gold("The UN", ["NATO"])
    assert not contains_gold("anything", ["", "  "])


def test_first_gold_rank_and_mrr():
    assert first_gold_rank(["a", "b gold", "gold"], ["gold"]) == 2
    assert first_gold_rank(["a"], ["gold"]) == 0
    assert reciprocal_rank(2) == 0.5 and reciprocal_rank(0) == 0.0


def test_ndcg_hand_computed():
    assert ndcg_at_k(["a", "b"], {"a"}) == 1.0
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["x", "y"], {"a"}) == 0.0
    # two relevant, found at ranks 1 and 3
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}) == pytest.approx(expected)
    assert ndcg_at_k(["a"], set()) == 0.0


def test_recall_at_k():
    assert recall_at_k(["a", "b", "c"], {"a", "c"}, 2) == 0.5
    assert recall_at_k(["a", "b", "c"], {"a", "c"}, 3) == 1.0


def test_load_jsonl_and_squad(tmp_path):
    p = tmp_path / "q.jsonl"
    p.write_text('{"question": "q1", "gold": ["a"], "answerable": true}\n{"question": "q2", "gold": []}\n')
    qs = load_questions(p)
    assert [(q.question, q.gold, q.answerable) for q in qs] == [("q1", ("a",), True), ("q2", (), False)]
    s = tmp_path / "s.json"
    s.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": "c",
                                "qas": [
                                    {"id": "1", "question": "x?", "answers": [{"text": "c", "answer_start": 0}]},
                                    {"id": "2", "question": "y?", "answers": [], "is_impossible": True},
                                ],
                            }
                        ]
                    }
                ]
            }
        )
    )
    qs = load_questions(s)
    assert [(q.qid, q.answerable, q.gold) for q in qs] == [("1", True, ("c",)), ("2", False, ())]


def test_bad_question_file(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text("not json\n")
    with pytest.raises(QAError, match="bad.jsonl:1"):
        load_questions(p)
    with pytest.raises(QAError, match="cannot read"):
        load_questions(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("name", ["eval.jsonl", "paraphrase.jsonl", "paraphrase_dev.jsonl"])
def test_project_question_sets_are_well_formed(name):
    # A gold string the corpus does not contain would count a right answer as a miss, and
    # an unanswerable question with gold strings would count a refusal as a miss.
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    corpus = [p.read_text(encoding="utf-8") for p in sorted((repo / "corpus").glob("*.md"))]
    questions = load_questions(repo / "tests" / "data" / name)
    assert len({q.qid for q in questions}) == len(questions)
    for q in questions:
        assert q.question.strip() and q.answerable == bool(q.gold), q.qid
        for g in q.gold:
            assert any(contains_gold(text, [g]) for text in corpus), (q.qid, g)
