# ruff: noqa: E501  (inline corpus documents keep their natural long lines)
"""Shared fixtures: a tiny inline corpus and the deterministic hash embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.embedding import HashEmbedder

REPO = Path(__file__).resolve().parents[1]

TINY_CORPUS = {
    "treaty.md": """---
title: "Treaty on Outer Space Things (Space Things Treaty)"
date: "1967"
source: https://example.org/treaty
---
# Treaty on Outer Space Things (Space Things Treaty)

### Article I

Outer space shall be free for exploration and use by all States. The moon is not subject to national appropriation.

### Article II

States shall not place nuclear weapons in orbit around the earth. Military bases on celestial bodies are forbidden.

### Article III

For the purposes of this Treaty:

(a) The term “launching State” means:

(i) a State which launches a space object;

(ii) a State from whose territory a space object is launched;

(b) The term “space object” includes its parts.
""",
    "article.md": """---
title: "Space diplomacy notes"
keywords: [diplomacy, security]
---
# Space diplomacy notes

## Abstract

Diplomacy is the main tool for keeping peace in orbit. Conferences and bilateral dialogues are tools of space diplomacy. Professional diplomatic teams are needed.

## References

Hart, B. L. (2007). Anti-satellite weapons, threats, laws and the uncertain future of Space. Institute of Air and Space Law, McGill University. Montreal: McGill library.

Milik, P. (2016). Rules for the transfer of weapons. „Security and Defence Quarterly” No. 13(4). DOI: 10.35467/sdq/103233.

A/RES/61/75; Transparency and Confidence – building measures in outer space activities, 2006.
""",
    "notes.txt": "Space debris is a growing risk for satellites in low earth orbit.\nCollisions create more debris.\n",
}


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder(dimension=128)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in TINY_CORPUS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    # Tests never read the developer's own corpus/index settings.
    for var in ("QA_CORPUS", "QA_INDEX", "QA_MODEL", "QA_RAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


@pytest.fixture
def pin_scores(monkeypatch):
    """Pins candidates' feature scores by the start of their text (others 0.05), so a test can
    set up the ranking it needs: ``pin_scores({"States shall not place": 0.6})``."""
    import dataclasses

    import qa.answering as answering

    real = answering.score_candidates

    def pin(scores: dict[str, float]) -> None:
        def fixed(*args, **kwargs):
            out = [
                dataclasses.replace(c, score=next((v for k, v in scores.items() if c.text.startswith(k)), 0.05))
                for c in real(*args, **kwargs)
            ]
            return sorted(out, key=lambda c: -c.score)

        monkeypatch.setattr(answering, "score_candidates", fixed)

    return pin
