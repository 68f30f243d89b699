"""Streamlit chat over the ``qa`` engine: ask the space-law corpus, get verbatim, checkable quotes.

Run with ``make run`` (or ``streamlit run app.py``). This file is a thin shell of
layout and widgets: retrieval, answers, span checks (``qa.engine``), the Markdown
export and share links (``qa.export``) and uploads (``qa.uploads``) all live in
``qa``, shared with the CLI; the app renders what they return.

Every piece of document text or metadata reaches the page either escaped with
``html.escape`` inside ``st.html``, Markdown-escaped (``md_escape``) where
Streamlit interprets Markdown (labels, alerts), or through widgets that show
plain text (``st.code``, ``st.dataframe``). Never raw through ``st.markdown``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from qa.answering import ABSTAIN_TEXT, NOTHING_CLOSE, below_threshold_note, refusal_hint
from qa.chunking import short_title
from qa.engine import (
    AddReport,
    Engine,
    add_documents,
    build,
    default_corpus,
    default_index,
    remove_documents,
    validate_question,
)
from qa.errors import IndexMismatchError, IndexNotFoundError, IndexOutOfDateError, QAError, UnreadableDocumentError
from qa.export import answer_markdown, confidence_word, doi_url, field_text, share_link
from qa.index import current_build
from qa.ingest import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, Skipped
from qa.jobs import IndexJob, IndexJobs
from qa.references import format_reference
from qa.retrieval import DEFAULT_K
from qa.types import Answer

APP_TITLE = "Space-law QA"
MODES = ("hybrid", "dense", "lexical")
MODE_HELP = {
    "hybrid": "meaning and keywords combined (recommended)",
    "dense": "meaning only (embeddings)",
    "lexical": "keywords only (BM25)",
}
MAX_K_UI = 20
MAX_UNSENT_CHARS = 50_000  # a refused question longer than this is not given back
# Citation metadata fields in display order, with the labels users see.
META_FIELDS = (
    ("authors", "Authors"),
    ("year", "Year"),
    ("title", "Title"),
    ("container", "Venue"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("place", "Place"),
    ("publisher", "Publisher"),
    ("date", "Date"),
    ("doi", "DOI"),
    ("un_symbol", "UN symbol"),
    ("url", "URL"),
    ("source", "Source"),
    ("access_date", "Accessed"),
    ("type", "Type"),
    ("kind", "Kind"),
    ("keywords", "Keywords"),
    ("document", "Listed in"),
    ("reference", "Entry no."),
    ("note", "Note"),
    ("flagged", "Flagged"),
)
SOURCE_MARK_ID = "qa-source-hit"

CSS = """
<style>
/* Colours: text inherits the theme's (light or dark); greys are the text colour made fainter and
   backgrounds translucent, so nothing is near-white on white or dark grey on black in either. */
.qa-quote { border-left: 4px solid #4f6bed; background: rgba(79,107,237,.07); border-radius: 0 .5rem .5rem 0;
  padding: .7rem 1rem; margin: .2rem 0 .5rem 0; font-size: 1.06rem; line-height: 1.55; white-space: pre-line; }
.qa-quote.qa-support { border-left-color: #9aa7f0; font-size: .98rem; }
.qa-quote .qa-label { display: block; font-size: .72rem; letter-spacing: .06em; text-transform: uppercase;
  opacity: .7; margin-bottom: .25rem; }
.qa-marker { display: inline-block; font-size: .75rem; font-weight: 600; color: #fff; background: #4f6bed;
  border-radius: .6rem; padding: 0 .45rem; margin-left: .3rem; vertical-align: .15em; }
.qa-abstain { border: 2px dashed rgba(128,128,128,.5); border-radius: .6rem; padding: .8rem 1rem;
  background: rgba(128,128,128,.06); }
.qa-abstain strong { font-size: 1.05rem; }
.qa-closest { margin: .5rem 0 0 0; padding-left: 1.1rem; opacity: .85; font-size: .92rem; }
.qa-closest li { margin-bottom: .35rem; }
.qa-loc { font-weight: 600; }
.qa-passage { white-space: pre-wrap; font-size: .93rem; line-height: 1.55; background: rgba(128,128,128,.05);
  border: 1px solid rgba(128,128,128,.3); border-radius: .5rem; padding: .6rem .8rem; max-height: 18rem;
  overflow: auto; }
mark.qa-hit { background: #ffe27a; color: #111827; padding: 0 .1rem; border-radius: .15rem; }
/* A PDF's page break: its label comes from CSS, so selecting and copying the text leaves it out. */
.qa-page::before { content: attr(data-page); font: .72rem sans-serif; opacity: .7;
  border: 1px solid rgba(128,128,128,.5); border-radius: .6rem; padding: 0 .35rem; margin: 0 .25rem;
  user-select: none; }
.qa-meta { border-collapse: collapse; font-size: .88rem; margin: .3rem 0; width: 100%; }
.qa-meta th { text-align: left; opacity: .7; font-weight: 500; padding: .15rem .8rem .15rem 0;
  vertical-align: top; white-space: nowrap; width: 7rem; }
.qa-meta td { padding: .15rem 0; overflow-wrap: anywhere; }
.qa-source { white-space: pre-wrap; font-family: Georgia, 'Times New Roman', serif; font-size: .98rem;
  line-height: 1.6; border: 1px solid rgba(128,128,128,.3); border-radius: .5rem; padding: .8rem 1rem;
  background: rgba(128,128,128,.04);
  max-height: max(12rem, calc(100vh - 31rem)); overflow: auto; }
.qa-source-title { font-weight: 600; font-size: 1.05rem; margin-bottom: .2rem; }
.qa-h { font-weight: 700; }
.qa-md { opacity: .45; font-weight: 400; }
.qa-muted { opacity: .7; font-size: .85rem; }
.qa-refs { padding-left: 1.2rem; font-size: .85rem; margin: .2rem 0; }
.qa-refs li { margin-bottom: .25rem; overflow-wrap: anywhere; }
.qa-flag { color: #b45309; font-weight: 600; }
/* The source column follows the reader down a long chat. */
[data-testid="stColumn"]:has(.st-key-source_panel) { position: sticky; top: 3.5rem; align-self: flex-start; }
[data-testid="stAppDeployButton"] { display: none; }
/* A new question is scrolled to the top of the view: below the app's header, not under it. */
[data-testid="stChatMessage"] { scroll-margin-top: 4rem; }
/* Three counts share the sidebar's width: at the default size a four-digit one was cut to "1…". */
[data-testid="stSidebar"] [data-testid="stMetricValue"] { font-size: 1.5rem; }
</style>
"""


# ------------------------------------------------------------------ escaping


def as_sentence(message: str) -> str:
    """An error message of the engine ("the question is …; ask …", written for the command
    line's "error: " prefix) as a sentence on its own: capital first, full stop last."""
    message = message.strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message[-1] in ".!?)" else ".")


def esc(value: Any) -> str:
    """Text made safe for ``st.html``: every ``<``, ``>``, ``&`` and quote escaped."""
    return html.escape(str(value), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=^\"'])")


def md_escape(value: Any) -> str:
    """Text made literal for places Streamlit reads as Markdown (labels, alerts, captions).

    Backslash-escapes every Markdown, HTML, emoji-shortcode (``:x:``), colour
    directive (``:red[...]``) and LaTeX (``$``) character, so "**bold**" and
    "<script>" show as typed.
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def safe_href(url: str) -> str | None:
    """``url`` if it is an http(s) link, else None (no ``javascript:`` or ``data:`` links)."""
    url = str(url).strip()
    return url if re.match(r"https?://[^\s\"'<>]+$", url, re.I) else None


# ------------------------------------------------------------------ HTML and links


def highlight(
    text: str, start: int, end: int, *, mark_id: str | None = None, pages: Sequence[tuple[int, str]] = ()
) -> str:
    """``text`` escaped for HTML with ``text[start:end]`` wrapped in a ``<mark>`` (none when the
    span is not inside ``text``) and an empty page marker at each ``(offset, label)`` of ``pages``."""
    # (offset, order at that offset, tag): a mark closes before page markers and opens after them,
    # so tags never cross; blank pages share an offset and keep their page order.
    cuts: list[tuple[int, int, str]] = [
        (o, 1 + n, f'<span class="qa-page" data-page="p. {esc(label)}"></span>') for n, (o, label) in enumerate(pages)
    ]
    if 0 <= start < end <= len(text):
        ident = f' id="{esc(mark_id)}"' if mark_id else ""
        cuts += [(start, len(pages) + 1, f'<mark class="qa-hit"{ident}>'), (end, 0, "</mark>")]
    out, pos = [], 0
    for offset, _, tag in sorted(c for c in cuts if 0 <= c[0] <= len(text)):
        out += [esc(text[pos:offset]), tag]
        pos = offset
    return "".join(out) + esc(text[pos:])


_HEADING = re.compile(r"(^|\n)(#{1,6} )([^\n]*)")
_TAG = re.compile(r'(<mark [^>]*>|</mark>|<span class="qa-page"[^>]*></span>)')


def source_html(
    text: str,
    start: int | None = None,
    end: int | None = None,
    *,
    mark_id: str | None = None,
    pages: Sequence[tuple[int, str]] = (),
) -> str:
    """A document as ``highlight`` gives it, with Markdown heading lines set in bold and their
    ``#`` marks greyed: the characters stay exactly the ones citations count (nothing is
    removed; a page marker shows its label from CSS, so it is not copied with the text), only
    their look changes. Each escaped piece is styled on its own, so the tags never cross the
    ``<mark>``; a piece that starts mid-line styles only from its first line break."""
    span = (start, end) if start is not None and end is not None else (-1, -1)  # (-1, -1): no mark
    html_text = highlight(text, *span, mark_id=mark_id, pages=pages)
    out, line_start = [], True
    for part in _TAG.split(html_text):
        if _TAG.fullmatch(part):
            out.append(part)
            continue
        cut = 0 if line_start else part.find("\n") + 1  # 0 mid-line: the piece has no line start
        head, rest = (part, "") if not line_start and cut == 0 else (part[:cut], part[cut:])
        out.append(head + _HEADING.sub(r'\1<span class="qa-h"><span class="qa-md">\2</span>\3</span>', rest))
        if part:
            line_start = part.endswith("\n")
    return "".join(out)


def short_url(url: str, width: int = 48) -> str:
    """A long link as its readers recognise it: the host, then as many of the last path
    segments as fit (the query string dropped), e.g. ``github.com/…/BWBV0003725/README.md``."""
    bare = re.sub(r"^https?://(www\.)?", "", url).rstrip("/")
    if len(bare) <= width:
        return bare
    host, _, path = bare.partition("/")
    path, query = re.split(r"(?=[?#])", path, maxsplit=1) if re.search(r"[?#]", path) else (path, "")
    segments = [seg for seg in path.split("/") if seg]
    if not segments:
        return host if len(host) <= width else host[: width - 1] + "…"
    more = "?…" if query else ""  # the query string is left out, and says so
    room = max(8, width - len(host) - 3 - len(more))  # characters left after "host/…/"
    tail = segments.pop()
    if len(tail) > room:
        tail = "…" + tail[1 - room :]
    while segments and len(segments[-1]) + 1 + len(tail) <= room:
        tail = f"{segments.pop()}/{tail}"
    return f"{host}/{'…/' if segments else ''}{tail}{more}"


def context_window(text: str, start: int, end: int, *, width: int = 600) -> tuple[int, int]:
    """A readable stretch around ``[start, end)``: the enclosing paragraph, capped at ``width`` a side."""
    lo = text.rfind("\n\n", max(0, start - width), start)
    hi = text.find("\n\n", end, min(len(text), end + width))
    lo = max(0, start - width) if lo < 0 else lo + 2
    hi = min(len(text), end + width) if hi < 0 else hi
    return lo, hi


def share_url(doc_id: str, start: int | None = None, end: int | None = None) -> str:
    """``qa.export.share_link`` on the app's own address when the browser reports it."""
    try:
        base = st.context.url or ""
    except (AttributeError, RuntimeError):
        base = ""
    return share_link(doc_id, start, end, base=base)


# ------------------------------------------------------------------ engine


def _settings() -> tuple[Path, Path, str | None]:
    # The model is passed explicitly (not left to $QA_MODEL inside qa) so the
    # engine cache key names it.
    return default_corpus(), default_index(), (os.environ.get("QA_MODEL") or None)


@st.cache_resource(max_entries=2, show_spinner="Loading the model and the index…")
def load_engine(index_dir: str, corpus_dir: str, model: str | None, build_id: str) -> Engine:
    """One engine per process and index build; a new build (``build_id``) gets a fresh engine."""
    del build_id  # only part of the cache key
    engine = Engine.open(index_dir, corpus=corpus_dir, model=model)
    # Sessions then ask at once (see ``ask``). The tokenizer stores its truncation and padding
    # settings on its first call, and a settings change meeting another thread's encode fails
    # ("Already borrowed", huggingface/tokenizers#537): make that first call here, before any session.
    engine.embedder.encode(["warm-up"])
    return engine


def _where(label: str) -> str:
    # qa.build embeds on the Ray cluster named by $QA_RAY_ADDRESS when it is set (docs/scale.md).
    cluster = os.environ.get("QA_RAY_ADDRESS")
    return f"{label} on the Ray cluster at {cluster}" if cluster else label


def _progress_bar(label: str) -> Callable[[int, int], None]:
    label = _where(label)
    bar = st.progress(0.0, text=label)

    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{label} {done:,}/{total:,} chunks embedded")

    return update


def get_engine() -> Engine | None:
    """The cached engine; builds the index first if there is none. Shows errors, returns None then."""
    corpus, index_dir, model = _settings()
    try:
        build_id = current_build(index_dir).name
    except IndexNotFoundError:
        try:
            with st.status(
                f"No index yet: building it from {md_escape(corpus)} (first start only)…", expanded=True
            ) as status:
                report = build(corpus, index_dir, model=model, progress=_progress_bar("Embedding"))
                status.update(
                    label=f"Index built: {report.stats.documents} documents, {report.stats.chunks} chunks",
                    state="complete",
                    expanded=False,
                )
            build_id = current_build(index_dir).name
        except QAError as exc:
            st.error(md_escape(exc), icon=":material/error:")
            return None
    except QAError as exc:
        _index_error(exc)
        return None
    try:
        return load_engine(str(index_dir), str(corpus), model, build_id)
    except QAError as exc:
        _index_error(exc)
        return None


def _index_error(exc: QAError) -> None:
    st.error(f"The index cannot be used: {md_escape(exc)}", icon=":material/error:")
    if failed := st.session_state.get("rebuild_report", {}).get("error"):
        st.error(md_escape(failed))
    busy = running_job() is not None
    if isinstance(exc, IndexMismatchError) and st.button(
        "Rebuild the index", icon=":material/build:", key="rebuild_index", disabled=busy, help=BUSY if busy else None
    ):
        corpus, index_dir, model = _settings()
        st.session_state.pop("rebuild_report", None)
        start_job(
            "rebuild",
            "Rebuilding the index",
            lambda progress: build(corpus, index_dir, model=model, full=True, progress=progress),
        )
        st.rerun()


# ------------------------------------------------------------------ index updates in the background

BUSY = "An index update is running; this is possible again when it has finished."
JOB_POLL_S = 1.0
# Where each kind of job leaves its outcome in the session state, for the part of the page that shows it.
JOB_REPORT = {"add": "upload_report", "remove": "corpus_report", "rebuild": "rebuild_report"}
# Index updates run in a thread (qa.jobs), not in the script run: Streamlit stops a run at its
# next Streamlit call when the page is reloaded or a widget outside a fragment changes, and the
# progress bar's update was such a call, so a build was stopped halfway (files in the corpus,
# index not updated, no message); and a question waited behind the run for the whole build.


@st.cache_resource(show_spinner=False)
def index_jobs() -> IndexJobs:
    """One registry per server process (the script's own globals are new on every run)."""
    return IndexJobs()


def running_job() -> IndexJob | None:
    return index_jobs().running(_settings()[1])


def start_job(
    kind: str, label: str, work: Callable[[Callable[[int, int], None]], Any], *, doc_id: str | None = None
) -> None:
    """Run ``work(progress)`` in the background as this session's job; the outcome is collected
    into ``JOB_REPORT[kind]`` by ``collect_job`` once it has finished."""
    _, index_dir, _ = _settings()
    try:
        before: str | None = current_build(index_dir).name
    except QAError:
        before = None
    job = IndexJob(kind, _where(label), work, before=before, doc_id=doc_id)
    if index_jobs().start(index_dir, job):
        st.session_state["index_job"] = job
    else:  # another tab started one a moment ago
        st.session_state[JOB_REPORT[kind]] = {
            "error": "Another index update is running; wait for it to finish and try again."
        }


def collect_job() -> None:
    """Turn this session's finished job into the messages the page shows (run before the engine
    is opened, so the page is drawn from the build the job made)."""
    job = st.session_state.get("index_job")
    if job is None or not job.finished:
        return
    del st.session_state["index_job"]
    _drop_engine(job)
    exc = job.error
    if exc is not None and not isinstance(exc, QAError):
        raise exc  # a bug, shown as one
    if job.kind == "add":
        st.session_state["upload_report"] = {"error": str(exc)} if exc else _upload_summary(job.result)
    elif job.kind == "remove":
        if isinstance(exc, IndexOutOfDateError):  # the file is gone; only the index update failed
            st.session_state["corpus_report"] = {"error": str(exc)}
        elif exc is not None:  # a refusal: nothing was deleted
            st.session_state["corpus_report"] = {"error": f"Not removed: {exc}"}
        else:
            report = job.result
            s = report.build.stats
            st.session_state["corpus_report"] = {
                "done": f"Removed {', '.join(report.removed + report.already_gone)}. "
                f"Index: {s.documents} documents, {s.chunks} chunks."
            }
            if st.query_params.get("doc") == job.doc_id:
                close_source()
    elif exc is not None:
        st.session_state["rebuild_report"] = {"error": f"Rebuilding failed: {exc}"}


def _drop_engine(job: IndexJob) -> None:
    # Only the engine of the build the job replaced: clearing the whole cache would also drop
    # the new build's engine that another tab may have opened already, and load it again.
    corpus, index_dir, model = _settings()
    try:
        current = current_build(index_dir).name
    except QAError:
        current = None
    if job.before and job.before != current:
        load_engine.clear(str(index_dir), str(corpus), model, job.before)


@st.fragment(run_every=JOB_POLL_S)
def job_progress() -> None:
    """The running index update's progress, redrawn every second on its own (drawn only while
    one runs). When it has finished, the whole page is drawn again from the new build."""
    job = index_jobs().running(_settings()[1])
    if job is None:
        st.rerun()
    counts = f": {job.done:,}/{job.total:,} chunks embedded" if job.total else "…"
    st.progress(min(1.0, job.done / max(job.total, 1)), text=md_escape(job.label) + counts)
    mine = st.session_state.get("index_job") is job
    st.caption(
        ("" if mine else "Started in another tab or window. ")
        + "Questions are answered from the current index until the new one is ready."
    )


# ------------------------------------------------------------------ source view


def open_source(doc_id: str, start: int | None, end: int | None) -> None:
    """Point the URL at a span; the source view reads it from there, so the address bar is the share link."""
    st.query_params["doc"] = doc_id
    if start is not None and end is not None:
        st.query_params["start"] = str(start)
        st.query_params["end"] = str(end)
    else:
        st.query_params.pop("start", None)
        st.query_params.pop("end", None)


def clear_chat() -> None:
    st.session_state["history"] = []
    close_source()


def close_source() -> None:
    for key in ("doc", "start", "end"):
        st.query_params.pop(key, None)


def requested_source() -> tuple[str, int | None, int | None] | str | None:
    """``(doc, start, end)`` from the query string, an error message if malformed, or None."""
    doc = st.query_params.get("doc")
    if not doc:
        return None
    start, end = st.query_params.get("start"), st.query_params.get("end")
    if start is None and end is None:
        return doc, None, None
    try:
        s, e = int(start or ""), int(end or "")
    except ValueError:
        return "The link's start and end must both be whole numbers (character offsets)."
    if not 0 <= s < e:
        return f"The link's span {s}–{e} is not valid: start must be at least 0 and before end."
    return doc, s, e


def _quote_for(doc_id: str, start: int, end: int) -> str | None:
    """The quote a cited span had when it was answered, from the chat history."""
    for entry in st.session_state.get("history", []):
        for c in (entry.get("answer") or {}).get("citations", ()):
            if (c["doc_id"], c["start"], c["end"]) == (doc_id, start, end):
                return c["quote"]
    return None


def render_source(engine: Engine | None) -> None:
    """The whole document with the requested span highlighted, checked and scrolled into view."""
    req = requested_source()
    head = st.container(horizontal=True, vertical_alignment="center", gap="small")
    head.subheader("Verify in source", anchor=False, icon=":material/fact_check:", width="stretch")
    if isinstance(req, tuple):
        with head.popover("Share", icon=":material/link:"):
            st.caption("Link that opens this view")
            st.code(share_url(*req), language=None, wrap_lines=True)
    head.button("Close", key="close_source", on_click=close_source, icon=":material/close:")
    if isinstance(req, str) or req is None:
        st.error(req or "No document requested.")
        return
    if engine is None:
        st.error("No index is loaded, so the source cannot be shown.")
        return
    doc_id, start, end = req
    if doc_id not in engine.index.documents:
        st.error(f"No document {md_escape(doc_id)} in the index. The sidebar lists the sources.")
        return
    try:
        engine.check_source(doc_id)
    except UnreadableDocumentError as exc:
        st.error(md_escape(str(exc)))
        return
    doc = engine.index.documents[doc_id]
    st.html(
        f'<div class="qa-source-title">{esc(doc.title)}</div>'
        f'<div class="qa-muted">{esc(doc.path)} · id <code>{esc(doc_id)}</code></div>'
    )
    if start is None or end is None:
        if engine.is_stale(doc_id):
            st.warning(
                "This file changed on disk since it was indexed; shown as indexed. Rebuild the index to refresh it.",
                icon=":material/warning:",
            )
        st.html(f'<div class="qa-source">{source_html(doc.text, pages=doc.page_starts())}</div>')
        _reveal_source(doc_id)
        return
    if end > len(doc.text):
        st.error(f"The span {start:,}–{end:,} lies outside this document ({len(doc.text):,} characters).")
        return
    quote = _quote_for(doc_id, start, end)
    check = engine.check_span(doc_id, start, end, quote)
    if check.level == "ok" and quote is None:
        # A shared (or hand-made) link names offsets, not a quote: there is nothing to verify a
        # citation against, so no green "Verified" for whatever span a link highlights.
        st.info(
            md_escape(check.message) + " The link came without its question and answer: read the "
            "highlighted span in its context below.",
            icon=":material/info:",
        )
    else:
        alert = {"ok": st.success, "warning": st.warning, "error": st.error}[check.level]
        icon = {"ok": ":material/verified:", "warning": ":material/warning:", "error": ":material/error:"}
        alert(md_escape(check.message), icon=icon[check.level])
    st.caption(
        f"Cited span: characters {start:,}–{end:,} ({end - start:,} of {len(check.text):,}) · "
        f"showing the {md_escape(check.label)}"
    )
    # Page offsets are the indexed text's: a file changed since shows without them.
    pages = doc.page_starts() if check.text == doc.text else ()
    hit = check.hit or (None, None)
    body = source_html(check.text, *hit, mark_id=SOURCE_MARK_ID, pages=pages)
    st.html(f'<div class="qa-source" data-doc="{esc(doc_id)}">{body}</div>')
    if check.hit:
        _scroll_to_mark(f"{doc_id}:{start}:{end}")
    else:
        _reveal_source(f"{doc_id}:{start}:{end}")


# On a narrow screen the sidebar covers the page: a document opened from it would open
# unseen behind it, so every page script closes it first.
_CLOSE_SIDEBAR_ON_PHONE = """
    const side = document.querySelector('[data-testid="stSidebar"]');
    if (window.innerWidth <= 768 && side && side.getAttribute("data-collapsed") === "false") {
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) close.click();
    }"""


def _page_script(key: str, ready: str, body: str) -> None:
    """Run the JavaScript ``body`` in the page once the expression ``ready`` finds its element
    (``el``), retrying for 5 s while Streamlit draws it; on a phone the sidebar is closed first.
    The script holds no document text, only ``key``'s hash, which changes with what is shown
    so that the script runs again."""
    nonce = hashlib.sha256(key.encode()).hexdigest()[:12]
    st.html(
        f"""<script>/* {nonce} */
(function () {{
  let tries = 0;
  (function go() {{
    const el = {ready};
    if (!el) {{ if (++tries < 50) setTimeout(go, 100); return; }}
    {_CLOSE_SIDEBAR_ON_PHONE}
    {body}
  }})();
}})();
</script>""",
        unsafe_allow_javascript=True,
    )


def _reveal_source(key: str) -> None:
    """Bring the source view into sight when there is no mark to centre."""
    _page_script(
        key,
        'document.querySelector(".qa-source-title")',
        'el.scrollIntoView({block: "nearest", behavior: "instant"});',
    )


def _scroll_to_mark(span_key: str) -> None:
    # Brings the source box into view (the page scrolls only as far as needed, so the
    # answer next to it stays on screen), then scrolls the box to centre the mark in the
    # part of the box that is visible: the chat box pinned to the bottom of the page
    # covers the lower part of the source on a phone, and the app's header the top.
    _page_script(
        span_key,
        f'document.getElementById("{SOURCE_MARK_ID}")',
        """const box = el.closest(".qa-source");
    const HEADER = 64;
    const limit = () => {
      const bar = document.querySelector('[data-testid="stBottom"]');
      return (bar ? bar.getBoundingClientRect().top : window.innerHeight) - 8;
    };
    const centre = () => {
      box.scrollIntoView({block: "nearest", behavior: "instant"});
      let b = box.getBoundingClientRect();
      if (b.bottom > limit()) {
        let page = box.parentElement;
        while (page && !(page.scrollHeight > page.clientHeight && /auto|scroll/.test(getComputedStyle(page).overflowY)))
          page = page.parentElement;
        (page || document.scrollingElement).scrollBy(0, Math.min(b.bottom - limit(), b.top - HEADER));
        b = box.getBoundingClientRect();
      }
      const top = Math.max(b.top, HEADER), height = Math.max(Math.min(b.bottom, limit()) - top, 1);
      const m = el.getBoundingClientRect();
      box.scrollTop += (m.top - top) - (height - Math.min(m.height, height)) / 2;
    };
    // Again while the page settles: on a slow device the chat box is drawn after the mark,
    // and centring is a no-op once the mark is in place.
    centre();
    // Keyboard users continue from the source (arrow keys scroll it, Tab goes on from it),
    // not from the top of the page, where the rerun left the focus.
    box.tabIndex = -1;
    box.focus({preventScroll: true});
    [300, 1000, 2500].forEach((t) => setTimeout(centre, t));""",
    )


# ------------------------------------------------------------------ rendering answers


def _meta_table(meta: dict[str, Any]) -> str:
    rows = []
    for key, label in META_FIELDS:
        value = meta.get(key)
        if value in (None, "", [], ()):
            continue
        if key == "doi":
            cell = f'<a href="{esc(doi_url(value))}" target="_blank" rel="noopener">{esc(doi_url(value))}</a>'
        elif key in ("url", "source") and (href := safe_href(field_text(value))):
            cell = (
                f'<a href="{esc(href)}" title="{esc(href)}" target="_blank" rel="noopener">{esc(short_url(href))}</a>'
            )
        elif key == "flagged":
            cell = f'<span class="qa-flag">{esc(field_text(value))}</span>'
        else:
            cell = esc(field_text(value))
        rows.append(f"<tr><th>{esc(label)}</th><td>{cell}</td></tr>")
    return f'<table class="qa-meta">{"".join(rows)}</table>' if rows else ""


def _passage_html(citation: dict[str, Any], answer: dict[str, Any], engine: Engine | None) -> str:
    """The retrieved passage around a citation with the quoted span marked."""
    start, end = citation["start"], citation["end"]
    for p in answer["passages"]:
        if p["doc_id"] == citation["doc_id"] and p["start"] <= start and end <= p["end"]:
            return highlight(p["text"], start - p["start"], end - p["start"])
    if engine is not None and engine.holds(citation["doc_id"], start, end, citation["quote"]):
        text = engine.canonical_text(citation["doc_id"])
        lo, hi = context_window(text, start, end)
        return highlight(text[lo:hi], start - lo, end - lo)
    return f'<mark class="qa-hit">{esc(citation["quote"])}</mark>'


def citation_state(citation: dict[str, Any], engine: Engine | None) -> tuple[str, str] | None:
    """Why a citation of an earlier answer may no longer hold, as (kind, message), or None."""
    if engine is None:
        return None
    doc_id, start, end = citation["doc_id"], citation["start"], citation["end"]
    indexed = doc_id in engine.index.documents
    # An answer from an earlier build whose document was re-indexed with other text at these offsets.
    if not engine.holds(doc_id, start, end, citation["quote"]):
        if not indexed:
            return "removed", (
                "This document was removed from the corpus after this answer: the quote can no longer "
                "be checked against it."
            )
        return "outdated", (
            "The document was re-indexed after this answer and no longer has this quote at these "
            "characters: ask again for a current citation."
        )
    if citation.get("stale") or engine.is_stale(doc_id):
        return "stale", (
            "The source file changed, or is missing, since it was indexed: use Verify in source "
            "before relying on this quote."
        )
    return None


def render_citation(i: int, citation: dict[str, Any], answer: dict[str, Any], engine: Engine | None) -> None:
    doc_id, start, end = citation["doc_id"], citation["start"], citation["end"]
    label = f"[{citation['n']}] {citation['locator']}"
    # The citation being verified stays open next to its source.
    verifying = requested_source() == (doc_id, start, end)
    with st.expander(md_escape(label), icon=":material/format_quote:", expanded=verifying):
        state = citation_state(citation, engine)
        if state:
            st.warning(state[1], icon=":material/warning:")
        st.html(
            f'<div class="qa-passage">{_passage_html(citation, answer, engine)}</div>'
            f'<div class="qa-muted" style="margin-top:.35rem"><span class="qa-loc">{esc(citation["locator"])}'
            f"</span> · <code>{esc(doc_id)}</code> · characters {start:,}–{end:,}</div>"
            + _meta_table(citation["metadata"])
        )
        if state and state[0] in ("removed", "outdated"):
            return  # a link or a check would only lead to "no such document", or to other text
        st.caption("Link to this passage")
        st.code(share_url(doc_id, start, end), language=None, wrap_lines=True)
        st.button(
            "Verify in source",
            key=f"verify-{i}-{citation['n']}",
            icon=":material/fact_check:",
            on_click=open_source,
            args=(doc_id, start, end),
        )


def quote_html(citation: dict[str, Any], answer: dict[str, Any] | None) -> str:
    """The quote, escaped; when the answer window joined neighbours to the best-ranked span,
    that span is set in bold so the reader sees which sentence ranked first."""
    quote = citation["quote"]
    explain = (answer or {}).get("explain", {})
    if not explain.get("joined") or not explain.get("candidates"):
        return esc(quote)
    best = explain["candidates"][0]
    a, b = best["start"] - citation["start"], best["end"] - citation["start"]
    if not (best["doc_id"] == citation["doc_id"] and 0 <= a < b <= len(quote)):
        return esc(quote)
    return f'{esc(quote[:a])}<strong class="qa-best">{esc(quote[a:b])}</strong>{esc(quote[b:])}'


def render_answer(i: int, entry: dict[str, Any], engine: Engine | None) -> None:
    """One assistant turn, drawn only from the stored entry (plus live staleness checks)."""
    if entry.get("error"):
        st.error(md_escape(as_sentence(entry["error"])), icon=":material/error:")
        if entry.get("unsent"):
            st.caption("Your question as sent, to shorten and ask again (copy button at the top right):")
            st.code(entry["unsent"], language=None, wrap_lines=True, height=160)
        return
    answer = entry["answer"]
    threshold = answer.get("explain", {}).get("threshold", 0.0)
    conf = float(answer["confidence"])
    if answer["abstained"]:
        heading = '<div style="margin-top:.6rem">Closest sentences, <em>not</em> an answer:</div>'
        explain = answer.get("explain", {})
        hint = refusal_hint(explain) or ""
        why = (
            html.escape(hint)
            if explain.get("missing_article")  # scored well, but not under the article asked for
            else f"No passage scored above the answer threshold ({conf:.2f} &lt; {threshold:.2f}). {html.escape(hint)}"
        )
        st.html(
            f'<div class="qa-abstain"><strong>{ABSTAIN_TEXT}</strong> {why.strip()}'
            f"{heading if answer.get('closest') else ' ' + NOTHING_CLOSE}</div>"
        )
        render_closest(i, answer)
    else:
        quotes = []
        for c in answer["citations"]:
            first = c["n"] == 1
            label = "Answer" if first else "Also supported by"
            quotes.append(
                f'<div class="qa-quote{"" if first else " qa-support"}"><span class="qa-label">'
                # The locator's short document name: full treaty titles run to four lines on a phone.
                f"{label} · {esc(c['locator'].split(' › ')[0] or c['title'])}</span>"
                f"“{quote_html(c, answer if first else None)}”"
                f'<span class="qa-marker">[{c["n"]}]</span></div>'
            )
        st.html("".join(quotes))
        # Said where it is seen, not only inside the collapsed citation (an app user test).
        if changed := [c["n"] for c in answer["citations"] if citation_state(c, engine)]:
            st.warning(
                f"Citation {', '.join(f'[{n}]' for n in changed)} may no longer hold: its document changed or "
                "was removed after this answer. Open it below for what changed.",
                icon=":material/warning:",
            )
        # The threshold in the label: "medium" means little without knowing where answers start.
        note = below_threshold_note(answer.get("explain", {}), conf)
        st.progress(
            min(1.0, max(0.0, conf)),
            text=f"Confidence: {confidence_word(conf, threshold)} ({conf:.2f}; answers start at {threshold:.2f}"
            + (f"; {note})" if note else ")"),
        )
        for c in answer["citations"]:
            render_citation(i, c, answer, engine)
        if answer.get("closest"):
            # Collapsed: when the answer is right they are noise; when it is not, the right
            # sentence is often here (docs/answerer.md).
            with st.expander("Runners-up (not the answer)", icon=":material/format_list_numbered:"):
                render_closest(i, answer)
    _answer_tools(i, entry)


def render_closest(i: int, answer: dict[str, Any]) -> None:
    """``answer["closest"]``: each sentence located and verbatim, with its own Verify in source,
    since the one a reader needs is often among them."""
    for c in answer.get("closest", ()):
        quote = esc(" ".join(c["quote"].split()))
        st.html(f'<ul class="qa-closest"><li><span class="qa-loc">{esc(c["locator"])}</span>: “{quote}”</li></ul>')
        st.button(
            "Verify in source",
            key=f"verify-{i}-closest-{c['n']}",
            icon=":material/fact_check:",
            type="tertiary",
            on_click=open_source,
            args=(c["doc_id"], c["start"], c["end"]),
        )


def _answer_tools(i: int, entry: dict[str, Any]) -> None:
    answer = entry["answer"]
    md = answer_markdown(Answer.from_dict(answer))
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    row.download_button(
        "Markdown",
        md,
        # The time asked, not the turn number: a reload starts the count again, and the second
        # "answer-1.md" of the day would overwrite the first (or become "answer-1 (1).md").
        file_name=f"answer-{entry.get('asked', i + 1)}.md",
        mime="text/markdown",
        key=f"download-{i}",
        icon=":material/download:",
        on_click="ignore",
        help="Download the answer with footnote citations and full reference entries",
    )
    with row.popover("Copy", icon=":material/content_copy:", key=f"copy-{i}"):
        st.caption("The answer as Markdown; the button at the top right of the box copies it.")
        st.code(md, language="markdown", wrap_lines=True)
    explain = row.toggle("Explain", key=f"explain-{i}", help="Show the candidate spans and their scores")
    settings = entry.get("settings", {})
    # A restricted search says so: otherwise its answer reads like one from the whole corpus.
    only = settings.get("doc_ids") or []
    row.caption(
        f"{settings.get('mode', 'hybrid')} · k={settings.get('k', DEFAULT_K)}"
        + (f" · only {', '.join(only)}" if only else "")
        + f" · {entry.get('ms', 0):,.0f} ms",
        width="content",
    )
    if explain:
        ex = answer.get("explain", {})
        weights = ", ".join(f"{k} {v}" for k, v in ex.get("weights", {}).items())
        st.caption(
            f"Answer threshold {ex.get('threshold', 0):.2f}"
            + (f" · weights: {md_escape(weights)}" if weights else "")
            + (" · asks about sources" if ex.get("source_question") else "")
            + (f" · {len(ex['joined'])} neighbouring span(s) joined to the best" if ex.get("joined") else "")
        )
        rows = explain_rows(ex, abstained=bool(answer.get("abstained")))
        if rows:
            st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                column_config={
                    "rank": st.column_config.NumberColumn(
                        "rank", help="What orders the candidates: feature score + b × selector", format="%.3f"
                    ),
                    "selector": st.column_config.TextColumn(
                        "selector",
                        help="The learned selector's probability that the span answers (only the best few are read)",
                    ),
                    "probability": st.column_config.ProgressColumn(
                        "probability",
                        help="The candidate's feature score, calibrated. The answer's confidence is the highest "
                        "of these, whichever candidate the selector puts first",
                        min_value=0.0,
                        max_value=1.0,
                        format="%.3f",
                    ),
                    "score": st.column_config.NumberColumn("feature score", format="%.3f"),
                    "text": st.column_config.TextColumn("candidate span", width="large"),
                },
            )
        else:
            st.caption(md_escape(ex.get("reason", "No candidate spans.")))


def explain_rows(explain: dict[str, Any], *, abstained: bool) -> list[dict[str, Any]]:
    """The Explain table: one row per candidate span, best first. The selector's columns
    appear only when it ran, and a candidate it did not read says so (a blank cell prints
    as "None")."""
    joined = {(s, e) for s, e in explain.get("joined", [])}
    candidates = explain.get("candidates", [])
    read = any(c.get("selector") is not None for c in candidates)
    rows = []
    for n, c in enumerate(candidates):
        row = {
            "in answer": ("answer" if n == 0 and not abstained else "")
            or ("joined" if (c["start"], c["end"]) in joined else ""),
            "rank": c.get("rank"),
            "selector": "not read" if c.get("selector") is None else f"{c['selector']:.3f}",
            "probability": c.get("probability"),
            "score": c["score"],
            "text": c["text"],
            "document": c["doc_id"],
            "span": f"{c['start']}–{c['end']}",
            "semantic": c["semantic"],
            "lexical": c["lexical"],
            "passage": c["passage"],
            "question type": c.get("answer_type", 0.0),
            "source": c.get("source", 0.0),
        }
        if not read:  # no selector ran: the rank is the score
            del row["rank"], row["selector"]
        rows.append(row)
    return rows


def ask(engine: Engine | None, question: str, settings: dict[str, Any]) -> dict[str, Any]:
    """One history entry for ``question``: the answer as a dict, or the error message."""
    t0 = time.perf_counter()
    asked = time.strftime("%Y%m%d-%H%M%S")
    shown = question if len(question) <= 300 else question[:300] + "…"
    try:
        question = validate_question(question)
        if engine is None:
            raise QAError("no index is loaded (see the message at the top); fix it, then ask again")
        # Sessions ask the shared engine at once, without a lock: Engine.ask is safe in threads
        # (bench/load.py, part 2), and with 8 users a one-question-at-a-time lock made questions
        # queue (the time shown under answers: p95 2.1 s with it, 0.5-1 s without; docs/reliability.md).
        answer = engine.ask(question, k=settings["k"], mode=settings["mode"], doc_ids=settings["doc_ids"] or None)
    except QAError as exc:
        return {
            "question": shown,
            "answer": None,
            "error": str(exc),
            # The chat box is cleared on send: give back a long question so it can be shortened
            # and sent again (up to a size worth copying; beyond it, it was not typed by hand).
            "unsent": question if shown != question and len(question) <= MAX_UNSENT_CHARS else None,
            "settings": settings,
            "ms": (time.perf_counter() - t0) * 1000,
            "asked": asked,
        }
    return {
        "question": question,
        "answer": dataclasses.asdict(answer),
        "error": None,
        "settings": settings,
        "ms": (time.perf_counter() - t0) * 1000,
        "asked": asked,
    }


# ------------------------------------------------------------------ sidebar


def render_sidebar(engine: Engine | None) -> dict[str, Any]:
    """Corpus overview, sources, search settings and uploads; returns the search settings."""
    sb = st.sidebar
    sb.header("Corpus", anchor=False)
    docs = engine.index.documents if engine else {}
    if engine is not None:
        refs = sum(len(d.references) for d in docs.values())
        cols = sb.columns(3)
        cols[0].metric("Documents", len(docs))
        cols[1].metric("References", refs)
        chunks = len(engine.index.chunks)
        cols[2].metric("Chunks", chunks if chunks < 10_000 else f"{chunks / 1000:.0f}k", help=f"{chunks:,} chunks")
        cfg = engine.index.config
        sb.caption(
            f"Model {md_escape(cfg.model)} ({cfg.dimension} dims) · chunks of {cfg.chunk_size} characters"
            f" · index built {md_escape(engine.index.built_at.replace('T', ' ').replace('Z', ' UTC'))}"
        )
    else:
        sb.caption("No index loaded.")

    sb.subheader("Search settings", anchor=False)
    k = sb.slider("Passages to retrieve (k)", 1, MAX_K_UI, DEFAULT_K, key="k")
    mode = (
        sb.segmented_control(
            "Retrieval",
            MODES,
            default="hybrid",
            key="mode",
            required=True,
            help=" · ".join(f"{m}: {h}" for m, h in MODE_HELP.items()),
        )
        or "hybrid"
    )
    # The names users know ("Outer Space Treaty"), not the first 48 characters of the full title.
    titles = {d: short_title(doc) for d, doc in docs.items()}
    before = st.session_state.get("doc_filter") or []
    gone = [d for d in before if d not in titles]
    if gone:  # documents removed since they were chosen: say so, the search widens
        st.session_state["doc_filter"] = [d for d in before if d in titles]
        st.session_state["filter_note"] = f"No longer in the corpus, so dropped from the filter: {', '.join(gone)}." + (
            "" if len(gone) < len(before) else " Questions now search every document."
        )
    chosen = sb.multiselect(
        "Only these documents",
        list(titles),
        key="doc_filter",
        placeholder="All documents",
        format_func=lambda d: _short(titles.get(d, d)),
    )
    if note := st.session_state.pop("filter_note", None):
        sb.warning(md_escape(note), icon=":material/filter_alt_off:")
    sb.button(
        "New conversation",
        key="clear_chat",
        on_click=clear_chat,
        icon=":material/restart_alt:",
        help="Clear the questions and answers of this tab (a reload of the page does the same)",
    )

    sb.space("small")
    busy = running_job() is not None
    # Always there, empty when no update runs: an element added before the tabs would move them,
    # and the browser would then show the first tab again (the upload's report is in the second).
    with sb.container():
        # Also for this session's job that ended after collect_job ran (during this page run): the
        # fragment then reruns the page at once, which collects it, shows its report and drops the
        # old engine. Without it nothing would until the user did something.
        mine = st.session_state.get("index_job")
        if busy or (mine is not None and mine.finished):
            job_progress()
    sources_tab, add_tab = sb.tabs(["Sources", "Add documents"])
    for doc_id, doc in docs.items():
        with sources_tab, st.expander(md_escape(_short(doc.title, 60))):
            meta = {k2: v for k2, v in doc.metadata.items() if k2 != "title"}
            flagged = sum(1 for r in doc.references if r.flagged)
            st.html(
                f'<div class="qa-muted"><code>{esc(doc_id)}</code> · {esc(doc.path)} · '
                f"{len(doc.text):,} characters</div>" + _meta_table({"title": doc.title, **meta})
            )
            if doc.references:
                items = "".join(
                    f"<li>{esc(format_reference(r))}"
                    + (f' <span class="qa-flag">[flagged: {esc(r.flagged)}]</span>' if r.flagged else "")
                    + (f' <a href="{esc(doi_url(r.doi))}" target="_blank" rel="noopener">DOI</a>' if r.doi else "")
                    + "</li>"
                    for r in doc.references
                )
                st.html(
                    f'<div class="qa-muted">{len(doc.references)} reference records'
                    f'{f", {flagged} flagged" if flagged else ""}</div><ol class="qa-refs">{items}</ol>'
                )
            row = st.container(horizontal=True, gap="small")
            row.button(
                "Open document",
                key=f"open-{doc_id}",
                on_click=open_source,
                args=(doc_id, None, None),
                icon=":material/article:",
            )
            with row.popover("Remove", icon=":material/delete:"):
                st.caption(f"Deletes {md_escape(doc.path)} from the corpus folder and updates the index.")
                if st.button(
                    "Remove from corpus",
                    key=f"remove-{doc_id}",
                    type="primary",
                    disabled=busy,
                    help=BUSY if busy else None,
                ):
                    _remove_document(doc_id)

    corpus_report = st.session_state.get("corpus_report")
    if corpus_report:
        alert = sources_tab.error if corpus_report.get("error") else sources_tab.success
        alert(md_escape(corpus_report.get("error") or corpus_report["done"]), icon=":material/info:")
    if not docs:
        sources_tab.caption("No documents indexed yet.")
    _upload_section(add_tab, busy)
    return {"k": int(k), "mode": mode, "doc_ids": list(chosen)}


def _short(text: str, width: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _upload_section(sb, busy: bool) -> None:
    gen = st.session_state.setdefault("upload_gen", 0)
    files = sb.file_uploader(
        f"Documents to add ({', '.join(SUPPORTED_SUFFIXES)})",
        accept_multiple_files=True,
        key=f"uploader-{gen}",
        type=[s.lstrip(".") for s in SUPPORTED_SUFFIXES],
        max_upload_size=DEFAULT_MAX_BYTES // (1024 * 1024),  # qa.ingest's limit, in MB
    )
    replace = sb.checkbox(
        "Replace documents of the same name",
        key="replace_uploads",
        help="Off: a file named like a corpus document but with other content is not added.",
    )
    if sb.button(
        "Add to corpus and reindex",
        disabled=not files or busy,
        icon=":material/upload_file:",
        key="add_docs",
        help=BUSY if busy else None,
    ):
        corpus, index_dir, model = _settings()
        st.session_state.pop("corpus_report", None)  # a removal's message is out of date now
        st.session_state.pop("upload_report", None)
        uploads = [(f.name, f.getvalue()) for f in files]  # read now: the uploader is emptied below
        names = uploads[0][0] if len(uploads) == 1 else f"{len(uploads)} documents"
        start_job(
            "add",
            f"Adding {names}",
            lambda progress: add_documents(uploads, corpus, index_dir, model=model, progress=progress, replace=replace),
        )
        st.session_state["upload_gen"] = gen + 1  # a fresh, empty uploader
        st.rerun()
    report = st.session_state.get("upload_report")
    if report:
        if report.get("error"):
            sb.error(md_escape(report["error"]), icon=":material/error:")
        if report.get("saved"):
            sb.success(md_escape(report["saved"]), icon=":material/check_circle:")
        for line in report.get("skipped", ()):
            sb.warning(md_escape(line), icon=":material/warning:")


def _remove_document(doc_id: str) -> None:
    corpus, index_dir, model = _settings()
    st.session_state.pop("upload_report", None)  # its counts are out of date now
    st.session_state.pop("corpus_report", None)
    start_job(
        "remove",
        f"Removing {doc_id} and updating the index",
        lambda progress: remove_documents([doc_id], corpus, index_dir, model=model, progress=progress),
        doc_id=doc_id,
    )
    st.rerun()


def _upload_summary(report: AddReport) -> dict[str, Any]:
    uploads, built = report.uploads, report.build
    out: dict[str, Any] = {"skipped": [f"Not added: {Skipped(name, reason)}" for name, reason in uploads.rejected]}
    out["skipped"] += [f"Saved {old} as {new} (folder part ignored)" for old, new in uploads.renamed]
    if built is not None:
        s = built.stats
        out["saved"] = (
            f"Added {', '.join(uploads.saved)}. Index: {s.documents} documents, {s.chunks} chunks "
            f"({len(s.added)} added, {len(s.updated)} updated; {s.embedded} chunks embedded in "
            f"{s.seconds:.1f} s{' on ' + built.cluster if built.cluster else ''})."
        )
        out["skipped"] += [f"Skipped by the indexer: {sk}" for sk in built.skipped]
    return out


# ------------------------------------------------------------------ page


def main() -> None:
    # An emoji, not a Material icon: Streamlit draws an emoji favicon in the page but fetches
    # a Material one from fonts.gstatic.com, and the app makes no network requests.
    st.set_page_config(page_title=APP_TITLE, page_icon="🛰️", layout="wide")
    st.html(CSS)
    st.title(APP_TITLE, anchor=False)
    st.caption(
        "Ask a question about the space treaties, the UN Charter and the space-diplomacy article. "
        "Answers are verbatim quotes from the corpus with numbered citations you can check against "
        "the source; when the corpus has no answer, it says so. Runs fully offline."
    )
    collect_job()
    engine = get_engine()
    settings = render_sidebar(engine)
    source = requested_source()
    if source is not None:
        chat_col, source_col = st.columns([1, 1], gap="large")
    else:
        chat_col, source_col = st.container(), None
    with chat_col:
        chat(engine, settings, source)
    if source_col is not None:
        with source_col, st.container(key="source_panel"):
            render_source(engine)


@st.fragment
def chat(engine: Engine | None, settings: dict[str, Any], source: Any) -> None:
    """The conversation and its input box. A question reruns only this fragment, so the page
    around it (sidebar, title, source view) is not sent and drawn again for every question
    (docs/reliability.md: about a third of the browser's work per question)."""
    if requested_source() != source:
        st.rerun()  # "Verify in source" changed the link: the whole page draws the source column
    # The index may have been rebuilt since the page was drawn: answer from the current build.
    current = _current_engine(engine)
    history: list[dict[str, Any]] = st.session_state.setdefault("history", [])
    # In st.bottom, so that the box stays pinned under the chat although it belongs to the fragment.
    # No max_chars: the widget would silently cut a pasted long question; the engine
    # refuses it with a message instead.
    with st.bottom:
        prompt = st.chat_input("Ask about space law, e.g. “Can states place nuclear weapons in orbit?”")
    if not history and not (prompt and prompt.strip()):
        st.info(
            "Try: “Which organizations deal with space security?” · “Who wrote about anti-satellite "
            "weapons?” · “How many members does the Claims Commission have?” The conversation lives in this "
            "browser tab: reloading the page starts a new one (the Markdown button under an answer keeps it).",
            icon=":material/lightbulb:",
        )
    for i, entry in enumerate(history):
        _render_turn(i, entry, current)
    if prompt is not None and prompt.strip():  # an empty message does nothing
        with st.chat_message("user"):
            st.markdown(md_escape(prompt if len(prompt) <= 300 else prompt[:300] + "…"))
        with st.chat_message("assistant"):
            with st.spinner("Searching the corpus…"):
                entry = ask(current, prompt, settings)
            history.append(entry)
            render_answer(len(history) - 1, entry, current)
        _scroll_to_turn(len(history) - 1)  # outside the message: a redraw of the history is the same
    if current is not engine:
        st.rerun()  # a new build: redraw the page (sidebar counts, document filter) from it


def _scroll_to_turn(turn: int) -> None:
    # With the chat box in st.bottom, Streamlit no longer keeps the page pinned to the newest
    # message, so a new answer was drawn below the fold and the page looked unchanged. Bring
    # the new question to the top of the view, with its answer under it. The turn number in
    # the comment makes each new turn's script differ, so it runs once per question.
    st.html(
        f"""<script>/* turn {turn} */
(function () {{
  let tries = 0;
  (function go() {{
    const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (msgs.length < {2 * turn + 2}) {{ if (++tries < 50) setTimeout(go, 100); return; }}
    msgs[{2 * turn}].scrollIntoView({{block: "start", behavior: "instant"}});
  }})();
}})();
</script>""",
        unsafe_allow_javascript=True,
    )


def _current_engine(engine: Engine | None) -> Engine | None:
    """The engine of the index build that is current now; ``engine`` if none can be loaded (the
    page, drawn by ``get_engine``, shows why)."""
    corpus, index_dir, model = _settings()
    try:
        return load_engine(str(index_dir), str(corpus), model, current_build(index_dir).name)
    except QAError:
        return engine


def _render_turn(i: int, entry: dict[str, Any], engine: Engine | None) -> None:
    with st.chat_message("user"):
        st.markdown(md_escape(entry["question"]))
    with st.chat_message("assistant"):
        render_answer(i, entry, engine)


if __name__ == "__main__":
    main()
