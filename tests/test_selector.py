"""The learned selector's place in the answerer: fast tests with a fake selector, slow ones with the shipped model."""

from pathlib import Path

import numpy as np
import pytest

from qa.answering import Combination
from qa.engine import Engine, build
from qa.errors import QAError
from qa.selector import DEFAULT_SELECTOR, load_selector, selector_input


class FakeSelector:
    """Logit +4 for texts containing ``wanted``, -4 otherwise; records what it read."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self.calls: list[tuple[str, list[str]]] = []

    def logits(self, question, texts):
        self.calls.append((question, list(texts)))
        return np.array([4.0 if self.wanted in t else -4.0 for t in texts], dtype=np.float32)


@pytest.fixture
def index_dir(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    return tmp_path / "idx"


def _engine(index_dir, tiny_corpus, embedder, selector, **kw):
    plain = Engine.open(index_dir, corpus=tiny_corpus, embedder=embedder)
    return Engine(plain.index, embedder, corpus=tiny_corpus, selector=selector, **kw)


def test_the_selector_decides_among_the_feature_best(index_dir, tiny_corpus, embedder):
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    plain = Engine.open(index_dir, corpus=tiny_corpus, embedder=embedder)
    assert plain.selector is None  # the hash embedder never gets the shipped selector
    first = plain.ask(question)
    runner_up = first.explain["candidates"][1]["text"]
    assert runner_up not in first.answer
    # A selector convinced that the features' runner-up answers overrides their pick.
    fake = FakeSelector(runner_up)
    engine = _engine(index_dir, tiny_corpus, embedder, fake, combination=Combination(selector=2.0, rerank=6))
    a = engine.ask(question)
    assert a.answer.startswith(runner_up) and not a.abstained
    c = a.citations[0]
    assert engine.canonical_text(c.doc_id)[c.start : c.end] == c.quote
    # It read at most `rerank` spans, each with its locator as context.
    ((asked, texts),) = fake.calls
    assert asked == question and 0 < len(texts) <= 6
    assert all(" › " in t for t in texts)
    assert selector_input(c.locator, a.answer) in texts
    # Whether to answer is the features' call: the confidence is the calibrated best feature
    # score, as without the selector. Explain shows the parts of each candidate's rank.
    assert a.confidence == pytest.approx(
        engine.combination.probability(first.explain["candidates"][0]["score"]), abs=1e-4
    )
    best = a.explain["candidates"][0]
    assert best["selector"] > 0.9 and best["rank"] == pytest.approx(best["score"] + 2.0 * best["selector"], abs=1e-5)
    assert all(r["selector"] is None for r in a.explain["candidates"][6:])  # beyond `rerank`: not read
    assert a.explain["threshold"] == Combination().threshold == engine.threshold


def test_a_selector_without_weight_is_not_read_and_the_confidence_is_the_calibrated_score(
    index_dir, tiny_corpus, embedder
):
    fake = FakeSelector("nuclear weapons")
    engine = _engine(index_dir, tiny_corpus, embedder, fake, combination=Combination(selector=0.0))
    a = engine.ask("Which treaty article forbids nuclear weapons in orbit around the earth?", threshold=0.0)
    assert fake.calls == []
    best = a.explain["candidates"][0]
    assert best["selector"] is None
    comb = Combination(selector=0.0)
    assert a.confidence == pytest.approx(1 / (1 + np.exp(-(comb.scale * best["score"] + comb.bias))), abs=1e-4)


def test_the_selectors_doubt_neither_refuses_nor_lowers_the_confidence(index_dir, tiny_corpus, embedder):
    # Letting the selector move the confidence cost refusals on every dev set (docs/answerer.md):
    # it only reorders candidates the features found.
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    comb = Combination(selector=0.5)
    doubt = _engine(index_dir, tiny_corpus, embedder, FakeSelector("no such text"), combination=comb).ask(question)
    trust = _engine(index_dir, tiny_corpus, embedder, FakeSelector("nuclear weapons"), combination=comb).ask(question)
    assert all(c["selector"] < 0.1 for c in doubt.explain["candidates"][: comb.rerank])
    assert trust.answer == doubt.answer and not doubt.abstained
    assert trust.confidence == doubt.confidence


def test_a_refusal_does_not_run_the_selector(index_dir, tiny_corpus, embedder):
    fake = FakeSelector("nuclear weapons")
    engine = _engine(index_dir, tiny_corpus, embedder, fake, combination=Combination(selector=0.5, bias=-20.0))
    a = engine.ask("Which treaty article forbids nuclear weapons in orbit around the earth?")
    assert a.abstained and fake.calls == []  # whether to answer is the features' call: nothing to reorder


def test_combination_weights_and_threshold_shape_the_confidence(index_dir, tiny_corpus, embedder):
    question = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    fake = FakeSelector("nuclear weapons")
    low = _engine(index_dir, tiny_corpus, embedder, fake, combination=Combination(selector=1.0, bias=-20.0))
    high = _engine(index_dir, tiny_corpus, embedder, fake, combination=Combination(selector=1.0, bias=5.0))
    low, high = low.ask(question), high.ask(question)
    assert low.abstained and not high.abstained
    assert high.confidence > 0.99 > 0.01 > low.confidence


def test_selector_none_and_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_SELECTOR", "none")
    assert load_selector() is None
    with pytest.raises(QAError, match="no answer selector at .*train one with bench/train_selector.py"):
        load_selector(tmp_path / "nowhere")


def test_selector_input_puts_the_locator_first():
    assert (
        selector_input("Outer Space Treaty › Article IV", "No nuclear weapons.")
        == "Outer Space Treaty › Article IV › No nuclear weapons."
    )
    assert selector_input("", "Just the span.") == "Just the span."


@pytest.mark.slow
def test_shipped_selector_is_small_local_and_prefers_the_answer():
    files = {p.name for p in Path(DEFAULT_SELECTOR).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= files
    assert (Path(DEFAULT_SELECTOR) / "model.safetensors").stat().st_size <= 50 * 1024 * 1024
    sel = load_selector(DEFAULT_SELECTOR)
    p = sel.probabilities(
        "Can a country claim the Moon as its own territory?",
        [
            selector_input(
                "Moon Agreement › Article 11",
                "2. The moon is not subject to national appropriation by any claim of sovereignty, "
                "by means of use or occupation, or by any other means.",
            ),
            selector_input(
                "Moon Agreement › Article 11",
                "(d) An equitable sharing by all States Parties in the benefits derived from those "
                "resources, whereby the interests and needs of the developing countries shall be given "
                "special consideration.",
            ),
        ],
    )
    assert p.shape == (2,) and np.all((p > 0) & (p < 1))
    assert p[0] > p[1]
    # A question longer than the selector reads (up to the 2,000-character limit) is cut, not an error.
    long = sel.probabilities("Can a country claim the Moon? " * 60, ["The moon is not subject to appropriation."])
    assert long.shape == (1,) and 0 < long[0] < 1


def test_the_tuning_script_replays_the_answerer_exactly(index_dir, tiny_corpus, embedder):
    """bench/tune_selector.py fits the Combination on its own replay of the ranking, window and
    calibrated value; if the replay drifted from qa.answering, the fitted settings would be for
    an answerer that does not ship."""
    from bench.tune_selector import Row, outcomes

    engine_plain = Engine.open(index_dir, corpus=tiny_corpus, embedder=embedder)
    answers = set()
    for question in (
        "Which treaty article forbids nuclear weapons in orbit around the earth?",
        "Who is liable for damage caused by a space object?",
    ):
        first = engine_plain.ask(question, threshold=0.0)
        fake = FakeSelector(first.explain["candidates"][2]["text"])  # lifts the third candidate
        wide = Combination(selector=2.0, rerank=2, join=6, join_ratio=0.0, join_chars=2000)  # joins unread ones
        for comb in (Combination(selector=0.0), Combination(selector=0.3, rerank=3), Combination(selector=2.0), wide):
            engine = _engine(index_dir, tiny_corpus, embedder, fake, combination=comb)
            a = engine.ask(question, threshold=0.0)
            answers.add(a.answer)
            qv = embedder.encode([question])[0]
            hits = engine.hits(question, qv)
            cands = engine.candidates(question, qv, hits)
            logit = np.full(len(cands), np.nan)
            logit[: comb.rerank] = fake.logits(question, [selector_input(c.locator, c.text) for c in cands])[
                : comb.rerank
            ]
            chunks = {h.chunk.chunk_id: h.chunk for h in hits}
            row = Row("eval", "dev", True, (a.answer,), cands, logit, engine.index.documents, chunks)
            o = outcomes([row], comb)
            assert bool(o.hit[0]) and o.length[0] == len(a.answer)  # the same span
            assert comb.probability(float(o.rank[0])) == pytest.approx(a.confidence, abs=1e-4)
    assert len(answers) > 2  # the selector changed some answers, so the replay was put to the test


def test_a_sentence_the_selector_lifted_does_not_hide_stronger_support(index_dir, tiny_corpus, embedder, pin_scores):
    """Ranked by score + b * P, a weak sentence can sit between the answer and stronger evidence
    from another document; it is skipped as support, not the end of the list."""
    pin_scores({"States shall not place": 0.57, "Space debris is a growing": 0.52, "Collisions create": 0.49})

    class LikesNotes:
        def logits(self, question, texts):
            return np.array([4.0 if ("Space debris" in t or "Collisions" in t) else -4.0 for t in texts])

    comb = Combination()
    engine = _engine(index_dir, tiny_corpus, embedder, LikesNotes(), combination=comb)
    a = engine.ask("Which risks threaten satellites in orbit?")
    assert comb.probability(0.49) < comb.threshold <= comb.probability(0.52)  # "Collisions" is weak on its own
    assert a.answer.startswith("Space debris") and a.confidence == pytest.approx(comb.probability(0.57), abs=1e-4)
    assert [c.doc_id for c in a.citations] == ["notes", "treaty"]
    assert a.citations[1].quote.startswith("States shall not place")


def test_runners_up_are_listed_by_the_score_they_show(index_dir, tiny_corpus, embedder, pin_scores):
    """The selector can lift a weak sentence above a stronger one; the runners-up still read
    top-down by the score printed next to each."""
    pin_scores({"States shall not place": 0.6, "Outer space shall be free": 0.35, "Collisions create": 0.3})

    class LikesCollisions:
        def logits(self, question, texts):
            return np.array([4.0 if "Collisions" in t or "States shall not" in t else -4.0 for t in texts])

    engine = _engine(index_dir, tiny_corpus, embedder, LikesCollisions(), combination=Combination(selector=1.0))
    a = engine.ask("Which risks threaten satellites in orbit?")
    rows = [r for r in a.explain["candidates"] if r["rank"] != a.explain["candidates"][0]["rank"]]
    assert rows[0]["text"].startswith("Collisions")  # ranked first of the rest by the selector...
    assert [c.quote[:10] for c in a.closest][:2] == ["Outer spac", "Collisions"]  # ...shown by its own score
    assert [c.score for c in a.closest] == sorted((c.score for c in a.closest), reverse=True)
