"""Saving uploads into the corpus (``qa.uploads``) and ``qa.engine.add_documents``."""

from __future__ import annotations

from qa.engine import add_documents
from qa.index import load_index
from qa.uploads import save_uploads
from tests.test_ingest import alias_bomb


def test_save_uploads_keeps_base_names_and_refuses_bad_files(tmp_path):
    corpus = tmp_path / "corpus"
    files = [
        ("../../evil.md", b"# Evil\n\nA document that tried to escape the corpus folder."),
        ("..\\..\\win.txt", b"A text file with a Windows path in its name."),
        ("notes.exe", b"MZ binary"),
        (".hidden.md", b"# Hidden\n\nNot indexed."),
        ("README.md", b"# Readme\n\nNot indexed."),
        ("empty.md", b""),
        ("binary.md", b"\x00\x01\x02 not text"),
    ]
    result = save_uploads(files, corpus)

    assert result.saved == ("evil.md", "win.txt")
    assert result.renamed == (("../../evil.md", "evil.md"), ("..\\..\\win.txt", "win.txt"))
    assert (corpus / "evil.md").is_file() and (corpus / "win.txt").is_file()
    assert not list(tmp_path.parent.glob("evil.md")) and not (tmp_path / "evil.md").exists()
    reasons = dict(result.rejected)
    assert "unsupported file type .exe" in reasons["notes.exe"]
    assert "hidden" in reasons[".hidden.md"]
    assert "README.md" in reasons["README.md"]
    assert "empty" in reasons["empty.md"] and "empty.md" in reasons["empty.md"]
    assert "binary" in reasons["binary.md"]
    assert not (corpus / "empty.md").exists() and not (corpus / "binary.md").exists()
    assert not list(corpus.glob(".upload-*"))  # no temporary files left behind


def test_upload_onto_a_link_is_refused_and_the_link_target_untouched(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    victim = tmp_path / "victim.md"
    victim.write_text("# Victim\n\nOutside the corpus.\n")
    (corpus / "paper.md").symlink_to(victim)
    result = save_uploads([("paper.md", b"# Paper\n\nOverwrite attempt.")], corpus)
    assert result.saved == ()
    assert "paper.md is a symbolic link in the corpus folder" in dict(result.rejected)["paper.md"]
    assert victim.read_text() == "# Victim\n\nOutside the corpus.\n"


def test_upload_with_an_alias_bomb_is_refused_by_name(tmp_path):
    corpus = tmp_path / "corpus"
    result = save_uploads([("bomb.md", alias_bomb().encode())], corpus)
    assert result.saved == () and not (corpus / "bomb.md").exists()
    assert "bomb.md: its YAML front matter was refused" in dict(result.rejected)["bomb.md"]


def test_add_documents_indexes_what_was_saved_and_skips_the_build_otherwise(tiny_corpus, tmp_path):
    index = tmp_path / "idx"
    report = add_documents([("notes.exe", b"MZ")], tiny_corpus, index, model="hash")
    assert report.build is None and not index.exists()

    lunar = b"# Lunar Mining\n\nHelium three extraction needs a permit from the lunar authority.\n"
    report = add_documents([("lunar.md", lunar)], tiny_corpus, index, model="hash")
    assert report.uploads.saved == ("lunar.md",)
    assert report.build is not None and report.build.stats.documents == 4
    assert "lunar" in load_index(index).documents


def test_an_upload_replaces_a_document_of_the_same_name_only_when_told(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    original = b"# Outer Space Treaty\n\nStates shall not place nuclear weapons in orbit.\n"
    (corpus / "ost.md").write_bytes(original)
    fake = b"# Fake\n\nThree lines.\n"
    result = save_uploads([("ost.md", fake), ("same.md", original)], corpus)
    assert (corpus / "ost.md").read_bytes() == original  # the treaty is still there
    assert result.saved == ("same.md",)
    [(name, reason)] = result.rejected
    assert name == "ost.md" and "already in the corpus with other content" in reason
    assert save_uploads([("ost.md", original)], corpus).saved == ("ost.md",)  # same bytes: nothing lost
    assert save_uploads([("ost.md", fake)], corpus, replace=True).saved == ("ost.md",)
    assert (corpus / "ost.md").read_bytes() == fake


def test_a_file_whose_id_is_taken_is_refused_and_the_index_stays_whole(tiny_corpus, tmp_path):
    # A user test added outer_space_treaty_1967.html next to the .md: both got one id, the
    # index would no longer load, and `qa remove` deleted the original.
    index = tmp_path / "idx"
    add_documents([("lunar.md", b"# Lunar Mining\n\nHelium three needs a permit.\n")], tiny_corpus, index, model="hash")
    for name in ("lunar.txt", "lunar.html"):
        report = add_documents([(name, b"Something else about the Moon entirely.\n")], tiny_corpus, index, model="hash")
        assert report.uploads.saved == () and report.build is None
        assert "same document id 'lunar'" in report.uploads.rejected[0][1]
        assert not (tiny_corpus / name).exists()
    assert "Helium three" in load_index(index).documents["lunar"].text


def test_files_sharing_an_id_in_the_corpus_folder_index_one_and_report_the_other(tiny_corpus, tmp_path):
    from qa.engine import Engine, build
    from qa.ingest import load_corpus

    (tiny_corpus / "notes.md").write_text("# Notes\n\nA different text with the id of notes.txt.\n", encoding="utf-8")
    load = load_corpus(tiny_corpus)
    assert [d.path for d in load.documents if d.doc_id == "notes"] == ["notes.md"]
    assert any(s.path == "notes.txt" and "same document id 'notes'" in s.reason for s in load.skipped)
    build(tiny_corpus, tmp_path / "idx", model="hash")
    Engine.open(tmp_path / "idx", corpus=tiny_corpus, model="hash").ask("What do the notes say?")  # it loads
