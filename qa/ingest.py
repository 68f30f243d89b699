"""Read corpus files into Documents: canonical text, metadata, headings, references.

This is the only stage that reads documents from disk. Text is normalised once
here (Unicode NFC, ``\\n`` line endings); every offset elsewhere indexes into
that canonical text.
"""

from __future__ import annotations

import calendar
import codecs
import dataclasses
import hashlib
import html as htmllib
import itertools
import logging
import math
import re
import signal
import threading
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa.errors import CorpusError, UnreadableDocumentError
from qa.references import REFERENCE_SECTION, UN_SYMBOL, parse_reference
from qa.reflow import pdf_title, raise_marks, reflow_pages
from qa.types import Document

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".html", ".htm", ".docx", ".bib", ".ris")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)

# Bounds on untrusted input (docs/reliability.md). Each is far above what a real
# document needs and far below what exhausts a laptop.
FRONT_MATTER_MAX_BYTES = 64 * 1024
FRONT_MATTER_MAX_DEPTH = 20
FRONT_MATTER_MAX_NODES = 10_000
PDF_MAX_PAGES = 5_000
DOCX_MAX_UNCOMPRESSED = 200_000_000
DOCX_MAX_MEMBERS = 10_000
# Wall-clock bound on parsing one file (not embedding it), for loops in
# third-party parsers that no input bound catches. Enforced in the main thread.
DEFAULT_PARSE_SECONDS = 60.0


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        # The readers' reasons mostly open with the file name already: say it once.
        return self.reason if self.reason.startswith(f"{self.path}:") else f"{self.path}: {self.reason}"


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
    # NFC: a name saved on a Mac spells "é" as "e" plus a combining accent, which \w does not match.
    return re.sub(r"[^\w\-/.]+", "_", unicodedata.normalize("NFC", rel.as_posix()))


# An HTML page's own statement of its encoding: <meta charset="…"> or the http-equiv form.
_HTML_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
# At most this many undecodable bytes in text that is otherwise UTF-8 are read as U+FFFD:
# one stray byte must not turn every accented letter of a page into mojibake.
MAX_STRAY_BYTES = 8


def declared_charset(data: bytes) -> str | None:
    """The encoding an HTML file declares in its first 4 KB, as a Python codec name, if known."""
    m = _HTML_CHARSET.search(data[:4096])
    if not m:
        return None
    try:
        return codecs.lookup(m.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def decode_bytes(data: bytes, name: str, *, declared: str | None = None) -> str:
    """Decode text bytes, refusing binary data instead of indexing mojibake.

    Valid UTF-8 is read as UTF-8. Otherwise an encoding the file declares (``declared``: an
    HTML page's charset) is used when the bytes decode with it; then UTF-8 again, allowing up
    to ``MAX_STRAY_BYTES`` bad bytes (read as U+FFFD) in text that is otherwise UTF-8; then
    Windows-1252 without control characters, since that is what word processors on Windows
    write.
    """
    if not data.strip():
        raise UnreadableDocumentError(f"{name}: the file is empty; add text to it or remove it")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark (Windows "Unicode" text)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableDocumentError(
                f"{name}: starts like UTF-16 text but does not decode ({exc.reason}); re-save it as UTF-8"
            ) from None
    if b"\x00" in data[:8192]:
        raise UnreadableDocumentError(
            f"{name}: looks like a binary file (it contains NUL bytes), not text; "
            f"save it as UTF-8 text or use a supported format ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    try:
        # Bytes that are valid UTF-8 are UTF-8, whatever a page declares: pages saved as UTF-8
        # often keep an old "iso-8859-1" declaration, and other encodings rarely pass as UTF-8.
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if declared and declared not in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass  # the declaration is wrong too: judge the bytes themselves
    text = data.decode("utf-8", errors="replace")
    stray = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    # Several valid multi-byte sequences say the file is UTF-8; a few bad bytes are damage in it.
    if stray <= MAX_STRAY_BYTES and len(re.findall(rb"[\xc2-\xf4][\x80-\xbf]+", data)) > 2 * stray:
        return text
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise UnreadableDocumentError(
            f"{name}: not valid UTF-8 (the first bad byte is at {first_bad:,}) or Windows-1252 text; "
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
        metadata = load_front_matter(m.group(1), path)
        text = text[m.end() :]
    headings = tuple((h.start(), len(h.group(1)), h.group(2).strip()) for h in _HEADING.finditer(text))
    title = str(metadata.get("title") or next((t for _, lvl, t in headings if lvl == 1), fallback_title))
    return Document(
        doc_id=doc_id,
        path=path,
        title=title,
        text=text,
        sha256=sha256_text(text),
        metadata=metadata,
        headings=headings,
        references=tuple(_references(text, headings, doc_id)),
    )


class FrontMatterError(yaml.YAMLError):
    """Front matter that is valid YAML but refused: aliases, too deep, too many values."""


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and bounds nesting and node count while composing.

    The checks run on parser events, before any Python value is built: an alias
    bomb ("billion laughs") is a few hundred bytes of anchors and ``*alias``
    references that expand to billions of values once the shared nodes are
    copied out, so it has to be refused at the first alias, not measured after.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            # The block starts on the file's second line, after the opening '---'.
            raise FrontMatterError(
                f"it uses the YAML alias *{event.anchor} (line {event.start_mark.line + 2} of the file); "
                "aliases are not allowed in front matter, write the value out instead"
            )
        self._nodes += 1
        if self._nodes > FRONT_MATTER_MAX_NODES:
            raise FrontMatterError(f"it holds more than {FRONT_MATTER_MAX_NODES:,} values; keep metadata short")
        self._depth += 1
        try:
            if self._depth > FRONT_MATTER_MAX_DEPTH:
                raise FrontMatterError(
                    f"it nests values more than {FRONT_MATTER_MAX_DEPTH} levels deep; flatten the metadata"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_front_matter(block: str, path: str) -> dict:
    """Metadata from the YAML between the ``---`` lines, as plain JSON-safe values.

    Raises:
        UnreadableDocumentError: the block is over ``FRONT_MATTER_MAX_BYTES``, not
            valid YAML, or uses aliases, deep nesting or too many values.
    """
    size = len(block.encode("utf-8"))
    if size > FRONT_MATTER_MAX_BYTES:
        raise UnreadableDocumentError(
            f"{path}: its YAML front matter is {size:,} bytes, over the {FRONT_MATTER_MAX_BYTES:,}-byte limit; "
            "keep metadata short and move long text below the closing '---'"
        )
    try:
        loader = _FrontMatterLoader(block)  # the reader already rejects control characters here
        try:
            loaded = loader.get_single_data()
        finally:
            loader.dispose()
    except FrontMatterError as exc:
        raise UnreadableDocumentError(f"{path}: its YAML front matter was refused: {exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise UnreadableDocumentError(
            f"{path}: its YAML front matter is invalid ({exc.__class__.__name__}); "
            "fix the block between the '---' lines"
        ) from None
    return {str(k): _plain(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


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
        if not REFERENCE_SECTION.match(title):
            continue
        body_start = text.index("\n", pos) + 1 if "\n" in text[pos:] else len(text)
        body_end = next((p for p, lvl, _ in headings[i + 1 :] if lvl <= level), len(text))
        n = 0
        for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text[body_start:body_end]):
            for start, end in _list_items(text, body_start + m.start(), body_start + m.end()):
                raw = text[start:end].strip()
                if not raw:
                    continue
                n += 1
                start += len(text[start:end]) - len(text[start:end].lstrip())
                yield parse_reference(raw, doc_id=doc_id, n=n, start=start)


_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•]|\d{1,3}[.)]|\[\d{1,3}\])[ \t]+")


def _list_items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A paragraph of the reference list as entries: itself, or, when it is a list (two or more
    lines opening with "1.", "-", "[3]" …, as an HTML <ol> or a DOCX list comes out), one entry
    per item, its marker left out (a wrapped line stays with its item)."""
    lines = [(m.start() + start, m.end() + start) for m in re.finditer(r"[^\n]+", text[start:end])]
    marked = [_LIST_MARKER.match(text, s) for s, _ in lines]
    if len(lines) < 2 or marked[0] is None or sum(m is not None for m in marked) < 2:
        return [(start, end)]
    items: list[list[int]] = []
    for (_s, e), m in zip(lines, marked, strict=True):
        if m is not None:
            items.append([m.end(), e])
        else:
            items[-1][1] = e
    return [(s, e) for s, e in items]


def parse_pdf(data: bytes, *, doc_id: str, path: str, fallback_title: str) -> Document:
    """The pages' text made into paragraphs (``qa.reflow``); page start offsets go in metadata['pages']."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf caps each decompressed stream (75 MB by default, pypdf.filters); the
    # page cap bounds how many of them one file can make us decode.
    # Its logged warnings ("EOF marker not found") would print bare on every index run;
    # a file it cannot read is reported as skipped, with the reason, instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # A PDF opens with "%PDF-" (readers allow 1 KB of junk before it). Anything else is another
    # kind of file with a .pdf name, which pypdf would report as a stream error.
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocumentError(
            f"{path}: this is not a PDF (no %PDF- header); export it as PDF, or give the file its real extension"
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocumentError(f"{path}: the PDF is encrypted; save an unencrypted copy")
        if len(reader.pages) > PDF_MAX_PAGES:
            raise UnreadableDocumentError(
                f"{path}: the PDF has {len(reader.pages):,} pages, over the {PDF_MAX_PAGES:,}-page limit; split it"
            )
        runs: list[list[tuple[str, float, float, float]]] = []  # each page's text as drawn: (text, size, x, y)
        pages = [normalize_text(_page_text(page, runs)).strip() for page in reader.pages]
        labels = _page_labels(reader)
        info_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except UnreadableDocumentError:
        raise
    except PdfReadError as exc:
        raise UnreadableDocumentError(f"{path}: the PDF could not be read ({exc}); it may be corrupt") from None
    except Exception as exc:  # any parser bug on bad bytes: see _parser_failure
        raise _parser_failure(path, "PDF", exc) from None
    if not any(pages):
        raise UnreadableDocumentError(
            f"{path}: the PDF has no text layer (scanned images?); OCR is not supported, add a text version"
        )
    flowed = reflow_pages(pages)
    text = flowed.text
    if not text.strip():
        raise UnreadableDocumentError(
            f"{path}: the PDF has no text besides running headers and page numbers; add a text version"
        )
    title = pdf_title(info_title, [(t, size) for t, size, _, _ in runs[0]]) or fallback_title
    return Document(
        doc_id=doc_id,
        path=path,
        title=title,
        text=text,
        sha256=sha256_text(text),
        metadata={"title": title, "pages": flowed.pages} | ({"page_labels": labels} if labels else {}),
        headings=flowed.headings,
        references=tuple(_references(text, flowed.headings, doc_id)),
    )


def _page_text(page, runs: list[list[tuple[str, float, float, float]]]) -> str:
    """The page's text with its footnote marks as superscripts (``qa.reflow.raise_marks``); its
    runs are appended to ``runs``."""
    drawn: list[tuple[str, float, float, float]] = []
    runs.append(drawn)
    text = page.extract_text(**_type_sizes(drawn, page)) or ""
    # The runs are the text as pypdf writes it out; were they ever to differ, its text stands.
    return raise_marks(drawn) if "".join(t for t, _, _, _ in drawn) == text else text


def _type_sizes(runs: list[tuple[str, float, float, float]], page) -> dict:
    """pypdf text visitors (keyword arguments of ``extract_text``) appending (text, size in
    points, x, baseline height) to ``runs``: the font size scaled by the text and user matrices (many PDFs set size
    1 and scale the matrix instead). Inside a form XObject pypdf starts its matrix afresh, so the
    scale the form was drawn at (the matrix at its ``Do``, and the form's own /Matrix) is kept
    here: a title set in a form drawn at twice the size is twice the size."""
    forms: list[float] = []  # the upright scale of each form being drawn, outermost first

    def _upright(m) -> float:
        return math.hypot(float(m[2]), float(m[3]))

    def before(op, args, cm, tm) -> None:
        if op == b"Do":
            try:
                form = page["/Resources"]["/XObject"][args[0]].get_object()
                matrix = form.get("/Matrix")
                forms.append(_upright(cm) * (_upright(matrix) if matrix else 1.0))
            except (KeyError, TypeError, IndexError, ValueError, AttributeError):
                forms.append(_upright(cm))  # a form of a nested form's own resources: its draw scale only

    def after(op, args, cm, tm) -> None:
        if op == b"Do" and forms:
            forms.pop()

    def visit(text, cm, tm, font_dict, font_size) -> None:
        scale = _upright(tm) * _upright(cm) * math.prod(forms)  # the length of the glyphs' upright
        x = float(tm[4]) * float(cm[0]) + float(tm[5]) * float(cm[2]) + float(cm[4])
        y = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])
        runs.append((text, float(font_size or 0) * scale, x, y))

    return {"visitor_text": visit, "visitor_operand_before": before, "visitor_operand_after": after}


def _page_labels(reader) -> list[str] | None:
    """The numbers printed on the pages, when the PDF says they differ from its page order
    (front matter in roman numerals, a journal article on pages 211–214): citations give those."""
    try:
        labels = [str(label) for label in reader.page_labels]
    except Exception:  # a damaged /PageLabels tree: page order it is
        return None
    if len(labels) != len(reader.pages) or labels == [str(n) for n in range(1, len(labels) + 1)]:
        return None
    return labels


def _parser_failure(name: str, kind: str, exc: Exception) -> UnreadableDocumentError:
    """The error for a third-party parser that failed on one file.

    pypdf, python-docx, trafilatura, bibtexparser and rispy raise many exception
    types on malformed bytes (TypeError, IndexError, RecursionError, ...); one
    bad file must be skipped with its reason, not stop the build.
    """
    detail = str(exc).strip()
    detail = f"{exc.__class__.__name__}: {detail[:200]}" if detail else exc.__class__.__name__
    return UnreadableDocumentError(f"{name}: the {kind} file could not be parsed ({detail}); it may be corrupt")


def html_to_markdown(html: str, name: str) -> tuple[str, dict]:
    """Main text of a web page as Markdown (scripts, navigation, footers dropped) and its
    metadata: title, authors and date (a byline is not main text, so it is kept here),
    site name as ``source``, canonical URL.

    Raises:
        UnreadableDocumentError: no main text: a page of links only, or one whose text
            a script builds (only a ``<noscript>`` notice is there to read).
    """
    import trafilatura

    # libxml2 (under trafilatura) refuses trees deeper than 256 levels; the file
    # size limit and the parse-time bound cover the rest.
    try:
        body = trafilatura.extract(
            html, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
        )
        # Not "extensive": a date guessed from the body ("resolution 62/217 of 22 December 2007")
        # is no publication date, and it would appear in every citation of the page.
        meta = trafilatura.extract_metadata(html, extensive=False) if body and body.strip() else None
        authors = [a.strip() for a in (meta.author or "").split(";") if a.strip()] if meta else []
        date = (meta.date or _byline_date(html, authors)) if meta else None
    except Exception as exc:  # any parser bug on bad bytes: see _parser_failure
        raise _parser_failure(name, "HTML", exc) from None
    body = plain_markdown(body or "")
    if not body.strip():
        raise UnreadableDocumentError(f"{name}: no main text found in the HTML page")
    noscript = " ".join(
        re.sub(r"<[^>]*>", " ", n) for n in re.findall(r"<noscript\b[^>]*>(.*?)</noscript>", html, re.S | re.I)
    )
    if " ".join(body.split()) in " ".join(noscript.split()):
        raise UnreadableDocumentError(
            f"{name}: the page's text is built by JavaScript, so the file holds none; open the page in a "
            'browser, let it load, and save it as "Web page, complete" or print it to PDF'
        )
    # A menu's items are short and unpunctuated; a sentence, however short, is text.
    if not any(len(line.split()) >= 4 or line.rstrip().endswith((".", "!", "?", "…")) for line in body.splitlines()):
        raise UnreadableDocumentError(f"{name}: no main text found in the HTML page, only links or short labels")
    out = {}
    if meta is not None:
        fields = {"title": meta.title, "authors": authors, "date": date, "source": meta.sitename, "url": meta.url}
        out = {k: v for k, v in fields.items() if v}
    return body, out


_BYLINE = re.compile(r"(?:by|posted|published|updated|written|last (?:updated|modified))\b", re.I)


def _byline_date(html: str, authors: list[str]) -> str | None:
    """The date of a byline ("By Jane Doe, 3 May 2024"): a short text that opens like one or
    names an author, among the page's first text nodes. Never a date from anywhere in the
    body, as trafilatura's extensive search takes one."""
    import htmldate  # trafilatura's own dependency

    for m in itertools.islice(re.finditer(r">([^<>]{4,160})<", html), 300):  # the top of the page
        text = " ".join(htmllib.unescape(m.group(1)).split())
        if re.search(r"\d{4}", text) and (_BYLINE.match(text) or any(a in text for a in authors)):
            page = f"<html><body><p>{htmllib.escape(text)}</p></body></html>"
            if date := htmldate.find_date(page, extensive_search=True, outputformat="%Y-%m-%d"):
                return date
    return None


_SUPERSCRIPT = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def plain_markdown(text: str) -> str:
    """trafilatura's Markdown as text a reader can quote: ``a\\*b`` is ``a*b``, ``**bold**``
    is ``bold``, ``2007<sup>6</sup>`` is ``2007⁶`` (not "20076") and ``H<sub>2</sub>O`` is
    ``H₂O``. Headings, lists and tables stay: they make the locators. A paragraph that
    opens with a literal "#" gets a leading space, so it is not read as a heading."""

    def script(m: re.Match) -> str:
        inner = m.group(2)
        table = _SUPERSCRIPT if m.group(1).lower() == "sup" else _SUBSCRIPT
        # A mark that has no Unicode form ("a", "[2]") stays as it is written.
        return inner.translate(table) if inner and all(ord(ch) in table for ch in inner) else inner

    text = re.sub(r"<(sup|sub)>(.*?)</\1>", script, text, flags=re.I)
    text = re.sub(r"(?<!\\)\*\*(.+?)(?<!\\)\*\*", r"\1", text)  # emphasis: trafilatura escapes literal "*"
    text = re.sub(r"(?<![\\*])\*(?=\S)(.+?)(?<=[^\s\\])\*(?!\*)", r"\1", text)
    text = re.sub(r"^\\#", " #", text, flags=re.M)
    return re.sub(r"\\([\\`*_{}\[\]()<>#+\-.!|~])", r"\1", text)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _docx_text(element) -> str:
    """The text of a paragraph or cell as Word shows it: every run, also inside tracked
    insertions, links and content controls (deleted text is ``w:delText``, left out), tabs
    and line breaks as spaces."""
    parts = []
    for node in element.iter(_W + "t", _W + "tab", _W + "br", _W + "p"):
        # A text box is stored twice, its VML copy under mc:Fallback: read once.
        if next(node.iterancestors(_FALLBACK), None) is None:
            parts.append((node.text or "") if node.tag == _W + "t" else " ")  # paragraphs: a space between
    return " ".join("".join(parts).split())


def _docx_blocks(document) -> list[tuple[str, str]]:
    """(text, style name) per paragraph in reading order, also those that python-docx's
    ``paragraphs`` skips: inside content controls (a Word bibliography, a citation manager's
    list) and tables, whose rows become one line each ("cell | cell | cell")."""
    from docx.text.paragraph import Paragraph

    out: list[tuple[str, str]] = []

    def walk(parent) -> None:
        for child in parent:
            if child.tag == _W + "p":
                style = Paragraph(child, document).style
                out.append((_docx_text(child), (style.name if style is not None else "") or ""))
            elif child.tag == _W + "tbl":
                for row in child.findall(_W + "tr"):  # a nested table is read inside its cell
                    cells = [_docx_text(cell) for cell in row.findall(_W + "tc")]
                    out.append((" | ".join(c for c in cells if c), ""))
            elif child.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml", _W + "ins"):
                walk(child)

    walk(document.element.body)
    return out


def _docx_footnotes(archive) -> list[tuple[str, str]]:
    """(number, text) of each footnote and endnote (their separators left out)."""
    from docx.oxml import parse_xml  # python-docx's parser: no entities resolved, no network

    notes = []
    for part, tag in (("word/footnotes.xml", "footnote"), ("word/endnotes.xml", "endnote")):
        try:
            root = parse_xml(archive.read(part))
        except KeyError:
            continue
        for note in root.iter(_W + tag):
            if note.get(_W + "type") in (None, "normal") and (text := _docx_text(note)):
                notes.append((note.get(_W + "id", ""), text))
    return notes


def docx_to_markdown(data: bytes, name: str) -> tuple[str, str | None]:
    """Paragraphs of a Word file; "Heading N" styles become Markdown headings (locators)."""
    import io
    import zipfile

    import docx

    try:
        # zipfile stops inflating a member at its declared size (a larger output
        # fails the CRC check), so the directory's sizes bound the memory used.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
        total = sum(m.file_size for m in members)
        if len(members) > DOCX_MAX_MEMBERS or total > DOCX_MAX_UNCOMPRESSED:
            raise UnreadableDocumentError(
                f"{name}: the .docx file unpacks to {len(members):,} parts and {total / 1e6:,.0f} MB, over the "
                f"limits ({DOCX_MAX_MEMBERS:,} parts, {DOCX_MAX_UNCOMPRESSED / 1e6:.0f} MB); "
                "it may be a zip bomb, re-save it from Word"
            )
        document = docx.Document(io.BytesIO(data))
        paragraphs = _docx_blocks(document)
        title = document.core_properties.title or None
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            notes = _docx_footnotes(archive)
    except UnreadableDocumentError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocumentError(f"{name}: not a readable .docx file ({exc}); re-save it from Word") from None
    except Exception as exc:  # any parser bug on bad bytes: see _parser_failure
        raise _parser_failure(name, ".docx", exc) from None
    lines = []
    for text, style in paragraphs:
        if not text:
            continue
        level = style.removeprefix("Heading ").strip()
        if style == "Title":
            lines.append(f"# {text}")
        elif style.startswith("Heading ") and level.isdigit():
            lines.append(f"{'#' * min(int(level) + 1, 6)} {text}")
        else:
            # A body paragraph that opens with "#" ("# of fragments: 3,500") is no heading:
            # a space before it keeps it text.
            lines.append(f" {text}" if text.startswith("#") else text)
    if notes:
        lines += ["## Notes"] + [f"[{n}] {text}" for n, text in notes]
    if not lines:
        raise UnreadableDocumentError(f"{name}: the .docx file has no text")
    return "\n\n".join(lines), title


_BIB_KINDS = {
    "article": "article",
    "book": "book",
    "inbook": "book",
    "incollection": "book",
    "techreport": "report",
    "misc": "report",
    "JOUR": "article",
    "BOOK": "book",
    "CHAP": "book",
    "RPRT": "report",
    "GOVDOC": "un_document",
    "STAT": "treaty",
}


def _bib_records(data: str, suffix: str, name: str) -> list[dict]:
    """Entries of a BibTeX or RIS file as plain field dicts."""
    if suffix == ".ris":
        import rispy

        # rispy drops a last record that lacks its closing "ER  -" line (hand-edited files
        # often do): close it.
        tags = re.findall(r"^([A-Z][A-Z0-9])  -", data, re.M)
        if tags and tags[-1] != "ER":
            data = data.rstrip() + "\nER  - \n"
        try:
            entries = rispy.loads(data)
        except Exception as exc:  # rispy raises bare IOError/ValueError subclasses
            raise UnreadableDocumentError(f"{name}: not a valid RIS file ({exc})") from None
        return [_ris_record(e) for e in entries]
    import bibtexparser
    from bibtexparser.middlewares.names import split_multiple_persons_names
    from pylatexenc.latex2text import LatexNodes2Text  # bibtexparser's own dependency

    try:
        # Values as written, braces and quotes kept (no middleware): only then can bib_join
        # tell a "#" join from a "#" inside a title or URL ("{Report #3}").
        # Its warning for a broken entry names no file: the entry is flagged below instead.
        logging.getLogger("bibtexparser").setLevel(logging.ERROR)
        library = bibtexparser.parse_string(data, parse_stack=[])
    except Exception as exc:  # any parser bug on bad bytes: see _parser_failure
        raise _parser_failure(name, "BibTeX", exc) from None
    latex = LatexNodes2Text()
    strings = {s.key.lower(): bib_join(str(s.value), {}) for s in library.strings}

    def text(key: str, value: str) -> str:
        # "G{\"o}del" is "Gödel"; a URL or DOI is not LaTeX ("%" would start a comment)
        return " ".join((value if key in ("url", "doi") else latex.latex_to_text(value)).split())

    out = []
    lines = data.splitlines()
    for block in library.failed_blocks:
        # Kept, as written and flagged, so the user sees which entry to mend. bibtexparser keeps
        # only the text up to the error: take the lines up to the next entry instead.
        end = next(
            (i for i in range(block.start_line + 1, len(lines)) if lines[i].lstrip().startswith("@")), len(lines)
        )
        raw = " ".join(" ".join(lines[block.start_line : end]).split())
        reason = getattr(block.error, "abort_reason", None) or str(block.error) or "a syntax error"
        out.append((block.start_line, {"raw": raw, "flagged": f"BibTeX entry could not be parsed: {reason}"}))
    for e in library.entries:
        raw = {field.key.lower(): bib_join(str(field.value), strings) for field in e.fields}
        f = {key: text(key, value) for key, value in raw.items()}
        # Split at "and" outside braces ("{Food and Agriculture Organization}" is one author).
        names = split_multiple_persons_names(raw.get("author") or raw.get("editor") or "")
        authors = tuple(n for n in (text("author", a) for a in names) if n and n.lower() != "others")
        record = {
            "kind": _BIB_KINDS.get(e.entry_type.lower(), "report"),
            "authors": authors,
            "year": f.get("year"),
            "title": f.get("title"),
            "container": f.get("journal") or f.get("booktitle") or f.get("series") or f.get("institution"),
            "volume": f.get("volume"),
            "issue": f.get("number"),
            "pages": f.get("pages", "").replace("--", "–") or None,
            "edition": f.get("edition"),
            "place": f.get("address"),
            "publisher": f.get("publisher"),
            "note": f.get("note"),
            "doi": f.get("doi"),
            "url": f.get("url"),
        }
        out.append((e.start_line, record))
    if len(out) == len(library.failed_blocks):
        raise UnreadableDocumentError(f"{name}: no BibTeX entry could be parsed")
    return [record for _, record in sorted(out, key=lambda pair: pair[0])]


# JO, JF, JA and J2 all name the journal (full, abbreviated or user-defined), as rispy reads them.
_RIS_CONTAINER = ("journal_name", "alternate_title3", "secondary_title", "alternate_title2", "alternate_title1")


def _ris_record(e: dict) -> dict:
    """One rispy entry as the plain fields of a reference record."""
    # "PY  - 2016/05/01/" and "DA  - 2016/05" are dates: the year is their first four digits.
    dates = (str(e.get(k) or "") for k in ("year", "publication_year", "date"))
    year = next((m.group(1) for d in dates if (m := re.search(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)", d))), None)
    # EndNote writes a journal's issue as M1 ("Number"), which rispy reads as a note.
    m1 = str(e.get("note") or "").strip()
    numbered = bool(re.fullmatch(r"\d+(?:[-–/]\d+)?", m1))
    return {
        "kind": _BIB_KINDS.get(e.get("type_of_reference", ""), "report"),
        "authors": tuple(e.get("authors") or e.get("first_authors") or ()),
        "year": year,
        "title": e.get("title") or e.get("primary_title"),
        "container": next((e[k] for k in _RIS_CONTAINER if e.get(k)), None) or e.get("publisher"),
        "volume": e.get("volume"),
        "issue": e.get("number") or (m1 if numbered else None),
        "note": None if numbered else m1 or None,  # M1 also holds a report or document number
        "pages": "–".join(filter(None, (e.get("start_page"), e.get("end_page")))) or None,
        "edition": e.get("edition"),
        "place": e.get("place_published"),
        "publisher": e.get("publisher"),
        "doi": e.get("doi"),
        "url": (e.get("urls") or [None])[0],
    }


# BibTeX's predefined month macros: jan = "January" (the C locale's names: Python never sets another)
_MONTHS = {calendar.month_abbr[i].lower(): calendar.month_name[i] for i in range(1, 13)}


def bib_join(value: str, strings: dict[str, str]) -> str:
    """A BibTeX field value as written, resolved: ``jsl # " (1999)"`` is the ``@string``
    jsl followed by " (1999)", ``{Report #3}`` is "Report #3". Quoted and braced parts
    lose their delimiters; a bare word is an ``@string`` name, a month macro or a number."""
    parts, depth, quoted, last = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(value[last:i])
            last = i + 1
    parts.append(value[last:])
    out = []
    for part in (p.strip() for p in parts):
        if len(part) >= 2 and (part[0], part[-1]) in (('"', '"'), ("{", "}")):
            out.append(part[1:-1])
        else:
            out.append(strings.get(part.lower()) or _MONTHS.get(part.lower(), part))
    return "".join(out)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def render_entry(rec: dict) -> str:
    """One bibliography record as a reference-list line, every field the file gave in it:
    "Doe, J. (2001). Title. Journal, 12(3), 45–67. 2nd ed. London: Routledge. Note. DOI: …. URL"."""
    venue = ", ".join(filter(None, (rec["container"], rec["volume"])))
    venue += f"({rec['issue']})" if rec["issue"] and venue else (rec["issue"] or "")
    venue = ", ".join(filter(None, (venue, rec.get("pages"))))
    edition = rec.get("edition")
    parts = [
        "; ".join(rec["authors"]),
        f"({rec['year']})." if rec["year"] else "",
        rec["title"],
        venue,
        f"{_ordinal(int(edition))} ed." if edition and edition.isdigit() else edition,
        ": ".join(filter(None, (rec["place"], rec["publisher"]))),
        rec.get("note"),
        f"DOI: {rec['doi']}" if rec["doi"] else "",
    ]
    # Each part a sentence; the URL last and bare, so it stays a link.
    line = " ".join(p if p.endswith((".", "?", "!")) else p + "." for p in parts if p)
    return " ".join(filter(None, (line, rec["url"]))) or "(empty entry)"


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
        raw = rec.get("raw") or render_entry(rec)
        start = len(text)
        text += raw + "\n\n"
        common = {"ref_id": f"{doc_id}#ref-{n}", "doc_id": doc_id, "n": n, "raw": raw, "start": start}
        if "flagged" in rec:
            refs.append(Reference(**common, end=start + len(raw), kind="unparsed", flagged=rec["flagged"]))
            continue
        fields = {k: v or None for k, v in rec.items() if k not in ("authors", "pages", "edition")}
        symbol = next((m.group(1) for v in (rec.get("note"), rec["title"]) if v and (m := UN_SYMBOL.search(v))), None)
        refs.append(Reference(**common, end=start + len(raw), **fields, authors=rec["authors"], un_symbol=symbol))
    text = text.rstrip("\n") + "\n"
    return Document(
        doc_id=doc_id,
        path=path,
        title=title,
        text=text,
        sha256=sha256_text(text),
        metadata={"title": title, "type": "bibliography"},
        references=tuple(refs),
        headings=headings,
    )


class _ParseTimeout(BaseException):
    """Raised by the parse-time alarm. A BaseException, so a parser's own
    ``except Exception`` cannot swallow it and carry on."""


@contextmanager
def parse_time_limit(seconds: float | None, name: str) -> Iterator[None]:
    """Give up on parsing one file after ``seconds`` of wall-clock time.

    Uses ``SIGALRM``, which interrupts pure-Python loops and regular expressions
    (the stdlib ``re`` engine checks for signals), but only in the main thread
    and only when no other interval timer is running; elsewhere (the Streamlit
    app runs scripts in worker threads) the input bounds alone apply. A thread
    cannot be stopped from outside in Python, and a subprocess per file would
    cost more than parsing a typical document.

    Raises:
        UnreadableDocumentError: the limit was reached; names the file.
    """
    usable = (
        seconds is not None
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _ParseTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _ParseTimeout:
        raise UnreadableDocumentError(
            f"{name}: reading it took over {seconds:g} s, the limit per file, and was given up; "
            "split it into smaller files (a very large or malformed file does this)"
        ) from None
    finally:
        # An alarm already delivered may still raise while disarming; disarm again.
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except _ParseTimeout:
                continue


def corpus_path(root: Path | str, name: str) -> Path:
    """The real location of a corpus file, refusing one that lies outside the corpus.

    ``name`` is the file's path relative to ``root``. Symbolic links are
    resolved: a link to another file inside the corpus folder is fine, one that
    leaves it (``passwd.txt -> /etc/passwd``), directly or through a linked
    folder, is refused so that nothing outside the corpus is indexed or shown.

    Raises:
        UnreadableDocumentError: the real path is outside ``root``; names the link and its target.
    """
    real_root = Path(root).resolve()
    try:
        real = (real_root / name).resolve()
    except (RuntimeError, OSError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13)
        raise UnreadableDocumentError(f"{name}: cannot follow its symbolic link ({exc}); remove the link") from None
    if not real.is_relative_to(real_root):
        raise UnreadableDocumentError(
            f"{name}: it is a symbolic link to {real}, outside the corpus folder {real_root}; "
            "links must stay inside the corpus, copy the file in instead (python -m qa add FILE)"
        )
    return real


def read_document(
    path: Path,
    root: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    parse_seconds: float | None = DEFAULT_PARSE_SECONDS,
) -> Document:
    """Read one corpus file.

    Args:
        parse_seconds: Wall-clock bound on parsing the file (see ``parse_time_limit``);
            None for no bound.

    Raises:
        UnreadableDocumentError: the file is empty, binary, too large, badly
            encoded, a PDF without text, a link leaving the corpus, refused by a
            parser's bounds (front-matter aliases, zip bombs, ...) or too slow to parse.
    """
    name = path.relative_to(root).as_posix()
    real = corpus_path(root, name)
    try:
        size = real.stat().st_size
        if size > max_bytes:
            raise UnreadableDocumentError(
                f"{name}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:g} MiB limit; "
                "split it or raise --max-mb"
            )
        data = real.read_bytes()
    except OSError as exc:
        raise UnreadableDocumentError(f"{name}: cannot be read ({exc.strerror or exc}); check the file") from None
    with parse_time_limit(parse_seconds, name):
        return _parse(data, path=path, root=root, name=name)


def _parse(data: bytes, *, path: Path, root: Path, name: str) -> Document:
    doc_id = doc_id_for(path, root)
    fallback = path.stem.replace("_", " ")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return parse_pdf(data, doc_id=doc_id, path=name, fallback_title=fallback)
    if suffix == ".docx":
        body, title = docx_to_markdown(data, name)
        doc = parse_markdown(body, doc_id=doc_id, path=name, fallback_title=title or fallback)
        return dataclasses.replace(doc, metadata={"title": doc.title, **doc.metadata})
    text = decode_bytes(data, name, declared=declared_charset(data) if suffix in (".html", ".htm") else None)
    if suffix in (".md", ".markdown"):
        return parse_markdown(text, doc_id=doc_id, path=name, fallback_title=fallback)
    if suffix in (".html", ".htm"):
        body, meta = html_to_markdown(text, name)
        doc = parse_markdown(body, doc_id=doc_id, path=name, fallback_title=meta.pop("title", None) or fallback)
        return dataclasses.replace(doc, metadata={"title": doc.title, **meta, **doc.metadata})
    if suffix in (".bib", ".ris"):
        return parse_bibliography(text, suffix=suffix, doc_id=doc_id, path=name, title=fallback)
    text = normalize_text(text)
    title = text_title(text) or fallback
    return Document(
        doc_id=doc_id,
        path=name,
        title=title,
        text=text,
        sha256=sha256_text(text),
        metadata={"title": title},
    )


def text_title(text: str) -> str | None:
    """The title of a plain-text file: its first line when that reads as one (at most 120
    characters, not ending a sentence, a blank line after it), as in "Debris Memo" over a memo."""
    head, blank, _ = text.lstrip().partition("\n\n")
    head = head.strip()
    if blank and head and "\n" not in head and len(head) <= 120 and not head.endswith((".", ",", ";", ":")):
        return " ".join(head.split())
    return None


def corpus_files(root: Path) -> Iterable[Path]:
    """Every non-hidden file under ``root``, sorted for a stable order, regular files first.

    Regular files come first so that, of a file and a link to it, the file is the
    one indexed and the link the one reported as a duplicate. Symbolic links are
    included (``read_document`` refuses those that leave the corpus) so that a
    refused link is reported, except links to folders inside the corpus: those
    folders' files are listed under their own paths.
    """
    for path in sorted(root.rglob("*"), key=lambda p: (p.is_symlink(), p)):
        rel = path.relative_to(root).parts
        if any(p.startswith(".") for p in rel) or path.name == "README.md":
            continue
        if path.is_symlink() and not path.is_file():
            if path.is_dir() and path.resolve().is_relative_to(root.resolve()):
                continue
            yield path
        elif path.is_file():
            yield path


def load_corpus(
    root: Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    parse_seconds: float | None = DEFAULT_PARSE_SECONDS,
    indexed: Collection[str] = (),
) -> CorpusLoad:
    """Read every supported file of a corpus folder.

    A file that cannot be read is reported in ``skipped`` with the reason;
    the rest are still loaded. Identical content under two names is indexed
    once and the duplicate reported; so is a second file with one document id.
    Of two such files, one in ``indexed`` (the paths the current index holds)
    is kept, so a copy added under a new name does not take the id that
    citations already use; else the first in sorted order.

    Raises:
        CorpusError: the folder does not exist or holds no readable document.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist; create it or pass --corpus DIR")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    known = set(indexed)
    listed = list(corpus_files(root))
    order = {p.relative_to(root).as_posix(): i for i, p in enumerate(listed)}
    for path in sorted(listed, key=lambda p: p.relative_to(root).as_posix() not in known):  # stable
        name = path.relative_to(root).as_posix()
        try:
            corpus_path(root, name)  # a link leaving the corpus is reported as such, whatever its name
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append(
                    Skipped(
                        name,
                        f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}",
                    )
                )
                continue
            doc = read_document(path, root, max_bytes=max_bytes, parse_seconds=parse_seconds)
        except UnreadableDocumentError as exc:
            skipped.append(Skipped(name, str(exc)))
            continue
        if doc.sha256 in seen:
            skipped.append(Skipped(name, f"same content as {seen[doc.sha256]}; indexed once"))
            continue
        # Citations, `qa show` and `qa remove` name a document by its id (the path without its
        # extension), so two files with one id ("report.html", "report.txt") cannot both be
        # indexed: the one indexed already, else the first in sorted order, is; the other is reported.
        if doc.doc_id in ids:
            skipped.append(
                Skipped(
                    name,
                    f"has the same document id {doc.doc_id!r} as {ids[doc.doc_id]} (ids are file names "
                    "without their extension); rename one of the two",
                )
            )
            continue
        seen[doc.sha256] = name
        ids[doc.doc_id] = name
        documents.append(doc)
    if not documents:
        detail = "; ".join(str(s) for s in skipped[:3])
        raise CorpusError(
            f"corpus folder {root} has no readable documents"
            + (f" ({detail})" if detail else "")
            + f"; add files of a supported type ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    # In the folder's order whatever was read first, so an update builds what a full build does.
    documents.sort(key=lambda d: order[d.path])
    skipped.sort(key=lambda sk: order.get(sk.path, len(order)))
    return CorpusLoad(tuple(documents), tuple(skipped))
