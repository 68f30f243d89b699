"""How often does ``qa.language.other_language`` call an English question foreign, and how
many questions in other languages does it recognise?

English: every question of the public sets (XQuAD-en, SQuAD 2.0 sample, spacelaw_qa, Cranfield),
``tests/data/*.jsonl``, keyword queries, legal Latin and names. Other languages: ``FOREIGN``,
questions a user of this corpus might ask, written for this check in thirteen languages. The gate
(the identifier's probability and the share of English function words, each wider for a question
that ends in a question mark) was set looking at the English side, the first dozen of these, and
a user test's lists (114 questions in 30 languages; Latin maxims, names and keyword queries as
English), so these figures are not a held-out measure. A false alarm only adds a sentence to a
refusal, never turns an answer into one, but it would still be wrong, so the gate is strict.

Usage: .venv/bin/python bench/language.py  (a few seconds)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/language.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ROOT  # noqa: E402
from bench.data import load_collection  # noqa: E402
from qa.language import other_language  # noqa: E402

KEYWORDS = [
    "space debris risk",
    "moon appropriation",
    "Kessler syndrome",
    "COPUOS",
    "Hart 2007",
    "A/RES/47/68",
    "Polkowska SSA Europe",
    "liability convention claims commission",
    # Legal Latin, names and mixed requests: a user test's false alarms of the first version.
    "cuius est solum eius est usque ad coelum et ad inferos",
    "sic utere tuo ut alienum non laedas",
    "condicio sine qua non causation damage",
    "nullum crimen nulla poena sine lege",
    "res communis omnium",
    "Explain Traité de l'espace",
    "Agenzia Spaziale Italiana",
    "Declaración de Bogotá",
    "Comisión Nacional de Actividades Espaciales",
    "Spacecraft collision avoidance manoeuvre obligations?",
    "Which Bundesverfassungsgericht rulings mention Weltraum?",
    "Explain Ley de Navegación Aérea y Espacial Argentina?",
]
FOREIGN = {
    "French": [
        "Qui est responsable des dommages causés par un objet spatial?",
        "Un État peut-il revendiquer la souveraineté sur la Lune?",
        "Qu'est-ce que la diplomatie spatiale?",
        "Quels traités régissent l'espace extra-atmosphérique?",
    ],
    "Spanish": [
        "¿Puede un país reclamar la Luna como su territorio?",
        "¿Quién escribió sobre las armas antisatélite?",
        "¿Cuánto tiempo tiene un Estado para presentar una reclamación?",
    ],
    "Russian": [
        "Кто несет ответственность за ущерб, причиненный космическим объектом?",
        "Может ли государство присвоить Луну?",
        "Что такое космическая дипломатия?",
    ],
    "Chinese": ["谁对空间物体造成的损害负责？", "月球可以被国家占有吗？", "什么是太空外交？"],
    "Arabic": ["من المسؤول عن الأضرار التي تسببها الأجسام الفضائية؟", "ما هي الدبلوماسية الفضائية؟"],
    "German": [
        "Wer haftet für Schäden durch Weltraumgegenstände?",
        "Darf ein Staat den Mond beanspruchen?",
        "Welche Verträge regeln den Weltraum?",
    ],
    "Polish": ["Kto odpowiada za szkody wyrządzone przez obiekt kosmiczny?", "Czym jest dyplomacja kosmiczna?"],
    "Italian": ["Chi è responsabile dei danni causati da un oggetto spaziale?", "Che cos'è la diplomazia spaziale?"],
    "Portuguese": ["Quem é responsável pelos danos causados por um objeto espacial?", "O que é a diplomacia espacial?"],
    "Dutch": ["Wie is aansprakelijk voor schade door een ruimtevoorwerp?", "Wat is het Maanverdrag?"],
    "Greek": ["Τι είναι η διαστημική διπλωματία;"],
    "Hindi": ["अंतरिक्ष कूटनीति क्या है?"],
    "Swedish": ["Vad säger rymdfördraget om kärnvapen?"],
}


def english_questions() -> list[str]:
    out = [q.text for name in ("xquad", "squad2", "spacelaw", "cranfield") for q in load_collection(name).questions]
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out + KEYWORDS


def main() -> None:
    english = english_questions()
    t = time.perf_counter()
    flagged = [q for q in english if other_language(q)]
    per_question = (time.perf_counter() - t) / len(english) * 1000
    print("| questions | count | said to be another language | right language named |")
    print("|---|---|---|---|")
    print(f"| English (public sets, tests/data, keywords) | {len(english)} | {len(flagged)} | – |")
    for language, questions in FOREIGN.items():
        named = [other_language(q) for q in questions]
        caught, right = sum(n is not None for n in named), sum(n == language for n in named)
        print(f"| {language} | {len(questions)} | {caught} | {right} |")
    print(f"\n{per_question:.3f} ms a question (model loaded)")
    for q in flagged:
        print("false alarm:", q)


if __name__ == "__main__":
    main()
