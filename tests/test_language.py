"""qa.language: a refusal of a question in another language says why."""

import pytest

from qa.cli import format_answer
from qa.engine import Engine, build
from qa.export import answer_markdown
from qa.language import UNNAMED, other_language


@pytest.mark.parametrize(
    "question,language",
    [
        ("Qui est responsable des dommages causés par un objet spatial?", "French"),
        ("¿Puede un país reclamar la Luna como su territorio?", "Spanish"),
        ("Кто несет ответственность за ущерб, причиненный космическим объектом?", "Russian"),
        ("谁对空间物体造成的损害负责？", "Chinese"),
        ("Was ist der Weltraumvertrag?", "German"),  # "was" is an English word too
        ("Τι είναι η διαστημική διπλωματία;", "Greek"),  # the Greek question mark
        ("Что такое космическая дипломатия?", UNNAMED),  # Russian or Bulgarian? Not English, surely
    ],
)
def test_a_question_in_another_language_is_named(question, language):
    assert other_language(question) == language


@pytest.mark.parametrize(
    "question",
    [
        "Who did Emma Marry?",  # short, with names: a language model alone says Dutch or French
        "When did Honda, Toyota and Nissan open US assembly plants?",
        "Kessler syndrome",  # a keyword query: too short to tell
        "Polkowska SSA Europe",
        "A/RES/47/68",
        "Who wrote about la diplomatie spatiale?",  # mostly English words
        "cuius est solum eius est usque ad coelum et ad inferos",  # legal Latin is read as English
        "condicio sine qua non causation damage",
        "Explain Traité de l'espace",
        "Agenzia Spaziale Italiana",  # a name typed on its own, not a question
        "・",  # one CJK punctuation mark, or a Korean word in an English query, is not a question
        "KAIST 한국",
        "Spacecraft collision avoidance manoeuvre obligations?",  # a noun stack, asked
        "Which Bundesverfassungsgericht rulings mention Weltraum?",  # opens in English
    ],
)
def test_english_and_too_short_questions_are_not(question):
    assert other_language(question) is None


@pytest.fixture
def engine(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    return Engine.open(tmp_path / "idx", corpus=tiny_corpus, embedder=embedder)


def test_a_refusal_names_the_language_in_the_cli_and_the_export(engine):
    refused = engine.ask("Qui est responsable des dommages causés par un objet spatial?", threshold=1.01)
    assert refused.abstained and refused.explain["language"] == "French"
    assert "seems to be in French: the models here read English only" in format_answer(refused)
    assert "seems to be in French" in answer_markdown(refused)
    english = engine.ask("Who is liable for damage caused by a space object?", threshold=1.01)
    assert english.abstained and "language" not in english.explain
    assert "English only" not in format_answer(english)


def test_an_answer_is_never_refused_for_its_language(engine):
    """The hint only explains a refusal: the same answer with or without it."""
    a = engine.ask("Qui est responsable des dommages causés par un objet spatial?", threshold=0.0)
    assert not a.abstained and "language" not in a.explain
