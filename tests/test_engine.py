"""``Engine.check_span`` and ``Engine.holds``: a cited span against the index and the file on disk now."""

from __future__ import annotations

import pytest

from qa.engine import Engine, build
from qa.errors import QAError

QUOTE = "States shall not place nuclear weapons in orbit around the earth."


@pytest.fixture
def engine(tiny_corpus, tmp_path, embedder):
    build(tiny_corpus, tmp_path / "idx", embedder=embedder)
    return Engine.open(tmp_path / "idx", corpus=tiny_corpus, embedder=embedder)


def span(engine: Engine) -> tuple[int, int]:
    start = engine.canonical_text("treaty").index(QUOTE)
    return start, start + len(QUOTE)


def test_an_unchanged_file_verifies(engine):
    start, end = span(engine)
    check = engine.check_span("treaty", start, end, QUOTE)
    assert check.level == "ok" and check.message.startswith("Verified") and check.hit == (start, end)
    assert "of the text read from treaty.md now" in check.message  # offsets index text, not the file's bytes
    assert engine.holds("treaty", start, end, QUOTE)
    # A shared link has offsets but no quote: the check may not claim to have compared one.
    check = engine.check_span("treaty", start, end)
    assert check.level == "ok" and "as indexed" in check.message and "quoted text" not in check.message


def test_a_quote_of_another_build_is_a_mismatch(engine):
    start, end = span(engine)
    check = engine.check_span("treaty", start, end, "something else")
    assert check.level == "error" and "another version of the index" in check.message and check.hit is None
    assert not engine.holds("treaty", start, end, "something else")
    assert not engine.holds("gone", start, end, QUOTE)


def test_changed_moved_and_deleted_files(engine, tiny_corpus):
    start, end = span(engine)
    path = tiny_corpus / "treaty.md"
    original = path.read_text(encoding="utf-8")

    path.write_text(original + "\nA paragraph added at the end.\n", encoding="utf-8")
    check = engine.check_span("treaty", start, end, QUOTE)
    assert check.level == "warning" and "still hold" in check.message and check.hit == (start, end)

    path.write_text(original.replace("# Treaty", "# Preface\n\n# Treaty", 1), encoding="utf-8")
    check = engine.check_span("treaty", start, end, QUOTE)
    moved = check.text.find(QUOTE)
    assert check.level == "error" and "no longer at" in check.message and check.hit == (moved, moved + len(QUOTE))
    assert moved > start

    path.write_text(original.replace(QUOTE, "States may do as they please."), encoding="utf-8")
    check = engine.check_span("treaty", start, end, QUOTE)
    assert check.level == "error" and "no longer contains" in check.message and check.hit is None

    path.unlink()
    check = engine.check_span("treaty", start, end, QUOTE)
    assert check.level == "error" and "deleted" in check.message and check.label.endswith("(the file is gone)")
    assert engine.holds("treaty", start, end, QUOTE)  # the index itself still has it


def test_a_span_outside_the_document_is_refused(engine):
    n = len(engine.canonical_text("treaty"))
    with pytest.raises(QAError, match="lies outside treaty"):
        engine.check_span("treaty", 0, n + 1)
    with pytest.raises(QAError, match="lies outside"):
        engine.check_span("treaty", 5, 3)


def test_candidates_are_what_ask_ranks(engine):
    q = "Which treaty article forbids nuclear weapons in orbit around the earth?"
    qv = engine.embedder.encode([q])[0]
    cands = engine.candidates(q, qv, engine.hits(q, qv))
    shown = engine.ask(q, threshold=0.0).explain["candidates"]
    assert [(c.doc_id, c.start, c.end, c.score) for c in cands[: len(shown)]] == [
        (c["doc_id"], c["start"], c["end"], c["score"]) for c in shown
    ]


def test_a_copy_added_under_another_name_does_not_take_the_indexed_documents_id(tiny_corpus, tmp_path, embedder):
    from qa.index import load_index

    # A user test: "a_copy.md" (sorted before "treaty.md") took over, so citations and
    # `qa show treaty` stopped working once a copy was added.
    idx = tmp_path / "idx"
    build(tiny_corpus, idx, embedder=embedder)
    (tiny_corpus / "a_copy.md").write_bytes((tiny_corpus / "treaty.md").read_bytes())
    report = build(tiny_corpus, idx, embedder=embedder)
    assert "treaty" in load_index(idx).documents and "a_copy" not in load_index(idx).documents
    assert [s.reason for s in report.skipped if s.path == "a_copy.md"] == ["same content as treaty.md; indexed once"]
    # Without an index, the first in sorted order is kept, as before.
    fresh = build(tiny_corpus, tmp_path / "fresh", embedder=embedder)
    assert [s.path for s in fresh.skipped if "same content" in s.reason] == ["treaty.md"]
    # The copy is in no index, yet it can be removed by its id (a user test: "no document").
    from qa.engine import remove_documents

    report = remove_documents(["a_copy"], tiny_corpus, idx, model="hash:128")
    assert report.removed == ("a_copy.md",) and not (tiny_corpus / "a_copy.md").exists()
    assert not report.build.skipped and "treaty" in load_index(idx).documents


def test_remove_documents_deletes_the_files_and_reindexes(tiny_corpus, tmp_path, embedder):
    from qa.engine import remove_documents
    from qa.index import load_index

    idx = tmp_path / "idx"
    build(tiny_corpus, idx, embedder=embedder)
    before = sorted(p.name for p in tiny_corpus.iterdir())
    with pytest.raises(QAError, match="no document 'nope'"):
        remove_documents(["treaty", "nope"], tiny_corpus, idx, model="hash:128")
    assert sorted(p.name for p in tiny_corpus.iterdir()) == before  # nothing deleted
    report = remove_documents(["treaty"], tiny_corpus, idx, model="hash:128")
    assert report.removed == ("treaty.md",) and not (tiny_corpus / "treaty.md").exists()
    assert report.build.stats.removed == ("treaty",)
    assert "treaty" not in load_index(idx).documents


def test_a_failed_index_update_after_a_removal_says_the_file_is_gone(tiny_corpus, tmp_path, embedder, monkeypatch):
    import qa.engine
    from qa.errors import IndexOutOfDateError

    idx = tmp_path / "idx"
    build(tiny_corpus, idx, embedder=embedder)

    def fail(*args, **kwargs):
        raise QAError("the disk is full")

    monkeypatch.setattr(qa.engine, "build", fail)
    with pytest.raises(IndexOutOfDateError, match=r"Removed treaty\.md .*the disk is full.*qa index"):
        qa.engine.remove_documents(["treaty"], tiny_corpus, idx, model="hash:128")
    assert not (tiny_corpus / "treaty.md").exists()


def test_the_last_document_is_not_removed_and_a_file_name_names_a_document(tmp_path, embedder):
    from qa.engine import remove_documents

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "only.md").write_text("# Only\n\nThe one document.\n")
    (corpus / "other.md").write_text("# Other\n\nAnother document.\n")
    build(corpus, tmp_path / "idx", embedder=embedder)
    assert remove_documents(["other.md"], corpus, tmp_path / "idx", model="hash:128").removed == ("other.md",)
    with pytest.raises(QAError, match="every document"):
        remove_documents(["only"], corpus, tmp_path / "idx", model="hash:128")
    assert (corpus / "only.md").exists()  # refused before anything was deleted
