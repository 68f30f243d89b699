"""qa.cluster: building through Ray gives the index a local build gives.

The fast tests check the plumbing without Ray. The ``ray`` tests start a real
cluster on this machine (a head with ``ray start --head --num-cpus 1`` and a second
node joined with ``ray start --address``), stopped when the module's tests end.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import cluster
from qa.chunking import embedding_text
from qa.cli import make_parser
from qa.embedding import DEFAULT_MODEL, HashEmbedder, load_embedder, model_dimension
from qa.engine import Engine, build
from qa.errors import QAError
from qa.evaluation import load_questions
from qa.index import load_index

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- without Ray


def test_plain_index_never_imports_ray(tiny_corpus, tmp_path):
    code = (
        "import sys; from qa.cli import main; "
        f"rc = main(['index', '--corpus', {str(tiny_corpus)!r}, '--index', {str(tmp_path / 'idx')!r}]); "
        "print(rc, 'ray' in sys.modules, 'qa.cluster' in sys.modules)"
    )
    env = {**os.environ, "QA_MODEL": "hash", "PYTHONPATH": str(REPO)}
    env.pop("QA_RAY_ADDRESS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stdout + out.stderr


def test_index_help_describes_ray():
    sub = make_parser()._subparsers._group_actions[0].choices["index"]  # noqa: SLF001
    ray = next(a for a in sub._actions if "--ray" in a.option_strings)
    assert "auto" in ray.help and "local" in ray.help and "QA_RAY_ADDRESS" in ray.help


class FakeRayEmbedder:
    """Stands in for RayEmbedder: records how build() set it up, embeds with the hash model."""

    made: list[FakeRayEmbedder] = []

    def __init__(self, address, *, model, name, dimension):
        self.address, self.model, self.name, self.dimension = address, model, name, dimension
        self.texts: list[str] = []
        self.info = None
        FakeRayEmbedder.made.append(self)

    def encode_spans(self, texts, spans, *, progress=None):
        self.texts += list(texts)
        return HashEmbedder(self.dimension).encode_spans(texts, spans, progress=progress)


def test_ray_address_from_env_routes_only_changed_chunks_to_the_cluster(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "RayEmbedder", FakeRayEmbedder)
    FakeRayEmbedder.made.clear()
    local = build(tiny_corpus, tmp_path / "local", model="hash")
    monkeypatch.setenv("QA_RAY_ADDRESS", "ray://example:10001")
    report = build(tiny_corpus, tmp_path / "ray", model="hash")
    (fake,) = FakeRayEmbedder.made
    assert (fake.address, fake.name, fake.dimension) == ("ray://example:10001", "hash", 256)
    assert len(fake.texts) == report.stats.embedded == local.stats.embedded > 0
    a, b = load_index(tmp_path / "local"), load_index(tmp_path / "ray")
    assert a.chunks == b.chunks and np.array_equal(a.vectors(), b.vectors())

    # Incremental: one changed document; only its chunks go to the cluster.
    (tiny_corpus / "notes.txt").write_text("Space debris is a growing risk.\nNew sentence here.\n", encoding="utf-8")
    report = build(tiny_corpus, tmp_path / "ray", model="hash")
    assert report.stats.updated == ("notes",)
    new = FakeRayEmbedder.made[-1]
    assert len(new.texts) == report.stats.embedded == 1 and "New sentence here." in new.texts[0]


class StreamingFakeEmbedder(FakeRayEmbedder):
    """Hands back its vectors in two batches through ``on_rows``, as RayEmbedder does, and can
    be stopped (Ctrl-C) after the first."""

    streams_rows = True
    stop_after_first = False

    def encode_spans(self, texts, spans, *, progress=None, on_rows=None):
        vecs, span_vecs = super().encode_spans(texts, spans)
        first = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in spans], out=first[1:])
        half = len(texts) // 2
        for rows in (list(range(half)), list(range(half, len(texts)))):
            on_rows(rows, vecs[rows], np.concatenate([span_vecs[first[r] : first[r + 1]] for r in rows]))
            if self.stop_after_first:
                raise KeyboardInterrupt
        return vecs, span_vecs


def test_an_interrupted_cluster_build_keeps_what_came_back(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "RayEmbedder", StreamingFakeEmbedder)
    FakeRayEmbedder.made.clear()
    local = build(tiny_corpus, tmp_path / "local", model="hash")
    StreamingFakeEmbedder.stop_after_first = True
    with pytest.raises(KeyboardInterrupt):
        build(tiny_corpus, tmp_path / "ray", model="hash", ray_address="ray://example:10001")
    assert not (tmp_path / "ray" / "CURRENT").exists()
    StreamingFakeEmbedder.stop_after_first = False
    report = build(tiny_corpus, tmp_path / "ray", model="hash", ray_address="ray://example:10001")
    assert report.stats.resumed == local.stats.embedded // 2 > 0
    assert len(FakeRayEmbedder.made[-1].texts) == report.stats.embedded == local.stats.embedded - report.stats.resumed
    a, b = load_index(tmp_path / "local"), load_index(tmp_path / "ray")
    assert a.chunks == b.chunks and np.array_equal(a.vectors(), b.vectors())
    assert not (tmp_path / "ray" / ".partial").exists()  # cleared once the index is saved


def test_explicit_empty_address_builds_locally(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "RayEmbedder", FakeRayEmbedder)
    FakeRayEmbedder.made.clear()
    monkeypatch.setenv("QA_RAY_ADDRESS", "auto")
    build(tiny_corpus, tmp_path / "idx", model="hash", ray_address="")
    assert FakeRayEmbedder.made == []


def test_model_dimension_is_read_without_loading_the_model(tmp_path):
    assert model_dimension() == 384 and model_dimension("hash:64") == 64
    assert model_dimension(str(tmp_path)) is None  # no modules.json: the caller loads the model


def test_ray_embedder_rejects_bad_settings():
    with pytest.raises(QAError, match="address is empty"):
        cluster.RayEmbedder(" ", model=None, name="hash", dimension=8)
    with pytest.raises(QAError, match="actors of 0"):
        cluster.RayEmbedder("auto", model=None, name="hash", dimension=8, actors=0)


# ---------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray", reason="Ray is installed by `make test` (requirements-cluster.txt)")
    with cluster.LocalCluster(nodes=2, cpus=1) as c:
        yield c
    assert cluster._pids_mentioning(str(c.temp_dir)) == []  # every process it started is gone


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a killed one may linger as a zombie until reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _spans_of(index, rows):
    """(embedded texts, span offsets into them) of chunk rows, as build_index embeds them."""
    texts, spans = [], []
    for r in rows:
        c = index.chunks[r]
        text = embedding_text(c)
        p = len(text) - len(c.text)
        lo, hi = int(index.span_ptr[r]), int(index.span_ptr[r + 1])
        texts.append(text)
        spans.append([(p + int(s), p + int(e)) for s, e in index.span_bounds[lo:hi]])
    return texts, spans


def _assert_same_index(a_dir, b_dir):
    a, b = load_index(a_dir), load_index(b_dir)
    assert a.chunks == b.chunks and a.chunk_hashes == b.chunk_hashes
    assert np.array_equal(a.span_ptr, b.span_ptr) and np.array_equal(a.span_bounds, b.span_bounds)
    np.testing.assert_allclose(a.vectors(), b.vectors(), atol=1e-5, rtol=0)
    # Span vectors are stored as float16 (resolution ~5e-4 near 0.3): one rounding step apart at most.
    np.testing.assert_allclose(
        np.asarray(a.span_vectors, np.float32), np.asarray(b.span_vectors, np.float32), atol=1e-3, rtol=0
    )


@pytest.mark.ray
@pytest.mark.slow
def test_ray_build_equals_local_build_and_answers_alike(ray_cluster, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    embedder = load_embedder(None)
    build(corpus, tmp_path / "local", embedder=embedder)
    report = build(corpus, tmp_path / "ray", ray_address=ray_cluster.address)
    assert report.cluster and "2 node(s)" in report.cluster
    _assert_same_index(tmp_path / "local", tmp_path / "ray")

    local = Engine.open(tmp_path / "local", corpus=corpus, embedder=embedder)
    remote = Engine.open(tmp_path / "ray", corpus=corpus, embedder=embedder)
    questions = load_questions(REPO / "tests" / "data" / "eval.jsonl")
    assert len(questions) >= 50
    for q in questions:
        a, b = local.ask(q.question), remote.ask(q.question)
        assert (a.answer, a.abstained, [(c.doc_id, c.start, c.end) for c in a.citations]) == (
            b.answer,
            b.abstained,
            [(c.doc_id, c.start, c.end) for c in b.citations],
        ), q.question
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)

    # Incremental: a changed and a new document; only their chunks are embedded, on the cluster.
    treaty = corpus / "rescue_agreement_1968.md"
    treaty.write_text(treaty.read_text(encoding="utf-8") + "\n\nA closing note on rescue beacons.\n", encoding="utf-8")
    (corpus / "debris.md").write_text("# Debris\n\nSpace debris threatens satellites in orbit.\n", encoding="utf-8")
    loc = build(corpus, tmp_path / "local", embedder=embedder).stats
    ray = build(corpus, tmp_path / "ray", ray_address=ray_cluster.address).stats
    assert (ray.added, ray.updated) == (loc.added, loc.updated) == (("debris",), ("rescue_agreement_1968",))
    assert 0 < ray.embedded == loc.embedded < ray.chunks / 5
    _assert_same_index(tmp_path / "local", tmp_path / "ray")


@pytest.mark.ray
@pytest.mark.slow
def test_actor_killed_mid_build_is_retried_and_the_index_is_complete(ray_cluster, tmp_path, tiny_corpus):
    # The old index (hash model) must survive until the new one is complete.
    build(tiny_corpus, tmp_path / "idx", model="hash")
    corpus = tmp_path / "big"
    corpus.mkdir()
    for copy in range(3):  # ~840 chunks; each copy differs, or ingestion would drop it as a duplicate
        for f in (REPO / "corpus").iterdir():
            text = f.read_text(encoding="utf-8")
            (corpus / f"c{copy}_{f.name}").write_text(f"{text}\n\nCopy {copy} of {f.name}.\n", encoding="utf-8")
    # Small slices (8 x 32 texts): several per actor, so the killed one had work in hand.
    embedder = cluster.RayEmbedder(ray_cluster.address, model=None, name=DEFAULT_MODEL, dimension=384, batch_size=8)
    killed: list[tuple[int, int, int]] = []

    def kill_first_worker(done: int, total: int) -> None:
        if not killed and done < total:
            pid = embedder.info.pids[0]
            os.kill(pid, signal.SIGKILL)
            killed.append((pid, done, total))

    report = build(corpus, tmp_path / "idx", embedder=embedder, progress=kill_first_worker)
    assert killed, "the build finished before a worker could be killed"
    pid, done, total = killed[0]
    assert done < total and not _running(pid)
    # Ray restarted the actor and retried its slice: the build completed, every chunk embedded.
    assert report.stats.embedded == report.stats.chunks == total
    index = load_index(tmp_path / "idx")
    assert index.config.model == DEFAULT_MODEL and len(index.chunks) == total
    rows = list(range(0, total, max(1, total // 40)))
    texts, spans = _spans_of(index, rows)
    vectors, span_vectors = load_embedder(None).encode_spans(texts, spans)
    np.testing.assert_allclose(index.vectors()[rows], vectors, atol=1e-5, rtol=0)
    stored = np.vstack([index.span_vectors[index.span_ptr[r] : index.span_ptr[r + 1]] for r in rows])
    np.testing.assert_allclose(
        stored.astype(np.float32), span_vectors.astype(np.float16).astype(np.float32), atol=1e-3, rtol=0
    )
    assert total > 800 and dataclasses.asdict(index.chunks[0])["doc_id"].startswith("c0_")


@pytest.mark.ray
@pytest.mark.slow
def test_an_interrupted_ray_build_resumes_from_the_batches_that_came_back(ray_cluster, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    # Small slices (8 x 32 texts), so several batches come back before the build is stopped.
    embedder = cluster.RayEmbedder(ray_cluster.address, model=None, name=DEFAULT_MODEL, dimension=384, batch_size=8)
    stopped: list[int] = []

    def ctrl_c(done: int, total: int) -> None:
        if done < total:
            stopped.append(done)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(corpus, tmp_path / "idx", embedder=embedder, progress=ctrl_c)
    assert stopped and not (tmp_path / "idx" / "CURRENT").exists()
    local = load_embedder(None)
    report = build(corpus, tmp_path / "idx", embedder=local)
    assert report.stats.resumed == stopped[0] > 0
    assert report.stats.embedded == report.stats.chunks - stopped[0]
    build(corpus, tmp_path / "fresh", embedder=local)
    _assert_same_index(tmp_path / "fresh", tmp_path / "idx")


@pytest.mark.ray
def test_cluster_failure_is_a_clear_error_and_keeps_the_old_index(ray_cluster, tmp_path, tiny_corpus):
    build(tiny_corpus, tmp_path / "idx", model="hash")
    before = load_index(tmp_path / "idx").path
    # A model folder the driver can size but no worker can load (no weights).
    broken = tmp_path / "broken-model"
    (broken / "1_Pooling").mkdir(parents=True)
    (broken / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]'
    )
    (broken / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 384}')
    with pytest.raises(QAError, match="previous index is unchanged"):
        build(tiny_corpus, tmp_path / "idx", model=str(broken), ray_address=ray_cluster.address, full=True)
    after = load_index(tmp_path / "idx")
    assert after.path == before and after.config.model == "hash"
