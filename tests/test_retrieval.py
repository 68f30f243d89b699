import numpy as np
import pytest

from qa.index import build_index
from qa.ingest import load_corpus
from qa.retrieval import dense_search, fuse, lexical_search, retrieve


def test_rrf_rewards_agreement():
    fused = fuse([(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 10.0), (1, 9.0)], method="rrf")
    assert [r for r, _ in fused][:2] == [1, 3]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_convex_fusion_min_max_scales_each_side():
    fused = dict(
        fuse([(1, 0.5), (2, 0.4), (4, 0.3)], [(2, 20.0), (3, 10.0), (5, 0.0)], method="convex", dense_weight=0.5)
    )
    assert fused[1] == pytest.approx(0.5 * 1.0)  # best cosine, absent from BM25
    assert fused[2] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    assert fused[3] == pytest.approx(0.5 * 0.5)  # absent from the dense pool: 0 from it
    assert fused[4] == pytest.approx(0.0)
    assert max(fused, key=fused.get) == 2


def test_fusion_with_one_empty_list():
    assert [r for r, _ in fuse([(4, 0.3)], [])] == [4]
    assert [r for r, _ in fuse([], [(5, 1.0)], method="rrf")] == [5]


@pytest.fixture
def index(tiny_corpus, embedder):
    return build_index(load_corpus(tiny_corpus).documents, embedder)[0]


def test_dense_search_with_a_handmade_vector(index):
    target = 3
    vec = index.vectors()[target]
    rows = dense_search(index, vec, 3)
    assert rows[0][0] == target and rows[0][1] == pytest.approx(1.0, abs=1e-5)


def test_lexical_search_finds_rare_terms(index):
    rows = lexical_search(index, "nuclear weapons orbit", 5)
    assert "nuclear weapons" in index.chunks[rows[0][0]].text
    assert lexical_search(index, "the of and", 5) == []  # stop words only
    assert lexical_search(index, "xyzzyplugh", 5) == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_retrieve_modes_and_k(index, embedder, mode):
    q = "nuclear weapons in orbit"
    hits = retrieve(index, q, embedder.encode([q])[0], k=2, mode=mode)
    assert 1 <= len(hits) <= 2
    assert "nuclear weapons" in hits[0].chunk.text
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_retrieve_filter(index, embedder):
    q = "space"
    hits = retrieve(index, q, embedder.encode([q])[0], k=10, keep=lambda r: index.chunks[r].doc_id == "notes")
    assert hits and {h.chunk.doc_id for h in hits} == {"notes"}


def test_k_larger_than_corpus(index, embedder):
    q = "space"
    assert len(retrieve(index, q, embedder.encode([q])[0], k=100)) <= len(index.chunks)
    assert np.isfinite([h.score for h in retrieve(index, q, embedder.encode([q])[0], k=100)]).all()


def test_question_words_do_not_count_as_query_terms(index):
    from qa.index import tokenize_query

    assert tokenize_query("What is the moon? How many States were there?") == ["moon", "state"]
    # A question made only of question words matches nothing, rather than every "what" in the corpus.
    assert lexical_search(index, "What did they do?", 5) == []
