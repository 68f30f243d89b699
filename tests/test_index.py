import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embedding import HashEmbedder
from qa.engine import Engine, build
from qa.errors import IndexLockedError, IndexMismatchError, IndexNotFoundError, QAError
from qa.index import IndexConfig, IndexLock, PartialVectors, build_index, current_build, load_index, save_index
from qa.ingest import load_corpus
from qa.sentences import candidate_spans
from qa.types import FORMAT_VERSION

REPO = Path(__file__).resolve().parents[1]


def test_round_trip(tiny_corpus, tmp_path, embedder):
    docs = load_corpus(tiny_corpus).documents
    index, stats = build_index(docs, embedder)
    path = save_index(index, tmp_path / "idx", stats=stats)
    loaded = load_index(tmp_path / "idx")
    assert loaded.path == path
    assert loaded.chunks == index.chunks
    assert loaded.documents == index.documents
    np.testing.assert_allclose(loaded.vectors(), index.vectors(), atol=1e-6)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["model"] == "hash" and manifest["dimension"] == 128
    assert manifest["chunk_size"] == 1000 and manifest["format_version"] == FORMAT_VERSION
    # Every candidate answer span has a stored vector, in chunk order.
    assert manifest["counts"]["spans"] == len(loaded.span_bounds) == loaded.span_ptr[-1] > len(index.chunks) // 2
    np.testing.assert_array_equal(loaded.span_bounds, index.span_bounds)
    np.testing.assert_allclose(loaded.span_vectors, index.span_vectors)
    for row, chunk in enumerate(loaded.chunks):
        spans = loaded.spans(row)
        assert list(spans) == candidate_spans(chunk)
        for (s, e), v in spans.items():
            np.testing.assert_allclose(
                v, embedder.encode([chunk.text[s - chunk.start : e - chunk.start]])[0], atol=2e-3
            )  # float16 storage
    assert set(manifest["documents"]) == {d.doc_id for d in docs}
    assert all(len(v["sha256"]) == 64 for v in manifest["documents"].values())
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert not list(path.glob("*.pkl")) and not list(path.glob("**/*.pickle"))


def test_missing_index(tmp_path):
    with pytest.raises(IndexNotFoundError, match="python -m qa index"):
        load_index(tmp_path / "none")


def test_model_mismatch_is_a_clear_error(tiny_corpus, tmp_path):
    build(tiny_corpus, tmp_path / "idx", embedder=HashEmbedder(64))
    with pytest.raises(IndexMismatchError, match="python -m qa index"):
        Engine.open(tmp_path / "idx", embedder=HashEmbedder(128))


def test_chunking_mismatch_is_a_clear_error(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    with pytest.raises(IndexMismatchError, match="chunk_size"):
        load_index(tmp_path / "idx", expect=IndexConfig("hash", 128, chunk_size=500))


@pytest.mark.parametrize(
    "victim",
    [
        "manifest.json",
        "index.faiss",
        "chunks.jsonl",
        "documents.jsonl",
        "vectors.npy",
        "span_ptr.npy",
        "span_bounds.npy",
        "span_vectors.npy",
    ],
)
def test_corrupt_files_are_clear_errors(tiny_corpus, tmp_path, embedder, victim):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    (current_build(tmp_path / "idx") / victim).write_bytes(b"\x00garbage{")
    with pytest.raises((IndexMismatchError, IndexNotFoundError), match="rebuild|python -m qa index"):
        load_index(tmp_path / "idx")


def test_empty_files_and_a_garbled_pointer_are_clear_errors(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    npy = current_build(tmp_path / "idx") / "span_bounds.npy"
    saved = npy.read_bytes()
    npy.write_bytes(b"")  # a zero-byte array file (a disk filled up mid-copy)
    with pytest.raises(IndexMismatchError, match="corrupt or unreadable.*--full"):
        load_index(tmp_path / "idx")
    npy.write_bytes(saved)
    (tmp_path / "idx" / "CURRENT").write_bytes(b"\xff\xfe")
    with pytest.raises(IndexMismatchError, match="CURRENT is corrupt.*--full"):
        load_index(tmp_path / "idx")


def _rewrite_lines(path: Path, change) -> None:
    path.write_text("".join(json.dumps(change(json.loads(line))) + "\n" for line in path.read_text().splitlines()))


def test_chunks_that_do_not_quote_their_document_are_refused(tiny_corpus, tmp_path, embedder):
    # Same sizes, so no count check can see it: offsets moved, or a document's text changed.
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    chunks = current_build(tmp_path / "idx") / "chunks.jsonl"
    saved = chunks.read_text()
    _rewrite_lines(chunks, lambda c: {**c, "start": c["start"] + 5, "end": c["end"] + 5})
    with pytest.raises(IndexMismatchError, match="does not hold chunk .* at its offsets; .*--full"):
        load_index(tmp_path / "idx")
    chunks.write_text(saved)
    docs = current_build(tmp_path / "idx") / "documents.jsonl"
    lines = docs.read_text().splitlines()
    docs.write_text("\n".join(lines[1:]) + "\n")  # one document missing
    with pytest.raises(IndexMismatchError, match="is not in documents.jsonl"):
        load_index(tmp_path / "idx")


def test_vectors_that_are_not_numbers_are_an_error_not_an_answer(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    for name in ("vectors.npy", "span_vectors.npy"):
        path = current_build(tmp_path / "idx") / name
        np.save(path, np.full_like(np.load(path), np.nan))
    engine = Engine.open(tmp_path / "idx", corpus=tiny_corpus, embedder=embedder)
    with pytest.raises(IndexMismatchError, match="not numbers.*--full"):
        engine.ask("Who must register space objects?")


def test_vector_count_mismatch(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    chunks = current_build(tmp_path / "idx") / "chunks.jsonl"
    lines = chunks.read_text().splitlines()
    chunks.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(IndexMismatchError, match="inconsistent"):
        load_index(tmp_path / "idx")


def test_span_vectors_of_another_index_are_refused(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    spans = current_build(tmp_path / "idx") / "span_vectors.npy"
    np.save(spans, np.load(spans)[:-1])
    with pytest.raises(IndexMismatchError, match="do not match"):
        load_index(tmp_path / "idx")


def test_an_index_of_the_previous_format_is_rebuilt(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    manifest = current_build(tmp_path / "idx") / "manifest.json"
    manifest.write_text(manifest.read_text().replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 1'))
    with pytest.raises(IndexMismatchError, match="format 1"):
        load_index(tmp_path / "idx")
    report = build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    assert report.stats.embedded == report.stats.chunks and load_index(tmp_path / "idx")


def test_incremental_update_embeds_only_changes_and_equals_full(tiny_corpus, tmp_path, embedder):
    first = build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    assert first.stats.embedded == first.stats.chunks
    (tiny_corpus / "extra.md").write_text("# Extra\n\nThe Registration Convention requires a register.\n")
    (tiny_corpus / "notes.txt").unlink()
    second = build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    assert second.stats.added == ("extra",) and second.stats.removed == ("notes",)
    assert set(second.stats.unchanged) == {"article", "treaty"}
    assert second.stats.embedded == 1
    incremental = load_index(tmp_path / "idx")
    build(tiny_corpus, tmp_path / "full", embedder=embedder, full=True)
    full = load_index(tmp_path / "full")
    assert incremental.chunks == full.chunks
    np.testing.assert_allclose(incremental.vectors(), full.vectors(), atol=1e-6)
    np.testing.assert_array_equal(incremental.span_ptr, full.span_ptr)
    np.testing.assert_array_equal(incremental.span_bounds, full.span_bounds)
    np.testing.assert_allclose(incremental.span_vectors, full.span_vectors, atol=1e-3)
    q = "Who wrote about anti-satellite weapons?"
    a1 = Engine(incremental, embedder).ask(q)
    a2 = Engine(full, embedder).ask(q)
    assert a1.answer == a2.answer and a1.citations == a2.citations


def test_a_reindex_loads_the_model_only_when_something_changed(tiny_corpus, tmp_path):
    embedder = HashEmbedder(64)
    embedder.name = "my-model"  # as if built with a local model folder of that name
    first = build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    missing_model = str(tmp_path / "gone" / "my-model")  # loading it would fail
    again = build(tiny_corpus, tmp_path / "idx", model=missing_model)
    assert again.stats.embedded == 0 and again.path == first.path  # current build kept as is
    (tiny_corpus / "extra.md").write_text("# Extra\n\nNew text to embed.\n")
    with pytest.raises(QAError, match="neither"):
        build(tiny_corpus, tmp_path / "idx", model=missing_model)
    assert load_index(tmp_path / "idx").path == first.path


def test_the_default_embedder_follows_qa_model(monkeypatch):
    from qa.embedding import load_embedder

    monkeypatch.setenv("QA_MODEL", "hash:32")
    assert load_embedder().dimension == 32
    monkeypatch.setenv("QA_MODEL", "hash:48")  # not the cached one of the first call
    assert load_embedder().dimension == 48 and load_embedder("hash:32").dimension == 32


def test_only_one_build_folder_is_kept(tiny_corpus, tmp_path, embedder):
    for _ in range(3):
        build(tiny_corpus, tmp_path / "idx", embedder=embedder, full=True)
    assert len([p for p in (tmp_path / "idx").iterdir() if p.name.startswith("build-")]) == 1


def test_lock_refuses_a_second_build(tiny_corpus, tmp_path, embedder):
    with IndexLock(tmp_path / "idx"), pytest.raises(IndexLockedError, match="another reindex"):
        build(tiny_corpus, tmp_path / "idx", embedder=embedder)


def test_failed_build_leaves_previous_index(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    before = current_build(tmp_path / "idx")

    class Exploding(HashEmbedder):
        def encode(self, texts, *, progress=None):
            raise RuntimeError("killed midway")

    (tiny_corpus / "new.md").write_text("# New\n\nSomething new to embed.\n")
    with pytest.raises(RuntimeError):
        build(tiny_corpus, tmp_path / "idx", embedder=Exploding(128))
    assert current_build(tmp_path / "idx") == before
    assert not [p for p in (tmp_path / "idx").iterdir() if p.name.startswith(".tmp")]
    assert load_index(tmp_path / "idx").documents.keys() == {"article", "notes", "treaty"}


class _DiesAfter(HashEmbedder):
    """Embeds ``calls`` groups, then fails as a killed or interrupted build would."""

    def __init__(self, calls: int) -> None:
        super().__init__(128)
        self.calls, self.texts = calls, 0

    def encode_spans(self, texts, spans, *, progress=None):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        self.texts += len(texts)
        return super().encode_spans(texts, spans, progress=progress)


def test_an_interrupted_build_resumes_with_the_vectors_it_embedded(tiny_corpus, tmp_path, embedder):
    docs = load_corpus(tiny_corpus).documents
    partial = PartialVectors(tmp_path / "idx", group=2)
    first = _DiesAfter(calls=2)
    with pytest.raises(KeyboardInterrupt):
        build_index(docs, first, partial=partial)
    assert first.texts == 4

    again = _DiesAfter(calls=99)
    index, stats = build_index(docs, again, partial=partial)
    assert stats.embedded == again.texts == len(index.chunks) - 4
    assert stats.resumed == 4
    # The same index as one uninterrupted build: resumed vectors are the ones it would compute.
    whole, _ = build_index(docs, embedder)
    assert index.chunks == whole.chunks
    np.testing.assert_array_equal(index.vectors(), whole.vectors())
    np.testing.assert_array_equal(index.span_vectors, whole.span_vectors)


def test_saved_groups_of_another_model_or_damaged_are_not_used(tiny_corpus, tmp_path):
    docs = load_corpus(tiny_corpus).documents
    partial = PartialVectors(tmp_path / "idx", group=2)
    with pytest.raises(KeyboardInterrupt):
        build_index(docs, _DiesAfter(calls=2), partial=partial)
    groups = sorted(partial.dir.glob("group-*.npz"))
    assert len(groups) == 2
    groups[0].write_bytes(groups[0].read_bytes()[:100])  # cut short, as by a full disk
    other = HashEmbedder(64)  # another dimension: none of the saved vectors fit
    assert partial.load(IndexConfig(other.name, other.dimension, 1000, 150)) == {}
    again = _DiesAfter(calls=99)
    index, stats = build_index(docs, again, partial=partial)
    assert stats.embedded == len(index.chunks) - 2  # only the undamaged group was reused


def test_build_clears_saved_groups_once_the_index_is_saved(tiny_corpus, tmp_path, embedder, monkeypatch):
    import qa.engine

    monkeypatch.setattr(qa.engine, "PartialVectors", lambda root: PartialVectors(root, group=2))
    idx = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build(tiny_corpus, idx, embedder=_DiesAfter(calls=1))
    assert list((idx / ".partial").glob("group-*.npz"))
    with pytest.raises(IndexNotFoundError):
        load_index(idx)  # nothing was saved: there is no half-built index to load
    report = build(tiny_corpus, idx, embedder=embedder)
    assert report.stats.embedded == report.stats.chunks - 2 and report.stats.resumed == 2
    assert not (idx / ".partial").exists()
    # --full re-embeds everything, saved groups or not.
    with pytest.raises(KeyboardInterrupt):
        build(tiny_corpus, idx, embedder=_DiesAfter(calls=1), full=True)
    assert build(tiny_corpus, idx, embedder=embedder, full=True).stats.embedded == report.stats.chunks


KILLER = """
import os, signal, sys
from qa.embedding import HashEmbedder
from qa.engine import build
import qa.index as index_mod

real_replace = os.replace
def replace_then_die(src, dst):
    # Die at the worst moment: the new build folder is in place, CURRENT not yet switched.
    if str(dst).rsplit("/", 1)[-1].startswith("build-"):
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
index_mod.os.replace = replace_then_die
build(sys.argv[1], sys.argv[2], embedder=HashEmbedder(128), full=True)
"""


def test_killed_reindex_leaves_previous_index_loadable(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    before = load_index(tmp_path / "idx")
    (tiny_corpus / "new.md").write_text("# New\n\nA document added before the crash.\n")
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(tiny_corpus), str(tmp_path / "idx")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    after = load_index(tmp_path / "idx")
    assert after.path == before.path and after.chunks == before.chunks
    # The next build cleans up and succeeds.
    report = build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    assert "new" in report.stats.added


def test_queries_are_answered_from_the_old_index_while_a_reindex_runs(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    old_build = current_build(tmp_path / "idx")
    seen = []

    class Observing(HashEmbedder):
        def encode(self, texts, *, progress=None):
            # Mid-build: another reader opens the index and asks a question.
            if len(texts) > 1 and not seen:
                reader = Engine.open(tmp_path / "idx", embedder=embedder)
                seen.append((reader.index.path, reader.ask("Who wrote about anti-satellite weapons?")))
            return super().encode(texts, progress=progress)

    (tiny_corpus / "new.md").write_text("# New\n\nA new document. It has two sentences.\n")
    build(tiny_corpus, tmp_path / "idx", embedder=Observing(128), full=True)
    path, answer = seen[0]
    assert path == old_build
    assert answer.answer.startswith("Hart, B. L. (2007)")
    assert current_build(tmp_path / "idx") != old_build


def test_superscript_marks_end_a_token():
    from qa.index import tokenize

    # An HTML footnote mark is kept as "2007⁶" in the text; a search for 2007 must find it.
    assert tokenize(["adopted in 2007⁶ by the Committee"])[0] == tokenize(["adopted in 2007 by the Committee"])[0]
