"""HTML, DOCX, PDF, BibTeX and RIS files become documents with exact offsets."""

from pathlib import Path

import pytest

from qa.chunking import chunk_document
from qa.errors import UnreadableDocumentError
from qa.ingest import load_corpus, read_document
from qa.sentences import candidate_spans


def _check_offsets(doc):
    chunks = chunk_document(doc)
    assert chunks
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    return chunks


def test_html_main_text_without_scripts_or_navigation(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Debris page</title><script>alert('x')</script></head><body>"
        "<nav>Home | About | Contact</nav><article><h1>Space debris</h1>"
        "<p>Space debris is a growing problem for satellites in low earth orbit today.</p>"
        "<h2>Kessler syndrome</h2><p>The Kessler syndrome describes a cascade of collisions in orbit.</p>"
        "</article><footer>Copyright notice</footer></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path / "page.html", tmp_path)
    assert "growing problem" in doc.text and "cascade of collisions" in doc.text
    assert "alert" not in doc.text and "Contact" not in doc.text
    chunks = _check_offsets(doc)
    assert any(c.locator.endswith("Kessler syndrome") for c in chunks)


def test_html_byline_marks_and_markdown_escapes(tmp_path):
    # A user test: the byline was lost, "2007<sup>6</sup>" showed as HTML in quotes, and
    # trafilatura's Markdown escapes ("snake\\_case", "\\[2\\]") reached the canonical text.
    para = "<p>The debris guidelines of the Committee were adopted in 2007<sup>6</sup> and endorsed later.</p>" * 6
    (tmp_path / "page.html").write_text(
        '<html><head><title>Debris</title><meta name="author" content="Jane Doe; Bo Li"></head><body>'
        f"<article><h1>Space debris rules</h1><p>By Jane Doe, 3 May 2024</p>{para}"
        "<p>Use <b>snake_case</b> names [see 2], H<sub>2</sub>O and 10<sup>6</sup> km.</p></article></body></html>",
        encoding="utf-8",
    )
    doc = read_document(tmp_path / "page.html", tmp_path)
    assert doc.metadata["authors"] == ["Jane Doe", "Bo Li"] and doc.metadata["date"] == "2024-05-03"
    assert "adopted in 2007⁶ and" in doc.text and "10⁶ km" in doc.text and "H₂O" in doc.text
    assert "Use snake_case names [see 2]," in doc.text
    assert "<sup>" not in doc.text and "\\" not in doc.text and "**" not in doc.text
    _check_offsets(doc)
    # A code review: a date anywhere in the body was taken as the page's date, and shown in
    # every citation of it. Only a byline's counts.
    (tmp_path / "note.html").write_text(
        "<html><head><title>Debris note</title></head><body><article><h1>Debris note</h1><p>The guidelines "
        "were adopted in 2007 by COPUOS and endorsed in resolution 62/217 of 22 December 2007.</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    assert "date" not in read_document(tmp_path / "note.html", tmp_path).metadata


def test_a_short_html_page_keeps_its_headings(tmp_path):
    # An app user test: a three-paragraph page lost its <h2> sections (trafilatura's fallback).
    (tmp_path / "registry.html").write_text(
        "<html><head><title>Lunar Registry</title></head><body><h1>Lunar Registry</h1><h2>Purpose</h2>"
        "<p>The registry would record every lander placed on the lunar surface.</p><h2>Deadlines</h2>"
        "<p>Operators must file an entry no later than 45 days after touchdown.</p></body></html>"
    )
    doc = read_document(tmp_path / "registry.html", tmp_path)
    assert [title for _, _, title in doc.headings] == ["Lunar Registry", "Purpose", "Deadlines"]
    assert _check_offsets(doc)[-1].locator == "Lunar Registry › Deadlines"


@pytest.mark.parametrize(
    "body,reason",
    [
        ("<nav><ul><li><a href=/a>Home</a></li><li><a href=/b>About us</a></li></ul></nav>", "only links"),
        ("<div id=root></div><noscript>You need to enable JavaScript to run this app.</noscript>", "JavaScript"),
    ],
)
def test_html_pages_without_main_text_are_refused(tmp_path, body, reason):
    (tmp_path / "page.html").write_text(f"<html><head><title>Site</title></head><body>{body}</body></html>")
    with pytest.raises(UnreadableDocumentError, match=reason):
        read_document(tmp_path / "page.html", tmp_path)


def test_a_text_file_title_is_its_first_line_when_that_reads_as_one(tmp_path):
    (tmp_path / "debris_memo.txt").write_text("Debris Memo 2024\n\nThe working group met in Vienna.\n")
    (tmp_path / "note.txt").write_text("The working group met in Vienna.\n\nIt adopted a report.\n")
    (tmp_path / "wrapped.txt").write_text("A long first paragraph that wraps\nonto a second line\n\nMore.\n")
    assert read_document(tmp_path / "debris_memo.txt", tmp_path).title == "Debris Memo 2024"
    assert read_document(tmp_path / "note.txt", tmp_path).title == "note"  # a sentence: the file name
    assert read_document(tmp_path / "wrapped.txt", tmp_path).title == "wrapped"


def test_docx_headings_become_locators(tmp_path):
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("Space security report", level=0)
    d.add_heading("Findings", level=1)
    d.add_paragraph("States should negotiate transparency and confidence-building measures.")
    d.save(tmp_path / "report.docx")
    doc = read_document(tmp_path / "report.docx", tmp_path)
    assert doc.title == "Space security report"
    chunks = _check_offsets(doc)
    assert chunks[-1].locator == "Space security report › Findings"


def test_docx_tables_insertions_content_controls_and_footnotes_are_read(tmp_path):
    # A user test found all four silently dropped: a table row held an answer, a tracked
    # insertion a year, Word's Bibliography block (a content control) the reference asked for.
    docx = pytest.importorskip("docx")
    import zipfile

    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    d = docx.Document()
    d.add_heading("Debris report", level=0)
    p = d.add_paragraph("The committee was founded in ")
    p._p.append(parse_xml(f'<w:ins {w} w:id="1" w:author="x"><w:r><w:t>1993</w:t></w:r></w:ins>'))
    p._p.append(parse_xml(f'<w:del {w} w:id="2" w:author="x"><w:r><w:delText>1992</w:delText></w:r></w:del>'))
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {
        (0, 0): "State",
        (0, 1): "Licensing authority",
        (1, 0): "Japan",
        (1, 1): "Cabinet Office",
    }.items():
        table.cell(r, c).text = text
    table.cell(1, 1).add_paragraph("since 2021")  # a second paragraph in a cell: a space, not glued
    d.add_paragraph("# of fragments catalogued: 3,500.")
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    box = "<w:r><w:t>Text box.</w:t></w:r>"
    d.add_paragraph("See: ")._p.append(
        parse_xml(
            f'<mc:AlternateContent {mc} {w}><mc:Choice Requires="wps">{box}</mc:Choice>'
            f"<mc:Fallback>{box}</mc:Fallback></mc:AlternateContent>"
        )
    )
    entry = "<w:p><w:r><w:t>Kessler, D. J. (1978). Debris belt.</w:t></w:r></w:p>"
    sdt = f"<w:sdt {w}><w:sdtContent>{entry}</w:sdtContent></w:sdt>"
    d.element.body.insert(len(d.element.body) - 1, parse_xml(sdt))  # before the section properties
    d.save(tmp_path / "report.docx")
    notes = (
        f'<w:footnotes {w}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>----</w:t></w:r></w:p></w:footnote>'
    )
    notes += '<w:footnote w:id="1"><w:p><w:r><w:t>51 U.S.C. § 51303.</w:t></w:r></w:p></w:footnote></w:footnotes>'
    with zipfile.ZipFile(tmp_path / "report.docx", "a") as z:
        z.writestr("word/footnotes.xml", notes)

    doc = read_document(tmp_path / "report.docx", tmp_path)
    assert "founded in 1993" in doc.text and "1992" not in doc.text
    assert "Japan | Cabinet Office since 2021" in doc.text
    assert doc.text.count("Text box.") == 1  # its VML copy under mc:Fallback is not read again
    assert "Kessler, D. J. (1978). Debris belt." in doc.text
    assert "[1] 51 U.S.C. § 51303." in doc.text and "----" not in doc.text
    # A body paragraph opening with "#" stays text, not a heading.
    assert "# of fragments catalogued: 3,500." in doc.text
    assert not any("fragments" in c.locator for c in _check_offsets(doc))


def test_corrupt_docx(tmp_path):
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableDocumentError, match="docx"):
        read_document(tmp_path / "bad.docx", tmp_path)


BIB = """@article{hart2007,
  author = {Hart, B. L. and Doe, Jane},
  title = {Anti-satellite weapons and the law},
  journal = {Journal of Space Law},
  year = {2007},
  volume = {33},
  doi = {10.1000/jsl.2007.1}
}
@book{lyall2018, author = {Lyall, Francis}, title = {Space Law}, publisher = {Routledge}, year = {2018},
  address = {London}}
"""

RIS = (
    """TY  - JOUR
AU  - Meyer, P.
TI  - Prospects for progress on space security diplomacy
JO  - Room
PY  - 2016
"""
    + "ER  - \n"
)  # the RIS end tag keeps its trailing space


def _only_reference(path, text: str):
    """The one reference record of a bibliography file written with ``text``."""
    path.write_text(text, encoding="utf-8")
    (ref,) = read_document(path, path.parent).references
    return ref


def test_bibtex_latex_accents_line_breaks_and_organisations(tmp_path):
    # A user test: "G{\\"o}del" stayed LaTeX, a wrapped author list kept its line break, and
    # "{Food and Agriculture Organization}" became two authors.
    ref = _only_reference(
        tmp_path / "refs.bib",
        '@article{a, author = {G{\\"o}del, Kurt and\n      Doe, Jane and '
        "{Food and Agriculture Organization} and others},"
        ' title = {{\\"U}ber {Space} Law}, journal = {J}, year = 2007}\n',
    )
    assert ref.authors == ("Gödel, Kurt", "Doe, Jane", "Food and Agriculture Organization")
    assert ref.title == "Über Space Law"


def test_bibtex_string_joins_and_ris_journal_issue_and_dates(tmp_path):
    # A user test: "#" joins stayed as written ('"Space " # "Law"'); RIS exports from EndNote
    # and Zotero name the journal in JF, the issue in M1 and the year in a slashed date.
    ref = _only_reference(
        tmp_path / "refs.bib",
        '@string{jsl = "Journal of Space Law"}\n'
        '@article{a, author = {Doe, Jane}, title = "Space " # {{\\"U}ber} # " Law",'
        ' journal = jsl # " (Mississippi)", month = jan, year = 2001}\n',
    )
    assert ref.title == "Space Über Law" and ref.container == "Journal of Space Law (Mississippi)"
    ris = _only_reference(
        tmp_path / "more.ris",
        "TY  - JOUR\nAU  - Meyer, P.\nTI  - Space security\nJF  - Space Policy\nM1  - 4\nPY  - 2016/05/01/\nER  - \n",
    )
    assert (ris.container, ris.issue, ris.year) == ("Space Policy", "4", "2016")


def test_bibtex_hash_signs_and_urls_inside_a_value_are_kept(tmp_path):
    # A code review: "{Report #3}" lost its "#" (read as a join), and a URL was decoded as
    # LaTeX ("%" starts a comment, "~" is a space): both came out cut.
    url = "https://www.esa.int/reports/debris%20report_1.pdf#page=4&x=~a"
    ref = _only_reference(
        tmp_path / "refs.bib",
        f'@report{{a, author = {{Doe, Jane}}, title = {{Space Debris Report #3}}, note = "Issue # 2",'
        f" url = {{{url}}}, doi = {{10.1000/a%b}}, year = 2019}}\n",
    )
    assert ref.title == "Space Debris Report #3" and "Issue # 2" in ref.raw
    assert ref.url == url and ref.doi == "10.1000/a%b"
    assert url in read_document(tmp_path / "refs.bib", tmp_path).text  # the indexed entry line


def test_bibliography_entries_keep_every_field_and_broken_entries_are_flagged(tmp_path, caplog):
    # A user test: volume, issue, pages, edition, place, publisher, note and URL were parsed
    # but missing from the indexed text, so "In which volume …?" quoted an entry without it;
    # an entry with a bad key vanished without a word (a library warning naming no file).
    (tmp_path / "refs.bib").write_text(
        "@article{jakhu, author={Jakhu, Ram S.}, title={Legal issues}, journal={Journal of Space Law},"
        " volume={32}, number={1}, pages={31--110}, year={2006}}\n"
        "@book{lyall, author={Lyall, F.}, title={Space Law}, publisher={Routledge}, address={London},"
        " edition={2}, year={2018}}\n"
        "@misc{un, title={Arms race}, note={UN doc. A/RES/75/35}, url={https://undocs.org/A/RES/75/35}}\n"
        '@inproceedings{m{\\"u}ller2021,\n  title = {Broken key}, year = 2021}\n'
        "@book{last, title={After the broken one}, year={2003}}\n",
        encoding="utf-8",
    )
    doc = read_document(tmp_path / "refs.bib", tmp_path)
    jakhu, lyall, un, broken, last = doc.references
    assert jakhu.raw == "Jakhu, Ram S. (2006). Legal issues. Journal of Space Law, 32(1), 31–110."
    assert lyall.raw == "Lyall, F. (2018). Space Law. 2nd ed. London: Routledge."
    assert un.raw.endswith("UN doc. A/RES/75/35. https://undocs.org/A/RES/75/35") and un.un_symbol == "A/RES/75/35"
    assert broken.kind == "unparsed" and "Broken key" in broken.raw and "comma" in broken.flagged
    assert last.title == "After the broken one"  # order kept, nothing after the broken entry lost
    assert not [r for r in caplog.records if r.name.startswith("bibtexparser")]
    for r in doc.references:
        assert doc.text[r.start : r.end] == r.raw
    ris = _only_reference(
        tmp_path / "more.ris",
        "TY  - JOUR\nTI  - T\nJO  - Space Policy\nVL  - 12\nIS  - 3\nSP  - 45\nEP  - 67\nER  - \n",
    )
    assert ris.raw == "T. Space Policy, 12(3), 45–67."
    un_ris = _only_reference(tmp_path / "un.ris", "TY  - RPRT\nTI  - Arms race\nM1  - A/RES/75/35\nER  - \n")
    assert un_ris.un_symbol == "A/RES/75/35" and "A/RES/75/35" in un_ris.raw


def test_bibtex_and_ris_become_reference_records(tmp_path):
    (tmp_path / "refs.bib").write_text(BIB)
    (tmp_path / "more.ris").write_text(RIS)
    docs = {d.doc_id: d for d in load_corpus(tmp_path).documents}
    bib, ris = docs["refs"], docs["more"]
    hart, lyall = bib.references
    assert hart.authors == ("Hart, B. L.", "Doe, Jane") and hart.year == "2007"
    assert hart.doi == "10.1000/jsl.2007.1" and hart.container == "Journal of Space Law" and hart.kind == "article"
    assert lyall.place == "London" and lyall.publisher == "Routledge" and lyall.kind == "book"
    assert ris.references[0].authors == ("Meyer, P.",) and ris.references[0].year == "2016"
    for doc in (bib, ris):
        for r in doc.references:
            assert doc.text[r.start : r.end] == r.raw
        refs = [c for c in _check_offsets(doc) if c.ref_id]
        assert len(refs) == len(doc.references)
    # A last record without its closing "ER" line (hand-edited files) is kept, not dropped.
    (tmp_path / "open.ris").write_text(RIS + "\nTY  - BOOK\nAU  - Doe, J.\nTI  - Cislunar traffic\nPY  - 2022\n")
    opened = next(d for d in load_corpus(tmp_path).documents if d.doc_id == "open")
    assert [r.title for r in opened.references][-1] == "Cislunar traffic"


def _pdf(pages: list[str], catalog: str = "") -> bytes:
    """A minimal valid PDF: each page's lines ("\n"-separated) printed one under another."""
    objs = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog}>>",
        None,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for text in pages:
        lines = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in text.split("\n")]
        shown = " 0 -12 Td ".join(f"({ln}) Tj" for ln in lines)
        stream = f"BT /F1 8 Tf 20 780 Td {shown} ET".encode("latin-1")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode('latin-1')}\nendstream")
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents {len(objs)} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(f"{len(objs)} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    return pdf_file(objs)


def pdf_file(objs: list[str]) -> bytes:
    """A PDF of these object bodies (numbered from 1; 1 the catalog), with its xref table.
    Streams are left uncompressed on purpose. bench/hostile.py builds its PDFs with it too."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_text_per_page_with_page_locators(tmp_path: Path):
    (tmp_path / "paper.pdf").write_bytes(_pdf(["Diplomacy keeps peace in orbit.", "Debris threatens satellites."]))
    doc = read_document(tmp_path / "paper.pdf", tmp_path)
    assert "Diplomacy keeps peace" in doc.text and "Debris threatens" in doc.text
    assert doc.metadata["pages"] == [0, doc.text.index("Debris")]
    chunks = _check_offsets(doc)
    assert chunks[0].locator.endswith("p. 1")


def test_pdf_footnote_marks_are_read_as_superscripts(tmp_path: Path):
    # As browsers and word processors print them: the mark in smaller type, raised.
    stream = (
        "BT /F1 11 Tf 1 0 0 1 20 700 Tm (Registrations rose to 2,917 objects in 2023.) Tj "
        "/F1 7 Tf 1 0 0 1 262 704.5 Tm (3) Tj /F1 11 Tf 1 0 0 1 267 700 Tm (Most States register.) Tj "
        "/F1 11 Tf 1 0 0 1 20 686 Tm (Table 1 gives 12 days.) Tj "
        "/F1 6 Tf 1 0 0 1 20 103 Tm (3) Tj /F1 8 Tf 1 0 0 1 24 100 Tm (Figures reported by UNOOSA.) Tj ET"
    )
    page = "/MediaBox [0 0 600 800] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >>"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /Page /Parent 2 0 R {page} >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    (tmp_path / "notes.pdf").write_bytes(pdf_file(objs))
    doc = read_document(tmp_path / "notes.pdf", tmp_path)
    assert "objects in 2023.³ Most States register." in doc.text  # not "2023.3", nor "2023. ³"
    assert "Table 1 gives 12 days." in doc.text and doc.text.endswith("\n³Figures reported by UNOOSA.")
    sentences = {c.text[s - c.start : e - c.start] for c in _check_offsets(doc) for s, e in candidate_spans(c)}
    assert "Registrations rose to 2,917 objects in 2023.³" in sentences


def test_pdf_lines_become_sentences_articles_and_reference_records(tmp_path: Path):
    full = "States Parties to the Treaty shall carry on activities in the exploration and use of"
    page = (
        f"Journal of Space Law\nArticle IV\n{full}\nouter space in accordance with interna-\ntional law.\n"
        "References\nHart, B. L. (2007). Anti-satellite weapons, threats, laws and the uncertain future\n"
        "of Space. Montreal: McGill library.\nChanock A. (2013). The problems of Space Weapons.\n1"
    )
    pages = [page.replace("\n1", f"\n{n}") for n in (1, 2, 3)]
    (tmp_path / "paper.pdf").write_bytes(_pdf(pages))
    doc = read_document(tmp_path / "paper.pdf", tmp_path)
    assert doc.text.count("Journal of Space Law") == 1  # the running header, kept on page 1 only
    assert f"{full} outer space in accordance with international law." in doc.text
    assert [t for _, _, t in doc.headings] == ["Article IV", "References"] * 3
    assert [r.authors for r in doc.references[:2]] == [("Hart, B. L.",), ("Chanock A.",)]
    chunks = _check_offsets(doc)
    assert {"paper › Article IV › p. 1", "paper › Article IV › p. 2"} <= {c.locator for c in chunks}


def test_a_reference_entry_running_onto_the_next_page_is_indexed_whole(tmp_path: Path):
    full = "Chanock A. (2013). The problems and potential solutions related to the emergence of Space"
    pages = ["References\nHart, B. L. (2007). Anti-satellite weapons.\n" + full, "weapons in the 21st Century."]
    (tmp_path / "refs.pdf").write_bytes(_pdf(pages))
    doc = read_document(tmp_path / "refs.pdf", tmp_path)
    assert doc.references[1].raw == full + " weapons in the 21st Century."
    chunks = _check_offsets(doc)  # one chunk per reference entry, none cut at the page break
    assert any(c.text == doc.references[1].raw for c in chunks)
    # and a build takes it (this once stopped the whole build with an AssertionError)
    from qa.engine import build

    assert build(tmp_path, tmp_path / "idx", model="hash:64").stats.documents == 1


def test_a_pdf_of_only_page_furniture_is_refused(tmp_path: Path):
    (tmp_path / "numbers.pdf").write_bytes(_pdf(["1", "2", "3"]))
    with pytest.raises(UnreadableDocumentError, match="no text besides running headers and page numbers"):
        read_document(tmp_path / "numbers.pdf", tmp_path)
    (tmp_path / "slides.pdf").write_bytes(_pdf([f"Space Law Seminar 2024\n{n}" for n in (1, 2, 3)]))
    doc = read_document(tmp_path / "slides.pdf", tmp_path)  # page 1's top line is kept: a title
    assert doc.text == "Space Law Seminar 2024"


def test_pdf_citations_give_the_printed_page_number(tmp_path: Path):
    # Front matter in roman numerals, then an article printed on pages 211 and 212.
    labels = "/PageLabels << /Nums [0 << /S /r >> 1 << /S /D /St 211 >>] >> "
    pages = ["Contents of this issue.", "Liability is absolute on the surface.", "Consent is required first."]
    (tmp_path / "issue.pdf").write_bytes(_pdf(pages, catalog=labels))
    doc = read_document(tmp_path / "issue.pdf", tmp_path)
    assert doc.metadata["page_labels"] == ["i", "211", "212"]
    locators = {c.text: c.locator for c in _check_offsets(doc)}
    assert locators["Consent is required first."] == "issue › p. 212"
    (tmp_path / "plain.pdf").write_bytes(_pdf(pages))  # no labels: page order, and nothing stored
    assert "page_labels" not in read_document(tmp_path / "plain.pdf", tmp_path).metadata


def test_pdf_page_locator_on_second_page(tmp_path: Path):
    (tmp_path / "p.pdf").write_bytes(_pdf(["First page text here.", "Second page text here."]))
    doc = read_document(tmp_path / "p.pdf", tmp_path)
    chunks = chunk_document(doc, chunk_size=50, chunk_overlap=0)
    second = next(c for c in chunks if "Second" in c.text)
    assert second.locator.endswith("p. 2")


def test_encrypted_pdf_is_refused(tmp_path: Path):
    pypdf = pytest.importorskip("pypdf")
    from io import BytesIO

    reader = pypdf.PdfReader(BytesIO(_pdf(["Secret text."])))
    writer = pypdf.PdfWriter()
    writer.append_pages_from_reader(reader)
    writer.encrypt("pw")
    with open(tmp_path / "secret.pdf", "wb") as f:
        writer.write(f)
    with pytest.raises(UnreadableDocumentError, match="encrypted"):
        read_document(tmp_path / "secret.pdf", tmp_path)


# ------------------------------------------------------------------ hostile input


def test_docx_zip_bomb_is_refused_before_parsing(tmp_path, monkeypatch):
    docx = pytest.importorskip("docx")
    import zipfile

    from qa import ingest

    d = docx.Document()
    d.add_paragraph("A normal paragraph.")
    d.save(tmp_path / "bomb.docx")
    with zipfile.ZipFile(tmp_path / "bomb.docx", "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/zeros.bin", b"\0" * 3_000_000)  # compresses to a few KB
    assert (tmp_path / "bomb.docx").stat().st_size < 100_000
    monkeypatch.setattr(ingest, "DOCX_MAX_UNCOMPRESSED", 2_000_000)
    with pytest.raises(UnreadableDocumentError, match=r"^bomb.docx: the .docx file unpacks to .* zip bomb"):
        read_document(tmp_path / "bomb.docx", tmp_path)
    monkeypatch.setattr(ingest, "DOCX_MAX_UNCOMPRESSED", 10_000_000)
    assert "A normal paragraph." in read_document(tmp_path / "bomb.docx", tmp_path).text


def test_pdf_over_the_page_limit_is_refused(tmp_path, monkeypatch):
    from qa import ingest

    (tmp_path / "long.pdf").write_bytes(_pdf(["Page one.", "Page two.", "Page three."]))
    monkeypatch.setattr(ingest, "PDF_MAX_PAGES", 2)
    with pytest.raises(UnreadableDocumentError, match=r"^long.pdf: the PDF has 3 pages, over the 2-page limit"):
        read_document(tmp_path / "long.pdf", tmp_path)


def test_deeply_nested_html_is_refused_with_a_message(tmp_path):
    depth = 20_000
    (tmp_path / "deep.html").write_text(
        "<html><body>" + "<div>" * depth + "Deep text about orbital debris." + "</div>" * depth + "</body></html>"
    )
    with pytest.raises(UnreadableDocumentError, match="^deep.html: "):
        read_document(tmp_path / "deep.html", tmp_path)


@pytest.mark.parametrize(
    ("suffix", "target", "data"),
    [
        (".html", "trafilatura.extract", b"<html><body><p>Some text.</p></body></html>"),
        (".bib", "bibtexparser.parse_string", b"@article{k, title={T}}"),
        (".pdf", "pypdf.PdfReader", b"%PDF-1.4\n"),
        (".docx", "docx.Document", None),
    ],
)
def test_an_unexpected_parser_exception_skips_the_file_with_its_name(tmp_path, monkeypatch, suffix, target, data):
    if data is None:
        docx = pytest.importorskip("docx")
        docx.Document().save(tmp_path / f"bad{suffix}")
    else:
        (tmp_path / f"bad{suffix}").write_bytes(data)

    def broken(*args, **kwargs):
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(target, broken)
    with pytest.raises(UnreadableDocumentError, match=rf"^bad{suffix}: .*could not be parsed \(TypeError: 'NoneType'"):
        read_document(tmp_path / f"bad{suffix}", tmp_path)


def test_a_pdf_without_a_title_field_is_named_by_its_largest_type(tmp_path: Path):
    # The title in 20-point type (as size 1 scaled by the text matrix, as many PDF writers do),
    # the body in 9-point; the /Title field is the word processor's.
    stream = (
        "BT /F1 1 Tf 20 0 0 20 50 740 Tm (Orbital Debris and the Law) Tj ET "
        "BT /F1 9 Tf 50 700 Td (The growth of debris in low orbit raises questions of liability.) Tj "
        "0 -12 Td (Operators shall report any break-up within thirty days.) Tj ET"
    )
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 5 0 R "
        "/Resources << /Font << /F1 3 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Title (Microsoft Word - debris_v3.docx) >>",
    ]
    data = pdf_file(objs)
    data = data.replace(b"trailer\n<< ", b"trailer\n<< /Info 6 0 R ", 1)
    (tmp_path / "okafor_2025.pdf").write_bytes(data)
    doc = read_document(tmp_path / "okafor_2025.pdf", tmp_path)
    assert doc.title == doc.metadata["title"] == "Orbital Debris and the Law"
    assert _check_offsets(doc)[0].locator.startswith("Orbital Debris and the Law")
    # Without large type, the file name it is, as before.
    (tmp_path / "plain.pdf").write_bytes(_pdf(["Operators shall report any break-up within thirty days."]))
    assert read_document(tmp_path / "plain.pdf", tmp_path).title == "plain"


def test_a_pdf_title_set_in_a_scaled_form_xobject_is_found(tmp_path: Path):
    """pypdf restarts the matrix inside a form XObject, so a title drawn as a form at twice the
    body's size read as body-sized text and the PDF was named after its file."""
    title = b"BT /F1 10 Tf 0 0 Td (Orbital Debris and the Law) Tj ET"
    body = (
        "BT /F1 10 Tf 50 600 Td (Active debris removal raises questions of liability and consent.) Tj "
        "0 -12 Td (Each of them is taken up in turn in what follows below.) Tj ET"
    )

    def pdf(place: str, matrix: str = "") -> bytes:
        content = f"q {place} cm /Fm1 Do Q {body}"
        return pdf_file(
            [
                "<< /Type /Catalog /Pages 2 0 R >>",
                "<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                f"<< /Type /XObject /Subtype /Form /BBox [0 0 300 50] {matrix}/Resources << /Font << /F1 3 0 R >> >> "
                f"/Length {len(title)} >>\nstream\n{title.decode()}\nendstream",
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 6 0 R "
                "/Resources << /Font << /F1 3 0 R >> /XObject << /Fm1 4 0 R >> >> >>",
                f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
            ]
        )

    for name, data in {
        "drawn.pdf": pdf("2 0 0 2 50 700"),  # scaled where the form is drawn
        "matrix.pdf": pdf("1 0 0 1 50 700", "/Matrix [2 0 0 2 0 0] "),  # scaled by the form's own matrix
    }.items():
        (tmp_path / name).write_bytes(data)
        assert read_document(tmp_path / name, tmp_path).title == "Orbital Debris and the Law", name
    (tmp_path / "plain.pdf").write_bytes(pdf("1 0 0 1 50 700"))  # body-sized: not a title
    assert read_document(tmp_path / "plain.pdf", tmp_path).title == "plain"
