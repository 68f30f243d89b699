from pathlib import Path

import pytest

from qa.chunking import chunk_document, embedding_text, short_title
from qa.ingest import load_corpus
from qa.types import Document

REPO = Path(__file__).resolve().parents[1]


def test_offsets_are_exact_on_tiny_corpus(tiny_corpus):
    for doc in load_corpus(tiny_corpus).documents:
        chunks = chunk_document(doc, chunk_size=120, chunk_overlap=20)
        assert chunks
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert c.chunk_id == f"{doc.doc_id}:{c.start}"


@pytest.mark.parametrize("size,overlap", [(1000, 150), (300, 50), (80, 0)])
def test_offsets_are_exact_on_real_corpus(size, overlap):
    for doc in load_corpus(REPO / "corpus").documents:
        for c in chunk_document(doc, chunk_size=size, chunk_overlap=overlap):
            assert doc.text[c.start : c.end] == c.text


def test_locators_name_articles_and_references(tiny_corpus):
    docs = {d.doc_id: d for d in load_corpus(tiny_corpus).documents}
    treaty = chunk_document(docs["treaty"])
    assert short_title(docs["treaty"]) == "Space Things Treaty"
    # A note in brackets is no short name (an app user test: "COPUOS session records (bulk)").
    for title in ("COPUOS session records (bulk)", "Annual report (2019)"):
        assert short_title(Document("d", "d.md", title, "x", "0")) == title
    art2 = next(c for c in treaty if "nuclear weapons" in c.text)
    assert art2.locator == "Space Things Treaty › Article II"
    assert "Article I\n" not in art2.text  # chunks never straddle two articles
    refs = [c for c in chunk_document(docs["article"]) if c.ref_id]
    assert [c.locator for c in refs] == [f"Space diplomacy notes › Reference {n}" for n in (1, 2, 3)]
    assert refs[0].text.startswith("Hart, B. L. (2007)") and refs[0].text.endswith("McGill library.")


def test_chunk_ids_stable_across_runs(tiny_corpus):
    doc = load_corpus(tiny_corpus).documents[0]
    assert [c.chunk_id for c in chunk_document(doc)] == [c.chunk_id for c in chunk_document(doc)]


def test_embedding_text_carries_locator(tiny_corpus):
    doc = next(d for d in load_corpus(tiny_corpus).documents if d.doc_id == "treaty")
    c = chunk_document(doc)[0]
    assert embedding_text(c).startswith(c.locator) and embedding_text(c).endswith(c.text)
