"""Do answers from a PDF match answers from the same text in Markdown?

A user's documents are often PDFs: every printed line ends in a line break, every page has a
running header and a page number, long words are hyphenated at line ends. This renders each
document of ``corpus/`` as such a PDF (matplotlib: A4, about 95 characters a line, 48 lines a
page, the title as running header, the page number as footer, words of 8+ letters hyphenated
where a line runs out), indexes the Markdown originals and the PDFs with the real model, and asks
every question of ``tests/data/eval.jsonl``, ``tests/data/paraphrase.jsonl`` and spacelaw_qa
(all 30; its answers are in these treaties) of each:

* **Markdown**: the originals (the reference);
* **PDF, pages as extracted**: pypdf's text of each page, pages joined by blank lines (before
  ``qa.reflow``);
* **PDF, reflowed**: what ``qa.ingest.parse_pdf`` does now (``qa.reflow.reflow_pages``).

It prints answer hit and refusals per question set, and the share of answers that are a cut
sentence (starting in lower case, or ending without closing punctuation), with the PDF rows as
ratios of the Markdown row. Nothing is tuned on these questions. Figures in docs/reliability.md.

Usage: .venv/bin/python bench/pdf_reflow.py  (about 3 minutes)
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/pdf_reflow.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import ROOT  # noqa: E402
from bench.data import load_collection  # noqa: E402
from qa import ingest  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402
from qa.engine import Engine, build  # noqa: E402
from qa.evaluation import EvalQuestion, contains_gold, load_questions  # noqa: E402
from qa.reflow import Reflowed  # noqa: E402

WIDTH, PER_PAGE = 95, 48
_CLOSED = re.compile(r"[.;:!?)\]”\"’']\s*$")


def wrap(paragraph: str, width: int = WIDTH) -> list[str]:
    """Greedy line filling; a word of 8+ letters that does not fit is hyphenated if 4+ fit."""
    lines, cur = [], ""
    for w in paragraph.split():
        if not cur:
            cur = w
        elif len(cur) + 1 + len(w) <= width:
            cur += " " + w
        elif len(w) >= 8 and w.isalpha() and width - len(cur) - 2 >= 4:
            k = min(width - len(cur) - 2, len(w) - 3)
            lines.append(f"{cur} {w[:k]}-")
            cur = w[k:]
        else:
            lines.append(cur)
            cur = w
    return [*lines, cur] if cur else lines


def render_pdf(markdown: str, title: str, out: Path) -> None:
    """``markdown`` as a typeset-looking PDF: no Markdown marks, headings as bold lines."""
    import matplotlib

    matplotlib.use("pdf")
    matplotlib.rcParams["pdf.fonttype"] = 42  # TrueType, so the text layer is extractable
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S)
    lines: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", body):
        for line in block.strip().splitlines():
            if line.startswith("#"):
                lines.append(("heading", line.lstrip("#").strip()))
            else:
                lines += [("text", w) for w in wrap(line)]
        lines.append(("gap", ""))
    with PdfPages(out, metadata={"Title": title}) as pdf:
        for first in range(0, len(lines), PER_PAGE):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.5, 0.96, title, ha="center", fontsize=8, family="DejaVu Serif")
            y = 0.93
            for kind, line in lines[first : first + PER_PAGE]:
                if kind == "gap":
                    y -= 0.008
                    continue
                bold = "bold" if kind == "heading" else "normal"
                fig.text(0.07, y, line, fontsize=8.5, family="DejaVu Serif", weight=bold)
                y -= 0.018
            fig.text(0.5, 0.03, str(first // PER_PAGE + 1), ha="center", fontsize=8, family="DejaVu Serif")
            pdf.savefig(fig)
            plt.close(fig)


def pages_as_extracted(pages: list[str]) -> Reflowed:
    """What parse_pdf did before qa.reflow: each page's text as pypdf gives it, blank lines between."""
    starts, pos = [], 0
    for page in pages:
        starts.append(pos)
        pos += len(page) + 2
    return Reflowed("\n\n".join(pages), starts, ())


def scores(engine: Engine, questions) -> tuple[float, float | None, float, int]:
    """(answer hit, refused share or None, share of answers that are cut sentences, median chars)."""
    hit = answerable = refused = unanswerable = cut = answered = 0
    lengths = []
    for q in questions:
        a = engine.ask(q.question)
        if not a.abstained:
            answered += 1
            lengths.append(len(a.answer))
            cut += a.answer[:1].islower() or not _CLOSED.search(a.answer)
        if q.answerable:
            answerable += 1
            hit += not a.abstained and contains_gold(a.answer, q.gold)
        else:
            unanswerable += 1
            refused += a.abstained
    return (
        hit / answerable,
        refused / unanswerable if unanswerable else None,
        cut / max(answered, 1),
        int(statistics.median(lengths)) if lengths else 0,
    )


def main() -> None:
    embedder = load_embedder(None)
    work = Path(tempfile.mkdtemp(prefix="qa-pdf-"))
    md, pdf = work / "markdown", work / "pdf"
    shutil.copytree(ROOT / "corpus", md)
    pdf.mkdir()
    for f in sorted(md.glob("*.md")):
        doc = ingest.read_document(f, md)
        render_pdf(f.read_text(encoding="utf-8"), doc.title, pdf / f"{f.stem}.pdf")
    sets = {
        "eval.jsonl": load_questions(ROOT / "tests" / "data" / "eval.jsonl"),
        "paraphrase.jsonl": load_questions(ROOT / "tests" / "data" / "paraphrase.jsonl"),
        "spacelaw_qa": [EvalQuestion(q.text, q.gold, q.answerable) for q in load_collection("spacelaw").questions],
    }
    reflow = ingest.reflow_pages
    rows = []
    for label, corpus, joiner in (
        ("Markdown (reference)", md, reflow),
        ("PDF, pages as extracted (before)", pdf, pages_as_extracted),
        ("PDF, reflowed (now)", pdf, reflow),
    ):
        ingest.reflow_pages = joiner
        try:
            index = work / f"index-{len(rows)}"
            build(corpus, index, embedder=embedder)
            engine = Engine.open(index, corpus=corpus, embedder=embedder)
            rows.append((label, {name: scores(engine, qs) for name, qs in sets.items()}))
        finally:
            ingest.reflow_pages = reflow
        print(f"{label}: done", file=sys.stderr, flush=True)
    shutil.rmtree(work, ignore_errors=True)

    print("| corpus | " + " | ".join(f"{n} hit / refused" for n in sets) + " | cut-sentence answers | median chars |")
    print("|---|" + "---|" * (len(sets) + 2))
    base = rows[0][1]
    for label, got in rows:
        cells = []
        for name in sets:
            hit, ref, _, _ = got[name]
            ratio = f" ({hit / base[name][0]:.2f}×)" if label != rows[0][0] and base[name][0] else ""
            cells.append(f"{hit:.3f}{ratio}" + (f" / {ref:.3f}" if ref is not None else ""))
        cut = statistics.mean(v[2] for v in got.values())
        chars = int(statistics.median(v[3] for v in got.values()))
        print(f"| {label} | " + " | ".join(cells) + f" | {cut:.3f} | {chars} |")


if __name__ == "__main__":
    main()
