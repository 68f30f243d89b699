"""The automatic switch to an approximate FAISS index, on small seeded data.

``qa.index.make_faiss`` picks exact search below ``ann_threshold`` vectors and an
approximate index above it. These tests lower the threshold so the switch happens
on a few thousand vectors, check that the approximate index still finds the exact
top 10, and that the manifest records which index was built and with what
parameters. No timing assertions: bench/perf.py measures speed at scale.
"""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from qa.embedding import HashEmbedder
from qa.index import build_index, current_build, load_index, make_faiss, read_manifest, save_index
from qa.ingest import parse_markdown

DIM = 32
K = 10


def unit_vectors(n: int, *, seed: int, clusters: int = 40) -> np.ndarray:
    """Clustered unit vectors, closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM))
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def recall_at_k(index, vectors: np.ndarray, queries: np.ndarray, k: int = K) -> float:
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, k)
    _, found = index.search(queries, k)
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def test_above_threshold_is_approximate_and_keeps_recall():
    vectors = unit_vectors(3000, seed=1)
    queries = unit_vectors(200, seed=2)
    index, info = make_faiss(vectors, ann_threshold=1000)
    assert info["type"] != "IndexFlatIP"
    assert info["threshold"] == 1000
    assert index.ntotal == len(vectors)
    assert recall_at_k(index, vectors, queries) >= 0.95


def test_below_threshold_is_exact():
    vectors = unit_vectors(500, seed=3)
    queries = unit_vectors(50, seed=4)
    index, info = make_faiss(vectors, ann_threshold=1000)
    assert info["type"] == "IndexFlatIP"
    assert recall_at_k(index, vectors, queries) == 1.0


def test_threshold_boundary_is_inclusive_of_the_threshold():
    vectors = unit_vectors(1000, seed=5)
    assert make_faiss(vectors, ann_threshold=1000)[1]["type"] != "IndexFlatIP"
    assert make_faiss(vectors[:999], ann_threshold=1000)[1]["type"] == "IndexFlatIP"


def _documents(n: int = 8):
    topics = [
        "launch licensing",
        "liability for damage",
        "registration of objects",
        "rescue of astronauts",
        "the moon's resources",
        "weapons in orbit",
        "peaceful purposes",
        "international cooperation",
    ]
    docs = []
    for i in range(n):
        topic = topics[i % len(topics)]
        body = "\n\n".join(
            f"## Article {a}\n\nStates shall consider {topic} in case {a} of document {i}. "
            f"Each party reports on {topic} and on article {a} to the Secretary-General."
            for a in range(1, 6)
        )
        text = f"# Instrument {i} on {topic}\n\n{body}\n"
        docs.append(parse_markdown(text, doc_id=f"doc{i}", path=f"doc{i}.md", fallback_title=f"doc{i}"))
    return docs


def _approximate_params_match(index, info: dict) -> None:
    """Every search/build parameter the manifest names is the one the FAISS object carries."""
    if hasattr(index, "hnsw"):
        for key, attr in (("efSearch", "efSearch"), ("efConstruction", "efConstruction")):
            if key in info:
                assert getattr(index.hnsw, attr) == info[key], key
        if "M" in info:
            # level 0 of an HNSW graph has 2*M neighbour slots per vector
            assert index.hnsw.nb_neighbors(0) == 2 * info["M"]
    if "nprobe" in info:
        assert faiss.extract_index_ivf(index).nprobe == info["nprobe"]
    if "nlist" in info:
        assert faiss.extract_index_ivf(index).nlist == info["nlist"]


@pytest.mark.parametrize("threshold, approximate", [(5, True), (10_000, False)])
def test_manifest_records_faiss_type_and_params(tmp_path, threshold, approximate):
    docs = _documents()
    index, stats = build_index(docs, HashEmbedder(dimension=64), ann_threshold=threshold)
    assert len(index.chunks) >= threshold if approximate else len(index.chunks) < threshold
    info = index.faiss_info
    assert (info["type"] != "IndexFlatIP") is approximate
    assert info["threshold"] == threshold
    assert type(index.faiss_index).__name__ == info["type"]
    _approximate_params_match(index.faiss_index, info)

    save_index(index, tmp_path, stats=stats)
    manifest = read_manifest(tmp_path)
    assert manifest["faiss"] == json.loads(json.dumps(info))
    on_disk = json.loads((current_build(tmp_path) / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["faiss"]["type"] == info["type"]

    loaded = load_index(tmp_path)
    assert loaded.faiss_info == manifest["faiss"]
    assert type(loaded.faiss_index).__name__ == info["type"]
    assert loaded.faiss_index.ntotal == len(index.chunks)
    _approximate_params_match(loaded.faiss_index, loaded.faiss_info)

    # The reloaded index answers like the one that was saved.
    queries = HashEmbedder(dimension=64).encode(["liability for damage", "weapons in orbit", "rescue"])
    assert np.array_equal(index.faiss_index.search(queries, 5)[1], loaded.faiss_index.search(queries, 5)[1])
