"""Parse reference-list entries into source-metadata records.

Pure functions over strings. Reference styles in real articles are inconsistent
(the seed article mixes UN document symbols, APA-like entries, Polish
quotation marks and bare URLs), so the parser recognises fields one by one and
keeps whatever it cannot place in the verbatim entry instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.types import Reference

# Headings of a reference list (Markdown, or a PDF's standalone line).
REFERENCE_SECTION = re.compile(r"^(references|bibliography|sources|works cited|literature)$", re.I)
# How an entry opens, in the common styles: "[12]" or "12. " (numbered), a UN document symbol
# ("A/RES/47/68"), an author's surname and initial ("Hart, B. L.", "Chanock A."), or an
# organisation as author before the year ("Inter-Agency Space Debris Coordination Committee (2007)").
ENTRY_START = re.compile(
    r"^(?:\[\d{1,3}\]|\d{1,3}\.\s|[A-Z]{1,4}/[A-Z0-9]|[A-ZÀ-ÞŁŚŻŹĆŃ][\w'’-]+,?\s+[A-ZÀ-ÞŁŚŻ]\."
    r"|[A-Z][\w'’&.,-]*(?:\s+[A-Z&][\w'’&.,-]*){1,8}\s+\((?:\d{4}|n\.d\.)[a-z]?\))"
)
# UN document symbols: A/RES/47/68, A/AC.105/1166, S/RES/2222, ST/SG/AC.10/30.
UN_SYMBOL = re.compile(r"\b((?:A|S|E|ST|CD)/(?:[A-Z]+(?:\.\d+)?/)*\d+(?:/\d+)*)\b")
_DOI = re.compile(r"(?:\bDOI:?\s*|(?:https?://(?:dx\.)?)?doi\.org/)(10\.\d{4,9}/[^\s,;]+?)(?=[.,;]?(?:\s|$))", re.I)
_URL = re.compile(r"\bhttps?://\S+?(?=[.,;]?(?:\s|$))")
_NUMERIC_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}"
_ACCESS = re.compile(rf"\((?:Access(?:ed)?:?\s*)?({_NUMERIC_DATE})\)", re.I)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_TEXT_DATE = re.compile(rf"\b(\d{{1,2}} (?:{_MONTHS}) \d{{4}})\b")
_AUTHOR_YEAR = re.compile(
    r"^(?P<authors>[^()]{2,120}?)\s*\((?P<year>\d{4}(?:\s*[–-]\s*\d{4})?[a-z]?)\)\s*[.,:]?\s*(?P<rest>.*)$",
    re.S,
)
# Journal name in quotation marks, typographic or plain: „Security Studies”, “Space Policy Journal”.
_QUOTED_VENUE = re.compile(r"[„“\"]([^„“”\"]{2,120})[”\"]")
# Abbreviated journal followed by issue and volume: "JALC No. 4, Vol. 78".
_ABBREV_VENUE = re.compile(
    r"[.,]\s+(?P<venue>[A-Z][A-Za-z&]{1,12})\s+No\.?\s*(?P<issue>[\w()]+),\s*Vol\.?\s*(?P<volume>\d+)\.?"
)
# APA's journal article: "Title. Journal of Geophysical Research, 83(A6), 2637–2646." The entry
# ends in a venue, a volume (at most three digits: "Oxford, 2005." is a place and a year), an
# optional issue and optional pages.
_APA_VENUE = re.compile(
    r"(?:(?<=[a-z0-9)])\.|(?<=[?!]))\s+(?P<venue>[A-Z][^.]{1,120}?),\s*(?P<volume>\d{1,3})(?:\s*\((?P<issue>[\w–-]{1,10})\))?"
    r"(?:,\s*(?:pp?\.\s*)?(?P<pages>[A-Za-z]?\d+(?:\s*[–-]\s*[A-Za-z]?\d+)?))?\.?$"
)
_ISSUE = re.compile(r"\bNo\.?\s*(\d+(?:\(\d+\))?)")
_VOLUME = re.compile(r"\bVol\.?\s*(\d+)")
_PLACE_PUBLISHER = re.compile(r"(?:^|\.\s+)(?P<place>[A-Z][\w\- ]{2,30}):\s*(?P<publisher>[^.:]{2,80})\.?$")
_LONE_PLACE = re.compile(r"(?:^|\.\s+)(?P<place>[A-ZŁŚŻ][a-ząćęłńóśźż]{3,20})\.?$")
_EDITOR = re.compile(r",?\s*\(?eds?\.\)?$", re.I)


def parse_reference(raw: str, *, doc_id: str, n: int, start: int) -> Reference:
    """Parse one verbatim reference entry.

    Args:
        raw: The entry exactly as it stands in the document.
        doc_id: The document whose reference list holds the entry.
        n: Its 1-based position in that list.
        start: Offset of ``raw`` in the document's canonical text.

    Returns:
        A record with every field it could recognise. An entry with no
        author, title or document symbol comes back with ``kind="unparsed"``
        and ``flagged`` saying why, so it is shown to the user, not dropped.
    """
    ref = Reference(
        ref_id=f"{doc_id}#ref-{n}",
        doc_id=doc_id,
        n=n,
        raw=raw,
        start=start,
        end=start + len(raw),
        kind="unparsed",
    )
    text = " ".join(raw.split())
    fields: dict = {}
    if m := _DOI.search(text):
        fields["doi"] = m.group(1)
        text = (text[: m.start()] + text[m.end() :]).strip()
    if m := _URL.search(text):
        fields["url"] = m.group(0)
    if m := _ACCESS.search(text):
        fields["access_date"] = m.group(1)
        text = (text[: m.start()] + text[m.end() :]).strip(" .;,")

    if m := UN_SYMBOL.match(text):
        return replace(ref, **fields, **_parse_un_document(m.group(1), text[m.end() :]))
    if m := _AUTHOR_YEAR.match(text):
        parsed = _parse_author_year(m.group("authors"), m.group("year"), m.group("rest"))
        if parsed:
            return replace(ref, **fields, **parsed)
    words = re.findall(r"[^\W\d_]{3,}", text)
    if len(words) >= 3 and not text.lower().startswith("www"):
        # A title with no author or year, e.g. a treaty named by its short title.
        title = text.rstrip(" .")
        kind = "treaty" if re.search(r"\b(Treaty|Convention|Agreement|Charter)\b", title) else "report"
        return replace(ref, **fields, kind=kind, title=title)
    return replace(
        ref,
        **fields,
        flagged="could not be parsed: no author, title or UN document symbol recognised; kept verbatim",
    )


def _parse_un_document(symbol: str, rest: str) -> dict:
    out: dict = {"kind": "un_document", "un_symbol": symbol}
    if symbol.startswith("A/"):
        out["container"] = "United Nations General Assembly"
    elif symbol.startswith("S/"):
        out["container"] = "United Nations Security Council"
    rest = rest.strip(" ;,.")
    if m := _TEXT_DATE.search(rest):
        out["date"] = m.group(1)
        out["year"] = m.group(1)[-4:]
        rest = (rest[: m.start()] + rest[m.end() :]).strip(" ;,.")
    if m := re.search(r",\s*((?:19|20)\d{2})$", rest):
        out["year"] = m.group(1)
        rest = rest[: m.start()].strip(" ;,.")
    if rest:
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        if parts and parts[0] in ("General Assembly", "Security Council"):
            out["container"] = f"United Nations {parts[0]}"
        elif rest:
            out["title"] = rest
    return out


_NEXT_SURNAME = re.compile(r"(?<=[A-Z]\.),\s+(?=[^\W\d_][^,()]{0,40},\s*[A-Z]\.)")


def _parse_author_year(authors: str, year: str, rest: str) -> dict | None:
    authors = authors.strip(" ,")
    if not re.search(r"[^\W\d_]{2,}", authors):
        return None
    out: dict = {"year": year.replace(" ", ""), "kind": "book"}
    editor = bool(_EDITOR.search(authors))
    names = [
        name.strip(" ,")
        for a in re.split(r";|\s&\s|\sand\s", _EDITOR.sub("", authors))
        # "Hobe, S., Schmidt-Tedd, B.": a comma after an initial, then "Surname, I." is a new name
        for name in _NEXT_SURNAME.split(a)
        if name.strip(" ,")
    ]
    out["authors"] = tuple(f"{a} (ed.)" if editor else a for a in names)
    rest = rest.strip()

    if m := _QUOTED_VENUE.search(rest):
        out["kind"] = "article"
        out["title"] = rest[: m.start()].strip(" .,")
        out["container"] = m.group(1).strip()
        tail = rest[m.end() :]
        _issue_volume(tail, out)
        if d := _TEXT_DATE.search(tail):
            out["date"] = d.group(1)
        return out
    if m := _ABBREV_VENUE.search(rest):
        out["kind"] = "article"
        out["title"] = rest[: m.start()].strip(" .,")
        out["container"] = m.group("venue")
        out["issue"], out["volume"] = m.group("issue"), m.group("volume")
        if tail := rest[m.end() :].strip():
            out["note"] = f"text after the venue, possibly a second reference: {tail}"
        return out

    if m := _APA_VENUE.search(rest):
        out["kind"] = "article"
        out["title"] = rest[: m.start()].strip(" .")
        out["container"] = m.group("venue").strip()
        out["volume"] = m.group("volume")
        out["issue"] = m.group("issue")
        out["pages"] = m.group("pages")
        return out
    body = rest.rstrip(" .")
    if m := _PLACE_PUBLISHER.search(body):
        out["place"], out["publisher"] = m.group("place").strip(), m.group("publisher").strip()
        body = body[: m.start()].strip(" .")
    elif m := _LONE_PLACE.search(body):
        out["place"] = m.group("place")
        body = body[: m.start()].strip(" .")
    # "Title. Institution, University" -> the last sentence naming an institution is the container.
    parts = re.split(r"(?<=[a-z0-9?!])\.\s+(?=[A-Z])", body)
    if len(parts) > 1 and re.search(r"\b(Institute|University|Press|Office|Centre|Center)\b", parts[-1]):
        out["container"] = parts[-1].strip(" .")
        body = ". ".join(parts[:-1])
    out["title"] = body.strip(" .") or None
    return out


def _issue_volume(text: str, out: dict) -> None:
    if m := _ISSUE.search(text):
        out["issue"] = m.group(1)
    if m := _VOLUME.search(text):
        out["volume"] = m.group(1)


def format_reference(ref: Reference) -> str:
    """A one-line human summary: 'Hart, B. L. (2007). Title. Venue.' from the parsed fields."""
    if ref.flagged:
        return f"[unparsed] {ref.raw}"
    parts = []
    if ref.authors:
        parts.append("; ".join(ref.authors))
    if ref.year:
        parts.append(f"({ref.year})")
    for value in (ref.un_symbol, ref.title, ref.container):
        if value:
            parts.append(value)
    return " ".join(parts)
