"""Answers as portable text: Markdown with footnote citations, and links that open a cited span.

Pure functions over ``qa.types`` records. The CLI (``python -m qa ask --markdown``) and
the app (its Markdown download and "Copy" box, its share links) print the same text.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlencode, urlsplit, urlunsplit

from qa.answering import NOTHING_CLOSE, below_threshold_note, refusal_hint
from qa.types import Answer


def confidence_word(confidence: float, threshold: float) -> str:
    """A word for the confidence, relative to the engine's abstention threshold."""
    if confidence < threshold:
        return "below threshold"
    margin = confidence - threshold
    return "high" if margin >= 0.25 else "medium" if margin >= 0.1 else "low"


def doi_url(doi: str) -> str:
    """The resolver link of a DOI, percent-encoded so it stays one safe URL."""
    return "https://doi.org/" + url_quote(str(doi).strip(), safe="/:;()._-")


def _md_text(value: str) -> str:
    """Text with what a Markdown renderer would read as markup escaped, nothing else."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", value)


def field_text(value: Any) -> str:
    """A metadata value as one line of text: list items joined by "; "."""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def reference_entry(meta: dict[str, Any]) -> str:
    """A full bibliographic line from citation metadata: authors (year). Title. Venue, … DOI, URL."""
    parts: list[str] = []
    head = field_text(meta["authors"]) if meta.get("authors") else ""
    if meta.get("year"):
        head = f"{head} ({meta['year']})".strip()
    if head:
        parts.append(head)
    for key in ("title", "container"):
        if meta.get(key):
            parts.append(field_text(meta[key]))
    vol = ", ".join(
        x
        for x in (
            f"Vol. {meta['volume']}" if meta.get("volume") else "",
            f"No. {meta['issue']}" if meta.get("issue") else "",
        )
        if x
    )
    if vol:
        parts.append(vol)
    if meta.get("place") or meta.get("publisher"):
        parts.append(": ".join(field_text(meta[k]) for k in ("place", "publisher") if meta.get(k)))
    if meta.get("un_symbol"):
        parts.append(f"UN document {meta['un_symbol']}")
    if meta.get("date"):
        parts.append(field_text(meta["date"]))
    if meta.get("doi"):
        parts.append(f"DOI: {doi_url(meta['doi'])}")
    for key in ("url", "source"):
        if meta.get(key):
            parts.append(field_text(meta[key]))
    if meta.get("access_date"):
        parts.append(f"accessed {meta['access_date']}")
    return ". ".join(p.rstrip(". ") for p in parts if p) + ("." if parts else "")


def answer_markdown(answer: Answer, *, footnote_prefix: str = "") -> str:
    """The answer as Markdown: quotes with footnote markers, confidence, one footnote per citation.

    Each footnote gives the locator, the character span, the document id and the full
    reference entry. An abstention lists the closest sentences, marked as not an answer; an
    answer's runners-up are left out, since an export is what the user chose to keep.

    Args:
        footnote_prefix: Put before each footnote number (``[^q2-1]``), so that several
            answers can share one Markdown file without their footnotes colliding.
    """
    lines = [f"**Question:** {_md_text(answer.question)}", ""]
    if answer.abstained:
        lines += [f"*The corpus does not answer this* (confidence {answer.confidence:.2f}).", ""]
        if hint := refusal_hint(answer.explain):
            lines += [hint, ""]
        if answer.closest:
            lines.append("Closest sentences (not an answer):")
            lines.append("")
            for c in answer.closest:
                quote = " ".join(c.quote.split())
                lines.append(f"- {_md_text(c.locator)} ({c.doc_id}, characters {c.start}–{c.end}): “{_md_text(quote)}”")
        else:
            lines.append(NOTHING_CLOSE)
        return "\n".join(lines).rstrip() + "\n"
    for c in answer.citations:
        quoted = "\n> ".join(_md_text(line) for line in c.quote.splitlines() or [""])
        lines += [f"> {quoted} [^{footnote_prefix}{c.n}]", ""]
    threshold = answer.explain.get("threshold", 0.0)
    note = below_threshold_note(answer.explain, answer.confidence)
    word = confidence_word(answer.confidence, threshold) + (f"; {note}" if note else "")
    lines += [f"Confidence: {answer.confidence:.2f} ({word})", ""]
    for c in answer.citations:
        stale = " The source file changed, or is missing, since indexing." if c.stale else ""
        lines.append(
            f"[^{footnote_prefix}{c.n}]: {_md_text(c.locator)}, characters {c.start}–{c.end} of "
            f"`{c.doc_id}`. {_md_text(reference_entry(c.metadata))}{stale}"
        )
    return "\n".join(lines).rstrip() + "\n"


def share_link(doc_id: str, start: int | None = None, end: int | None = None, *, base: str = "") -> str:
    """The link that opens the app's source view at a span: ``BASE?doc=…&start=…&end=…``.

    Args:
        base: The app's address (its query and fragment are dropped); empty for the
            query string alone.
    """
    params: dict[str, Any] = {"doc": doc_id}
    if start is not None and end is not None:
        params.update(start=start, end=end)
    if base:
        parts = urlsplit(base)
        base = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    return base + "?" + urlencode(params)
