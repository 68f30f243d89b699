"""The pure parts of the selector's training data (``bench/train_selector.py``): unanswerable twins."""

from __future__ import annotations

import random

from bench.train_selector import perturb

SENTENCE = "Notre Dame › The university was founded by Edward Sorin in 1842 in Indiana."
POOL = (("Indiana", "Notre Dame", "Saint Mary", "Sorin"), ("1842", "1879"))


def test_a_name_or_number_the_answer_sentence_has_is_swapped_for_one_it_lacks():
    for seed in range(20):
        twin = perturb("Who founded the university in 1842?", SENTENCE, POOL, random.Random(seed))
        assert twin == "Who founded the university in 1879?"
    for seed in range(20):
        twin = perturb("When did Sorin found it?", SENTENCE, POOL, random.Random(seed))
        # Only "Saint Mary" is a name the sentence lacks; the question's first word is never swapped.
        assert twin == "When did Saint Mary found it?"


def test_without_a_swap_the_question_is_negated_once_and_a_negated_one_is_left_alone():
    assert perturb("What was the school called?", SENTENCE, ((), ()), random.Random(0)) == (
        "What was not the school called?"
    )
    assert perturb("What was never built there?", SENTENCE, ((), ()), random.Random(0)) is None
    assert perturb("Name the founder.", SENTENCE, ((), ()), random.Random(0)) is None
