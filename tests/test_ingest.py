import signal
import time
from pathlib import Path

import pytest

from qa import ingest
from qa.errors import CorpusError, UnreadableDocumentError
from qa.ingest import (
    corpus_path,
    declared_charset,
    decode_bytes,
    load_corpus,
    normalize_text,
    parse_markdown,
    read_document,
)


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
        assert doc.text[r.start : r.end] == r.raw
    assert doc.references[0].authors == ("Hart, B. L.",)
    assert doc.references[2].un_symbol == "A/RES/61/75"


def test_bad_files_are_reported_and_the_rest_loaded(tiny_corpus):
    (tiny_corpus / "empty.txt").write_text("")
    (tiny_corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tiny_corpus / "image.png").write_bytes(b"\x89PNG")
    (tiny_corpus / "copy.md").write_text((tiny_corpus / "treaty.md").read_text())
    (tiny_corpus / ".hidden.md").write_text("secret")
    load = load_corpus(tiny_corpus)
    assert {d.doc_id for d in load.documents} == {"article", "notes", "treaty"} or {
        d.doc_id for d in load.documents
    } == {"article", "notes", "copy"}
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


def test_one_stray_byte_in_utf8_text_does_not_garble_the_rest():
    # A user test: one 0x96 in a UTF-8 page's footer made every "’" of it read "â€™".
    text = "ESA’s statement on Côte d’Ivoire’s “Zero Debris” charter. " * 3
    data = text.encode("utf-8") + b"Footer \x96 2024."
    assert decode_bytes(data, "x.html") == text + "Footer \ufffd 2024."
    # Many bad bytes are not damage in UTF-8: that is another encoding.
    assert decode_bytes("Café crème brûlée à la carte".encode("cp1252"), "x.txt") == "Café crème brûlée à la carte"


def test_an_html_page_is_read_in_the_encoding_it_declares(tiny_corpus):
    polish = "<html><head><meta charset='iso-8859-2'><title>Umowa</title></head><body><p>Podpisał w Białymstoku.</p>"
    russian = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>Заявление Роскосмоса.</p>'
    (tiny_corpus / "polish.html").write_bytes(polish.encode("iso-8859-2"))
    (tiny_corpus / "russian.html").write_bytes(russian.encode("cp1251"))
    docs = {d.doc_id: d for d in load_corpus(tiny_corpus).documents}
    assert "Podpisał w Białymstoku." in docs["polish"].text
    assert "Заявление Роскосмоса." in docs["russian"].text
    # Valid UTF-8 is UTF-8 whatever the page declares (an old declaration kept on re-saving).
    wrong = "<meta charset='iso-8859-1'><p>Café “quoted”.</p>".encode()
    assert "Café “quoted”." in decode_bytes(wrong, "w.html", declared=declared_charset(wrong))


def test_utf16_with_a_byte_order_mark_is_decoded_not_called_binary(tiny_corpus):
    text = "Outer space is free for exploration – “by all States”.\n"
    for codec in ("utf-16", "utf-16-be"):
        data = (b"\xfe\xff" if codec == "utf-16-be" else b"") + text.encode(codec)
        assert decode_bytes(data, "x.txt").lstrip("\ufeff") == text
    (tiny_corpus / "unicode.txt").write_bytes(text.encode("utf-16"))
    doc = next(d for d in load_corpus(tiny_corpus).documents if d.doc_id == "unicode")
    assert "“by all States”" in doc.text
    with pytest.raises(UnreadableDocumentError, match="UTF-16"):
        decode_bytes(b"\xff\xfeA", "odd.txt")  # a mark, then half a character


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
    # A program or a picture renamed .pdf is named for what it is, not as a damaged PDF.
    for data in (b"\x7fELF\x02\x01\x01" + bytes(500), b"\x89PNG\r\n\x1a\n" + bytes(100)):
        with pytest.raises(UnreadableDocumentError, match="not a PDF"):
            parse_pdf(data, doc_id="bad", path="bad.pdf", fallback_title="bad")


# ------------------------------------------------------------------ hostile input


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """YAML front matter whose aliases expand to width**levels values ("billion laughs")."""
    lines = ["---", "a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n---\n# Bomb\n\nNothing else here.\n"


def test_alias_bomb_is_refused_by_name_and_the_rest_loaded(tiny_corpus):
    (tiny_corpus / "bomb.md").write_text(alias_bomb(), encoding="utf-8")
    loaded = load_corpus(tiny_corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["article", "notes", "treaty"]
    [skip] = loaded.skipped
    assert skip.path == "bomb.md"
    assert skip.reason.startswith("bomb.md: its YAML front matter was refused")
    assert "alias *a0" in skip.reason and "line 3" in skip.reason


def test_front_matter_anchor_without_alias_is_fine():
    doc = parse_markdown(
        "---\ntitle: &t Plain\ntags: [a, b]\n---\nBody.\n", doc_id="d", path="d.md", fallback_title="d"
    )
    assert doc.metadata == {"title": "Plain", "tags": ["a", "b"]} and doc.text == "Body.\n"


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("a: " + "[" * 30 + "]" * 30, "levels deep"),
        ("a: [" + ", ".join(["x"] * (ingest.FRONT_MATTER_MAX_NODES + 1)) + "]", "values"),
        ("a: " + "x" * (ingest.FRONT_MATTER_MAX_BYTES + 1), "bytes, over the"),
        ("base: &b {k: v}\nother:\n  <<: *b", "alias *b"),
        ("a: " + "[" * 5000 + "]" * 5000, "levels deep"),
    ],
)
def test_front_matter_limits(front, message):
    with pytest.raises(UnreadableDocumentError, match="^x.md: its YAML front matter") as err:
        parse_markdown(f"---\n{front}\n---\nBody.\n", doc_id="x", path="x.md", fallback_title="x")
    assert message in str(err.value)


def test_link_leaving_the_corpus_is_refused_and_named(tiny_corpus, tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tiny_corpus / "passwd.txt").symlink_to(outside / "passwd.txt")
    (tiny_corpus / "linked_folder").symlink_to(outside, target_is_directory=True)
    (tiny_corpus / "broken.md").symlink_to(tmp_path / "missing.md")
    loaded = load_corpus(tiny_corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["article", "notes", "treaty"]
    assert all("root:x" not in d.text for d in loaded.documents)
    reasons = {s.path: s.reason for s in loaded.skipped}
    assert set(reasons) == {"passwd.txt", "linked_folder", "broken.md"}
    assert f"symbolic link to {(outside / 'passwd.txt').resolve()}, outside the corpus" in reasons["passwd.txt"]
    assert f"symbolic link to {outside.resolve()}" in reasons["linked_folder"]
    with pytest.raises(UnreadableDocumentError, match="outside the corpus"):
        read_document(tiny_corpus / "passwd.txt", tiny_corpus)
    with pytest.raises(UnreadableDocumentError, match="outside the corpus"):
        corpus_path(tiny_corpus, "../secret/passwd.txt")


def test_a_symbolic_link_loop_is_skipped_with_a_reason(tiny_corpus):
    (tiny_corpus / "loop1.txt").symlink_to("loop2.txt")
    (tiny_corpus / "loop2.txt").symlink_to("loop1.txt")
    loaded = load_corpus(tiny_corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["article", "notes", "treaty"]
    reasons = {s.path: s.reason for s in loaded.skipped}
    assert set(reasons) == {"loop1.txt", "loop2.txt"}
    assert all("cannot follow its symbolic link" in r and "remove the link" in r for r in reasons.values())
    assert [str(s).count("loop1.txt:") for s in loaded.skipped if s.path == "loop1.txt"] == [1]  # named once


def test_links_inside_the_corpus_are_followed_and_the_real_file_kept(tiny_corpus):
    (tiny_corpus / "sub").mkdir()
    (tiny_corpus / "sub" / "debris.md").write_text("# Debris\n\nA link inside the corpus may be followed.\n")
    (tiny_corpus / "a_link.txt").symlink_to(tiny_corpus / "notes.txt")
    (tiny_corpus / "sub_again").symlink_to(tiny_corpus / "sub", target_is_directory=True)
    (tiny_corpus / "debris_link.md").symlink_to("sub/debris.md")
    loaded = load_corpus(tiny_corpus)
    assert sorted(d.doc_id for d in loaded.documents) == ["article", "notes", "sub/debris", "treaty"]
    assert {s.path: s.reason for s in loaded.skipped} == {
        "a_link.txt": "same content as notes.txt; indexed once",
        "debris_link.md": "same content as sub/debris.md; indexed once",
    }
    assert corpus_path(tiny_corpus, "a_link.txt") == (tiny_corpus / "notes.txt").resolve()


def test_parse_time_limit_gives_up_on_a_slow_parser_and_restores_the_alarm(tiny_corpus, monkeypatch):
    def slow_parse(data, **kwargs):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pass
        raise AssertionError("the parse-time limit did not interrupt the parser")

    monkeypatch.setattr(ingest, "_parse", slow_parse)
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(UnreadableDocumentError, match=r"^notes.txt: reading it took over 0.2 s"):
        read_document(tiny_corpus / "notes.txt", tiny_corpus, parse_seconds=0.2)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with pytest.raises(CorpusError, match="treaty.md: reading it took over 0.2 s"):
        load_corpus(tiny_corpus, parse_seconds=0.2)  # every file is "slow": each reported, none loaded


def test_parse_time_limit_does_not_fire_after_a_fast_parse(tiny_corpus):
    doc = read_document(tiny_corpus / "notes.txt", tiny_corpus, parse_seconds=0.05)
    time.sleep(0.1)  # an alarm left armed would raise here
    assert doc.doc_id == "notes"


def test_front_matter_with_control_characters_is_invalid_not_a_crash():
    # Found by tests/test_fuzz.py: PyYAML's reader rejects these when the loader is created.
    with pytest.raises(UnreadableDocumentError, match=r"^x.md: its YAML front matter is invalid \(ReaderError\)"):
        parse_markdown("---\na: \x01\n---\nBody.\n", doc_id="x", path="x.md", fallback_title="x")


def test_document_ids_of_decomposed_accented_names_keep_their_letters(tmp_path):
    from qa.ingest import doc_id_for

    decomposed = "Re\u0301sume\u0301 de la re\u0301union.txt"  # as macOS spells "Résumé de la réunion"
    assert doc_id_for(tmp_path / decomposed, tmp_path) == "Résumé_de_la_réunion"


def test_a_numbered_reference_list_is_one_entry_per_item():
    # As an HTML <ol> comes out: items on consecutive lines. A user test got one "reference"
    # holding all four, its author "1. Jakhu, R. S.".
    text = (
        "# Paper\n\nText.\n\n## References\n\n"
        "1. Jakhu, R. S. (2006). Legal issues of the public interest. Journal X.\n"
        "2. Raman, P. and\n   Alvarez, T. (2021). Space Traffic Management: A Legal Gap. Journal Y.\n"
        "\nSmith, J. (2001). An entry in a paragraph of its own.\n"
    )
    doc = parse_markdown(text, doc_id="paper", path="paper.md", fallback_title="paper")
    assert [r.authors for r in doc.references] == [("Jakhu, R. S.",), ("Raman, P.", "Alvarez, T."), ("Smith, J.",)]
    assert all(doc.text[r.start : r.end] == r.raw for r in doc.references)
    assert doc.references[1].raw.startswith("Raman") and doc.references[1].raw.endswith("Journal Y.")
