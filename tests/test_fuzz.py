"""Property-based fuzzing of ingestion (every format) and of the reference parser.

Random and mutated bytes must never crash the build: a file is either read
into a Document whose offsets hold, or refused with an UnreadableDocumentError
that names it. Termination is guaranteed by the product, not by the test: each
file is read with a parse-time bound (``parse_seconds``), so a hang would show up
as a refusal saying "took over", which the properties reject. Hypothesis runs
derandomized (a fixed seed), without its example database, and with no
deadline, so a slow machine cannot make it flaky.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.chunking import chunk_document
from qa.errors import UnreadableDocumentError
from qa.index import build_index
from qa.ingest import SUPPORTED_SUFFIXES, load_corpus, read_document
from qa.references import format_reference, parse_reference
from qa.sentences import candidate_spans
from tests.conftest import TINY_CORPUS
from tests.test_formats import BIB, RIS, _pdf

PARSE_SECONDS = 20.0
# 40 examples per property keeps `make test` fast; QA_FUZZ_EXAMPLES=2000 runs a deeper search.
EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HTML = (
    "<html><head><title>Debris</title></head><body><article><h1>Space debris</h1>"
    "<p>Space debris is a growing problem for satellites in low earth orbit today.</p>"
    "<h2>Kessler</h2><p>A cascade of collisions could follow.</p></article></body></html>"
)


def _docx(document_xml: bytes | None = None) -> bytes:
    """A small Word file; with ``document_xml``, its body part replaced by those bytes."""
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("Space security report", level=0)
    d.add_heading("Findings", level=1)
    d.add_paragraph("States should negotiate transparency and confidence-building measures.")
    buf = io.BytesIO()
    d.save(buf)
    if document_xml is None:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = document_xml if info.filename == "word/document.xml" else src.read(info)
            dst.writestr(info.filename, data)
    return out.getvalue()


DOCX = _docx()
with zipfile.ZipFile(io.BytesIO(DOCX)) as _z:
    DOCX_BODY = _z.read("word/document.xml")

SEEDS = {
    ".md": TINY_CORPUS["article.md"].encode(),
    ".txt": TINY_CORPUS["notes.txt"].encode(),
    ".html": HTML.encode(),
    ".pdf": _pdf(["Diplomacy keeps peace in orbit.", "Debris threatens satellites."]),
    ".docx": DOCX,
    ".bib": BIB.encode(),
    ".ris": RIS.encode(),
}


def _apply(seed: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for op, pos, chunk in edits:
        pos = pos % (len(data) + 1)
        if op == "insert":
            data[pos:pos] = chunk
        elif op == "overwrite":
            data[pos : pos + len(chunk)] = chunk
        elif op == "delete":
            del data[pos : pos + len(chunk)]
        elif op == "repeat":  # amplify a slice: nesting, long lines, many entries
            data[pos:pos] = bytes(data[pos : pos + len(chunk)]) * 50
        else:
            del data[pos:]
    return bytes(data)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed file with a few random insertions, overwrites, deletions, repeats or a truncation."""
    edit = st.tuples(
        st.sampled_from(["insert", "overwrite", "delete", "repeat", "truncate"]),
        st.integers(0, 1 << 20),
        st.binary(min_size=1, max_size=24),
    )
    return st.lists(edit, min_size=1, max_size=6).map(lambda edits: _apply(seed, edits))


def any_bytes(suffix: str) -> st.SearchStrategy[bytes]:
    seed = SEEDS[suffix]
    return st.one_of(st.binary(max_size=2048), mutated(seed), st.just(seed))


def check_read(path: Path, root: Path) -> None:
    """The property: a Document with sound offsets, or a refusal that names the file."""
    name = path.relative_to(root).as_posix()
    try:
        doc = read_document(path, root, parse_seconds=PARSE_SECONDS)
    except UnreadableDocumentError as exc:
        message = str(exc)
        assert message.startswith(f"{name}: ") and len(message) > len(name) + 10, message
        assert "took over" not in message, message  # the time bound is a safety net, never needed here
        return
    assert doc.path == name and doc.text == doc.text.replace("\r", "")
    for ref in doc.references:
        assert doc.text[ref.start : ref.end] == ref.raw
    for chunk in chunk_document(doc):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        for start, end in candidate_spans(chunk):
            assert chunk.start <= start < end <= chunk.end


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_fuzzed_file_is_read_or_refused_with_its_name(suffix, tmp_path):
    @FUZZ
    @given(data=any_bytes(suffix))
    def prop(data: bytes) -> None:
        path = tmp_path / f"fuzzed{suffix}"
        path.write_bytes(data)
        check_read(path, tmp_path)

    prop()


def test_every_supported_format_is_fuzzed():
    assert set(SEEDS) | {".markdown", ".htm"} == set(SUPPORTED_SUFFIXES)


@FUZZ
@given(body=mutated(DOCX_BODY))
def test_fuzzed_docx_xml_is_read_or_refused(body, tmp_path):
    path = tmp_path / "inner.docx"
    path.write_bytes(_docx(body))
    check_read(path, tmp_path)


_YAML_ALPHABET = st.sampled_from(list("ab:-[]{},&*!|>'\"# \n\t?%@`=<") + ["&x ", "*x", "<<: *x", "!!str ", "\n  "])


@FUZZ
@given(front=st.lists(_YAML_ALPHABET, max_size=120).map("".join), body=st.text(max_size=200))
def test_fuzzed_front_matter_is_read_or_refused(front, body, tmp_path):
    path = tmp_path / "front.md"
    path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    check_read(path, tmp_path)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
@given(data=st.sampled_from(sorted(SEEDS)).flatmap(lambda s: st.tuples(st.just(s), any_bytes(s))))
def test_a_fuzzed_file_never_stops_the_build(data, tmp_path, embedder):
    """A corpus of one good document and one fuzzed file: the good one is always indexed."""
    suffix, raw = data
    root = tmp_path / "corpus"
    root.mkdir(exist_ok=True)
    for old in root.iterdir():
        old.unlink()
    (root / "good.md").write_text(TINY_CORPUS["treaty.md"], encoding="utf-8")
    (root / f"zz{suffix}").write_bytes(raw)
    loaded = load_corpus(root, parse_seconds=PARSE_SECONDS)
    assert "good" in {d.doc_id for d in loaded.documents}
    assert len(loaded.documents) + len(loaded.skipped) == 2
    for skip in loaded.skipped:
        assert skip.path == f"zz{suffix}" and skip.reason and "took over" not in skip.reason
    index, stats = build_index(loaded.documents, embedder)
    assert stats.documents == len(loaded.documents) and sum(stats.chunk_counts.values()) == len(index.chunks)


REFERENCE_LIKE = st.sampled_from(
    [
        "Hart, B. L. (2007). Anti-satellite weapons. Institute of Air and Space Law, McGill University. Montreal: "
        "McGill library.",
        "Milik, P. (2016). Rules for the transfer of weapons. „Security and Defence Quarterly” No. 13(4). "
        "DOI: 10.35467/sdq/103233.",
        "A/RES/61/75; Transparency and Confidence – building measures in outer space activities, 2006.",
        "Kowalski, J. (2019). Space law. JALC No. 4, Vol. 78. https://example.org/a (12.03.2020)",
    ]
)


@FUZZ
@given(
    raw=st.one_of(
        st.text(max_size=400),
        REFERENCE_LIKE.flatmap(lambda s: mutated(s.encode()).map(lambda b: b.decode("utf-8", "replace"))),
    )
)
def test_reference_parser_never_crashes_and_keeps_the_entry(raw):
    ref = parse_reference(raw, doc_id="d", n=3, start=10)
    assert ref.raw == raw and (ref.start, ref.end) == (10, 10 + len(raw)) and ref.ref_id == "d#ref-3"
    assert (ref.kind == "unparsed") == bool(ref.flagged)
    assert isinstance(format_reference(ref), str)


@settings(FUZZ, max_examples=10)
@given(n=st.integers(1, 6), width=st.integers(2, 9))
def test_long_and_repetitive_reference_entries_are_parsed(n, width):
    # Amplified patterns that make backtracking regular expressions slow if unbounded.
    raw = "A" * (2000 * n) + " (" * width * 500 + "DOI: 10.1000/" + "x." * (3000 * n)
    ref = parse_reference(raw, doc_id="d", n=1, start=0)
    assert ref.raw == raw
