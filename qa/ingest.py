"""Read corpus files into Documents: canonical text, metadata, headings, references.

This is the only stage that reads documents from disk. Text is normalised once
here (Unicode NFC, ``\\n`` line endings); every offset elsewhere indexes into
that canonical text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa.errors import CorpusError, UnreadableDocumentError
from qa.references import parse_reference
from qa.types import Document

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".html", ".htm", ".docx", ".bib", ".ris")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_REFERENCE_SECTION = re.compile(r"^(references|bibliography|sources|works cited|literature)$", re.I)


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusLoad:
    """The result of reading a corpus folder."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]


def normalize_text(text: str) -> str:
    """Canonical form of document text: NFC, ``\\n`` line endings, no BOM."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for(path: Path, root: Path) -> str:
    """Stable id from the path inside the corpus: ``treaties/ost.md`` -> ``treaties/ost``."""
    rel = path.relative_to(root).with_suffix("")
    return re.sub(r"[^\w\-/.]+", "_", rel.as_posix())


def decode_bytes(data: bytes, name: str) -> str:
    """Decode text bytes, refusing binary data instead of indexing mojibake.

    UTF-8 is tried first (strictly); a file that is not UTF-8 but decodes as
    Windows-1252 without control characters is accepted as such, since that is
    what word processors on Windows write.
    """
    if not data.strip():
        raise UnreadableDocumentError(f"{name}: the file is empty; add text to it or remove it")
    if b"\x00" in data[:8192]:
        raise UnreadableDocumentError(
            f"{name}: looks like a binary file (it contains NUL bytes), not text; "
            "save it as UTF-8 text or use a supported format (.md, .txt, .pdf)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnreadableDocumentError(
            f"{name}: not valid UTF-8 or Windows-1252 text ({exc.reason} at byte {exc.start}); "
            "re-save it as UTF-8"
        ) from None
    if re.search(r"[\x00-\x08\x0e-\x1f\x7f]", text):
        raise UnreadableDocumentError(
            f"{name}: not valid UTF-8 and contains control characters; re-save it as UTF-8 text"
        )
    return text


def parse_markdown(text: str, *, doc_id: str, path: str, fallback_title: str) -> Document:
    """Build a Document from Markdown with optional YAML front matter.

    The front matter becomes metadata and is not part of the canonical text;
    entries under a "References" heading become Reference records.
    """
    text = normalize_text(text)
    metadata: dict = {}
    if m := _FRONT_MATTER.match(text):
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError as exc:
            raise UnreadableDocumentError(
                f"{path}: its YAML front matter is invalid ({exc.__class__.__name__}); "
                "fix the block between the '---' lines"
            ) from None
        if isinstance(loaded, dict):
            metadata = {str(k): _plain(v) for k, v in loaded.items()}
        text = text[m.end():]
    headings = tuple((h.start(), len(h.group(1)), h.group(2).strip()) for h in _HEADING.finditer(text))
    title = str(metadata.get("title") or next((t for _, lvl, t in headings if lvl == 1), fallback_title))
    return Document(
        doc_id=doc_id, path=path, title=title, text=text, sha256=sha256_text(text),
        metadata=metadata, headings=headings,
        references=tuple(_references(text, headings, doc_id)),
    )


def _plain(value):
    """YAML values as JSON-safe plain types (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _references(text: str, headings, doc_id: str):
    for i, (pos, level, title) in enumerate(headings):
        if not _REFERENCE_SECTION.match(title):
            continue
        body_start = text.index("\n", pos) + 1 if "\n" in text[pos:] else len(text)
        body_end = next((p for p, lvl, _ in headings[i + 1:] if lvl <= level), len(text))
        n = 0
        for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text[body_start:body_end]):
            raw = m.group(0).strip()
            if not raw:
                continue
            n += 1
            start = body_start + m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            yield parse_reference(raw, doc_id=doc_id, n=n, start=start)


def parse_pdf(data: bytes, *, doc_id: str, path: str, fallback_title: str) -> Document:
    """Text of each page, joined by blank lines; page start offsets go in metadata['pages']."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocumentError(f"{path}: the PDF is encrypted; save an unencrypted copy")
        pages = [normalize_text(page.extract_text() or "").strip() for page in reader.pages]
        info_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnreadableDocumentError(f"{path}: the PDF could not be read ({exc}); it may be corrupt") from None
    if not any(pages):
        raise UnreadableDocumentError(
            f"{path}: the PDF has no text layer (scanned images?); OCR is not supported, add a text version"
        )
    starts, parts, pos = [], [], 0
    for page in pages:
        starts.append(pos)
        parts.append(page)
        pos += len(page) + 2
    text = "\n\n".join(parts)
    title = str(info_title or fallback_title)
    return Document(
        doc_id=doc_id, path=path, title=title, text=text, sha256=sha256_text(text),
        metadata={"title": title, "pages": starts},
    )


def html_to_markdown(html: str, name: str) -> tuple[str, str | None]:
    """Main text of a web page as Markdown (scripts, navigation, footers dropped) and its title."""
    import trafilatura

    body = trafilatura.extract(html, output_format="markdown", include_comments=False, include_tables=True)
    if not body or not body.strip():
        raise UnreadableDocumentError(f"{name}: no main text found in the HTML page")
    meta = trafilatura.extract_metadata(html)
    return body, (meta.title if meta and meta.title else None)


def docx_to_markdown(data: bytes, name: str) -> tuple[str, str | None]:
    """Paragraphs of a Word file; "Heading N" styles become Markdown headings (locators)."""
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocumentError(f"{name}: not a readable .docx file ({exc}); re-save it from Word") from None
    lines = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = style.removeprefix("Heading ").strip()
        if style == "Title":
            lines.append(f"# {text}")
        elif style.startswith("Heading ") and level.isdigit():
            lines.append(f"{'#' * min(int(level) + 1, 6)} {text}")
        else:
            lines.append(text)
    if not lines:
        raise UnreadableDocumentError(f"{name}: the .docx file has no text")
    return "\n\n".join(lines), (document.core_properties.title or None)


_BIB_KINDS = {"article": "article", "book": "book", "inbook": "book", "incollection": "book",
              "techreport": "report", "misc": "report", "JOUR": "article", "BOOK": "book",
              "CHAP": "book", "RPRT": "report", "GOVDOC": "un_document", "STAT": "treaty"}


def _bib_records(data: str, suffix: str, name: str) -> list[dict]:
    """Entries of a BibTeX or RIS file as plain field dicts."""
    if suffix == ".ris":
        import rispy

        try:
            entries = rispy.loads(data)
        except Exception as exc:  # rispy raises bare IOError/ValueError subclasses for bad files
            raise UnreadableDocumentError(f"{name}: not a valid RIS file ({exc})") from None
        return [{
            "kind": _BIB_KINDS.get(e.get("type_of_reference", ""), "report"),
            "authors": tuple(e.get("authors") or e.get("first_authors") or ()),
            "year": str(e.get("year") or e.get("publication_year") or "").strip("/") or None,
            "title": e.get("title") or e.get("primary_title"),
            "container": e.get("journal_name") or e.get("secondary_title") or e.get("publisher"),
            "volume": e.get("volume"), "issue": e.get("number"), "place": e.get("place_published"),
            "publisher": e.get("publisher"), "doi": e.get("doi"), "url": (e.get("urls") or [None])[0],
        } for e in entries]
    import bibtexparser

    library = bibtexparser.parse_string(data)
    out = []
    for e in library.entries:
        f = {field.key.lower(): str(field.value).strip("{} ") for field in e.fields}
        authors = tuple(a.strip() for a in f.get("author", f.get("editor", "")).split(" and ") if a.strip())
        out.append({
            "kind": _BIB_KINDS.get(e.entry_type.lower(), "report"), "authors": authors,
            "year": f.get("year"), "title": f.get("title"),
            "container": f.get("journal") or f.get("booktitle") or f.get("series") or f.get("institution"),
            "volume": f.get("volume"), "issue": f.get("number"), "place": f.get("address"),
            "publisher": f.get("publisher"), "doi": f.get("doi"), "url": f.get("url"),
        })
    if library.failed_blocks and not out:
        raise UnreadableDocumentError(f"{name}: no BibTeX entry could be parsed")
    return out


def parse_bibliography(data: str, *, suffix: str, doc_id: str, path: str, title: str) -> Document:
    """A .bib or .ris file as a document: each entry rendered as one line of a
    "References" section (the canonical text), with its parsed fields as a Reference."""
    from qa.types import Reference

    records = _bib_records(normalize_text(data), suffix, path)
    if not records:
        raise UnreadableDocumentError(f"{path}: no reference entries found")
    text = f"# {title}\n\n## References\n\n"
    headings = ((0, 1, title), (len(f"# {title}\n\n"), 2, "References"))
    refs = []
    for n, rec in enumerate(records, 1):
        parts = ["; ".join(rec["authors"])] if rec["authors"] else []
        parts += [f"({rec['year']})." if rec["year"] else "", f"{rec['title']}." if rec["title"] else ""]
        parts += [f"{rec['container']}." if rec["container"] else ""]
        parts += [f"DOI: {rec['doi']}." if rec["doi"] else ""]
        raw = " ".join(p for p in parts if p).strip() or "(empty entry)"
        start = len(text)
        text += raw + "\n\n"
        refs.append(Reference(ref_id=f"{doc_id}#ref-{n}", doc_id=doc_id, n=n, raw=raw, start=start,
                              end=start + len(raw), **{k: v or None for k, v in rec.items() if k != "authors"},
                              authors=rec["authors"]))
    text = text.rstrip("\n") + "\n"
    return Document(doc_id=doc_id, path=path, title=title, text=text, sha256=sha256_text(text),
                    metadata={"title": title, "type": "bibliography"}, references=tuple(refs),
                    headings=headings)


def read_document(path: Path, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one corpus file.

    Raises:
        UnreadableDocumentError: the file is empty, binary, too large, badly
            encoded, or a PDF without text.
    """
    name = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > max_bytes:
        raise UnreadableDocumentError(
            f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit; split it or raise --max-mb"
        )
    data = path.read_bytes()
    doc_id = doc_id_for(path, root)
    fallback = path.stem.replace("_", " ")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return parse_pdf(data, doc_id=doc_id, path=name, fallback_title=fallback)
    if suffix == ".docx":
        body, title = docx_to_markdown(data, name)
        doc = parse_markdown(body, doc_id=doc_id, path=name, fallback_title=title or fallback)
        return dataclasses.replace(doc, metadata={"title": doc.title, **doc.metadata})
    text = decode_bytes(data, name)
    if suffix in (".md", ".markdown"):
        return parse_markdown(text, doc_id=doc_id, path=name, fallback_title=fallback)
    if suffix in (".html", ".htm"):
        body, title = html_to_markdown(text, name)
        doc = parse_markdown(body, doc_id=doc_id, path=name, fallback_title=title or fallback)
        return dataclasses.replace(doc, metadata={"title": doc.title, **doc.metadata})
    if suffix in (".bib", ".ris"):
        return parse_bibliography(text, suffix=suffix, doc_id=doc_id, path=name, title=fallback)
    text = normalize_text(text)
    return Document(
        doc_id=doc_id, path=name, title=fallback, text=text, sha256=sha256_text(text),
        metadata={"title": fallback},
    )


def corpus_files(root: Path) -> Iterable[Path]:
    """Every regular, non-hidden file under ``root``, sorted for a stable order."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(".") for p in rel) and path.name != "README.md":
            yield path


def load_corpus(root: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CorpusLoad:
    """Read every supported file of a corpus folder.

    A file that cannot be read is reported in ``skipped`` with the reason;
    the rest are still loaded. Identical content under two names is indexed
    once and the duplicate reported.

    Raises:
        CorpusError: the folder does not exist or holds no readable document.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist; create it or pass --corpus DIR")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for path in corpus_files(root):
        name = path.relative_to(root).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(Skipped(name, f"unsupported file type {path.suffix or '(none)'}; "
                                         f"supported: {', '.join(SUPPORTED_SUFFIXES)}"))
            continue
        try:
            doc = read_document(path, root, max_bytes=max_bytes)
        except UnreadableDocumentError as exc:
            skipped.append(Skipped(name, str(exc)))
            continue
        if doc.sha256 in seen:
            skipped.append(Skipped(name, f"same content as {seen[doc.sha256]}; indexed once"))
            continue
        seen[doc.sha256] = name
        documents.append(doc)
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
        raise CorpusError(
            f"corpus folder {root} has no readable documents"
            + (f" ({detail})" if detail else "")
            + "; add .md, .txt or .pdf files"
        )
    return CorpusLoad(tuple(documents), tuple(skipped))
