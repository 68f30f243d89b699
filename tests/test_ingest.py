from pathlib import Path

import pytest

from qa.errors import CorpusError, UnreadableDocumentError
from qa.ingest import decode_bytes, load_corpus, normalize_text, parse_markdown


def test_front_matter_becomes_metadata_not_text(tiny_corpus):
    docs = {d.doc_id: d for d in load_corpus(tiny_corpus).documents}
    treaty = docs["treaty"]
    assert treaty.metadata["source"] == "https://example.org/treaty"
    assert treaty.title == "Treaty on Outer Space Things (Space Things Treaty)"
    assert "---" not in treaty.text[:5] and "source:" not in treaty.text
    assert [h[2] for h in treaty.headings][:2] == [treaty.title, "Article I"]


def test_txt_document_title_from_file_name(tiny_corpus):
    docs = {d.doc_id: d for d in load_corpus(tiny_corpus).documents}
    assert docs["notes"].title == "notes"
    assert docs["notes"].text.startswith("Space debris")


def test_normalization_is_nfc_and_unix_newlines():
    assert normalize_text("\ufeffe\u0301\r\nb\rc") == "\u00e9\nb\nc"


def test_references_are_parsed_with_offsets(tiny_corpus):
    doc = next(d for d in load_corpus(tiny_corpus).documents if d.doc_id == "article")
    assert [r.n for r in doc.references] == [1, 2, 3]
    for r in doc.references:
        assert doc.text[r.start:r.end] == r.raw
    assert doc.references[0].authors == ("Hart, B. L.",)
    assert doc.references[2].un_symbol == "A/RES/61/75"


def test_bad_files_are_reported_and_the_rest_loaded(tiny_corpus):
    (tiny_corpus / "empty.txt").write_text("")
    (tiny_corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tiny_corpus / "image.png").write_bytes(b"\x89PNG")
    (tiny_corpus / "copy.md").write_text((tiny_corpus / "treaty.md").read_text())
    (tiny_corpus / ".hidden.md").write_text("secret")
    load = load_corpus(tiny_corpus)
    assert {d.doc_id for d in load.documents} == {"article", "notes", "treaty"} or \
        {d.doc_id for d in load.documents} == {"article", "notes", "copy"}
    reasons = {s.path: s.reason for s in load.skipped}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "unsupported" in reasons["image.png"]
    dup = reasons.get("treaty.md") or reasons.get("copy.md")
    assert dup and "same content" in dup
    assert ".hidden.md" not in reasons


def test_windows_1252_is_decoded_not_mojibake():
    data = "Café – “quoted”".encode("cp1252")
    assert decode_bytes(data, "x.txt") == "Café – “quoted”"


def test_size_limit(tiny_corpus):
    load = load_corpus(tiny_corpus, max_bytes=100)
    assert any("limit" in s.reason for s in load.skipped)


def test_missing_and_empty_corpus(tmp_path: Path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no readable documents"):
        load_corpus(tmp_path / "empty")


def test_invalid_front_matter_is_a_clear_error():
    with pytest.raises(UnreadableDocumentError, match="front matter"):
        parse_markdown("---\ntitle: [unclosed\n---\nbody\n", doc_id="x", path="x.md", fallback_title="x")


def test_pdf_pages_become_offsets(tmp_path: Path):
    pypdf = pytest.importorskip("pypdf")
    from qa.ingest import parse_pdf

    # A PDF without a text layer is refused with a reason, not indexed as empty.
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "blank.pdf"
    with open(path, "wb") as f:
        writer.write(f)
    with pytest.raises(UnreadableDocumentError, match="no text layer"):
        parse_pdf(path.read_bytes(), doc_id="blank", path="blank.pdf", fallback_title="blank")
    with pytest.raises(UnreadableDocumentError, match="corrupt"):
        parse_pdf(b"%PDF-1.4 garbage", doc_id="bad", path="bad.pdf", fallback_title="bad")
