"""A synthetic corpus made of the real corpus's sentences, and questions about the real corpus.

Documents are treaty-like articles of shuffled real sentences, seeded per document, so document ``i``
is the same on every machine whatever else is generated: the performance benchmarks (bench/perf.py,
bench/reindex.py, bench/ray_bench.py) build indexes of any size from it. Figures: docs/performance.md,
docs/scale.md.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path

from bench import CORPUS
from bench.data import bench_dir
from qa.chunking import chunk_document, embedding_text, short_title
from qa.ingest import load_corpus, parse_markdown
from qa.sentences import split_sentences
from qa.types import Chunk, Document

SEED = 20261126


def sentence_pool(corpus: Path = CORPUS) -> list[str]:
    """Body sentences of the real corpus (no headings), whitespace-normalised."""
    out = []
    for doc in load_corpus(corpus).documents:
        for s, e in split_sentences(doc.text):
            text = " ".join(doc.text[s:e].split())
            if not text.startswith("#") and 30 <= len(text) <= 600:
                out.append(text)
    return sorted(set(out))


def synthetic_markdown(i: int, pool: Sequence[str], *, seed: int = SEED, articles: tuple[int, int] = (9, 25)) -> str:
    """Document ``i`` of the synthetic corpus: treaty-like articles of shuffled real sentences.

    Seeded per document, so document ``i`` is the same whatever else is generated.
    The shape (about 20 articles of 1-3 short paragraphs) gives about 20 chunks per
    document with the real corpus's chunk-length distribution.
    """
    rng = random.Random(seed * 1_000_003 + i)
    parts = [f"# Synthetic Instrument {i:05d}\n"]
    for article in range(1, rng.randint(*articles) + 1):
        parts.append(f"## Article {article}\n")
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            parts.append(" ".join(rng.sample(pool, rng.choice((1, 1, 2, 2, 3, 4)))) + "\n")
    return "\n".join(parts)


def synthetic_name(i: int) -> str:
    return f"syn_{i:05d}"


def write_synthetic_corpus(
    folder: Path, n_docs: int, pool: Sequence[str], *, start: int = 0, articles: tuple[int, int] = (9, 25)
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n_docs):
        text = synthetic_markdown(i, pool, articles=articles)
        (folder / f"{synthetic_name(i)}.md").write_text(text, encoding="utf-8")


def synthetic_document(i: int, pool: Sequence[str]) -> Document:
    name = synthetic_name(i)
    return parse_markdown(synthetic_markdown(i, pool), doc_id=name, path=f"{name}.md", fallback_title=name)


def synthetic_docs_for(chunks: int, pool: Sequence[str]) -> int:
    """How many synthetic documents (from document 0) it takes to reach ``chunks`` chunks."""
    n = total = 0
    while total < chunks:
        total += len(chunk_document(synthetic_document(n, pool)))
        n += 1
    return n


def corpus_chunks(corpus: Path) -> tuple[list[Document], list[Chunk], list[str]]:
    docs = list(load_corpus(corpus).documents)
    chunks = [c for d in docs for c in chunk_document(d)]
    return docs, chunks, [embedding_text(c) for c in chunks]


_STOP = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "by",
    "with",
    "at",
    "from",
    "as",
    "is",
    "are",
    "be",
    "been",
    "shall",
    "may",
    "any",
    "all",
    "its",
    "it",
    "this",
    "that",
    "these",
    "those",
    "such",
    "which",
    "who",
    "whom",
    "whose",
    "other",
    "than",
    "into",
    "upon",
    "under",
    "over",
    "not",
    "no",
    "nor",
    "their",
    "there",
    "them",
    "they",
    "each",
    "every",
    "so",
    "if",
    "then",
    "when",
    "where",
    "what",
    "how",
    "state",
    "states",
    "party",
    "parties",
}


def questions(n: int, *, corpus: Path = CORPUS, seed: int = SEED) -> list[str]:
    """The spacelaw_qa questions plus questions generated from real corpus sentences.

    Generated questions name the instrument and a few content words of one of its
    sentences in one of several question frames, so they read like user questions
    that paraphrase the text rather than quote it.
    """
    out: list[str] = []
    spacelaw = bench_dir() / "spacelaw_qa" / "spacelaw_qa.json"
    if spacelaw.is_file():
        data = json.loads(spacelaw.read_text(encoding="utf-8"))
        out = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    rng = random.Random(seed)
    frames = (
        "What does the {t} say about {w}?",
        "Which provision of the {t} deals with {w}?",
        "Under the {t}, what applies to {w}?",
        "How does the {t} treat {w}?",
        "Who is responsible for {w} according to the {t}?",
        "what about {w}",
    )
    sources = []
    for doc in load_corpus(corpus).documents:
        title = short_title(doc)
        for s, e in split_sentences(doc.text):
            words = [
                w for w in re.findall(r"[A-Za-z][A-Za-z-]+", doc.text[s:e]) if w.lower() not in _STOP and len(w) > 3
            ]
            if len(words) >= 6 and not doc.text[s:e].startswith("#"):
                sources.append((title, words))
    rng.shuffle(sources)
    for title, words in sources:
        if len(out) >= n:
            break
        j = rng.randrange(0, len(words) - 3)
        w = " ".join(words[j : j + rng.choice((2, 3, 4))]).lower()
        out.append(rng.choice(frames).format(t=title, w=w))
    return out[:n]
