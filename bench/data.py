"""The public test collections the quality benchmark and the tuning scripts read, and their dev/test split.

XQuAD-en, the SQuAD 2.0 sample, Cranfield and spacelaw_qa are read in place from ``../shared/bench``
beside the repository, or ``$QA_BENCH_DATA``. Questions are split into dev and test by a hash of their
id (``split_of``): settings are tuned on dev, figures reported on test (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT
from qa.evaluation import load_questions
from qa.ingest import sha256_text
from qa.types import Document

COLLECTIONS = ("xquad", "cranfield", "squad2", "spacelaw")


def bench_dir() -> Path:
    """``$QA_BENCH_DATA``, or ``../shared/bench`` beside the repository; not checked."""
    env = os.environ.get("QA_BENCH_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "bench"


def data_root() -> Path:
    """The benchmark data folder (``bench_dir``), checked to hold the collections."""
    root = bench_dir()
    if not (root / "xquad_en").is_dir():
        raise SystemExit(
            f"benchmark data not found in {root}; set QA_BENCH_DATA to the folder "
            "that holds xquad_en/, cranfield/, squad2_sample/ and spacelaw_qa/"
        )
    return root


@dataclass(frozen=True)
class Question:
    """One benchmark question: gold answer strings and the documents that hold the answer."""

    qid: str
    text: str
    gold: tuple[str, ...]
    gold_docs: frozenset[str]
    answerable: bool = True

    @property
    def split(self) -> str:
        return split_of(self.qid)


@dataclass(frozen=True)
class Collection:
    name: str
    label: str
    documents: tuple[Document, ...]
    questions: tuple[Question, ...]


def split_of(qid: str) -> str:
    """``dev`` when sha256(id), read as an integer, is even; else ``test``. Stable on every machine;
    every tuning script splits by it, so tuning never sees test questions."""
    return "dev" if int(hashlib.sha256(qid.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def _document(doc_id: str, title: str, text: str) -> Document:
    return Document(doc_id=doc_id, path=doc_id, title=title, text=text, sha256=sha256_text(text))


def load_squad(name: str, label: str, path: Path) -> Collection:
    """One document per paragraph, titled with its article; gold document = the question's paragraph."""
    data = json.loads(path.read_text(encoding="utf-8"))
    documents, doc_of = [], {}
    for article in data["data"]:
        for i, para in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}/{i}"
            documents.append(_document(doc_id, article["title"].replace("_", " "), para["context"]))
            for qa in para["qas"]:
                doc_of[str(qa["id"])] = doc_id
    questions = tuple(
        Question(q.qid, q.question, q.gold, frozenset({doc_of[q.qid]}), q.answerable) for q in load_questions(path)
    )
    return Collection(name, label, tuple(documents), questions)


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            qid, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                out.setdefault(qid, set()).add(doc_id)
    return out


def load_cranfield(root: Path) -> Collection:
    beir = root / "cranfield" / "beir"
    documents = tuple(_document(d["_id"], d.get("title") or "", d["text"]) for d in _jsonl(beir / "corpus.jsonl"))
    qrels = _qrels(beir / "qrels" / "test.tsv")
    questions = tuple(
        Question(q["_id"], q["text"], (), frozenset(qrels[q["_id"]]))
        for q in _jsonl(beir / "queries.jsonl")
        if q["_id"] in qrels
    )
    return Collection("cranfield", "Cranfield", documents, questions)


def load_spacelaw(root: Path) -> Collection:
    """The 199 treaty articles of the BEIR view; answers from the SQuAD file, gold articles from qrels."""
    folder = root / "spacelaw_qa"
    documents = tuple(_document(d["_id"], d["title"], d["text"]) for d in _jsonl(folder / "beir" / "corpus.jsonl"))
    qrels = _qrels(folder / "beir" / "qrels" / "test.tsv")
    questions = tuple(
        Question(q.qid, q.question, q.gold, frozenset(qrels.get(q.qid, ())), q.answerable)
        for q in load_questions(folder / "spacelaw_qa.json")
    )
    return Collection("spacelaw", "spacelaw_qa", documents, questions)


def load_collection(name: str, root: Path | None = None) -> Collection:
    root = root or data_root()
    if name == "xquad":
        return load_squad("xquad", "XQuAD-en", root / "xquad_en" / "xquad.en.json")
    if name == "squad2":
        return load_squad("squad2", "SQuAD 2.0 sample", root / "squad2_sample" / "small.json")
    if name == "cranfield":
        return load_cranfield(root)
    if name == "spacelaw":
        return load_spacelaw(root)
    raise SystemExit(f"unknown collection {name!r}; choose from {', '.join(COLLECTIONS)}")


def select(questions: Iterable[Question], split: str, limit: int | None = None) -> list[Question]:
    """Questions of ``split`` (``dev``, ``test``, or ``all``/``both`` for every one), first ``limit``."""
    out = [q for q in questions if split in ("all", "both") or q.split == split]
    return out[:limit] if limit else out
