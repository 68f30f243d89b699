"""Command line: ``python -m qa {index,ask,show,sources,eval,add,remove,verify}``.

A thin shell over ``qa.engine`` (build, ask, span checks) and ``qa.export`` (the
Markdown export), the same calls the app makes. Every subcommand takes
``--corpus DIR`` and ``--index DIR`` (or ``$QA_CORPUS`` and ``$QA_INDEX``).
Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import filecmp
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

from qa.answering import ABSTAIN_TEXT, NOTHING_CLOSE, below_threshold_note, refusal_hint
from qa.embedding import LazyEmbedder
from qa.engine import (
    MAX_QUESTION_CHARS,
    BuildReport,
    Engine,
    build,
    default_corpus,
    default_index,
    remove_documents,
    validate_k,
    validate_question,
)
from qa.errors import BadQuestionError, CorpusError, IndexNotFoundError, QAError, UnreadableDocumentError
from qa.evaluation import evaluate, load_questions
from qa.export import answer_markdown
from qa.index import BuildStats, PartialVectors, damaged_files, load_index
from qa.ingest import SUPPORTED_SUFFIXES, corpus_path, load_corpus
from qa.references import format_reference
from qa.retrieval import DEFAULT_K, MAX_K
from qa.types import Answer
from qa.uploads import CorpusIds, corpus_file, place_checked

EXIT_USAGE = 2
# `qa index` is batch work, often run while the app answers questions on the same machine: at this
# niceness the kernel gives those the CPU first (docs/reliability.md); on an idle machine it changes nothing.
INDEX_NICENESS = 10


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        # prog is "qa" for the top level, "qa ask" for a subcommand
        sys.stderr.write(f"error: {message} (see `python -m {self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus", type=Path, default=None, metavar="DIR", help="corpus folder (default: $QA_CORPUS or corpus/)"
    )
    p.add_argument(
        "--index", type=Path, default=None, metavar="DIR", help="index folder (default: $QA_INDEX or embeddings/)"
    )
    p.add_argument(
        "--model",
        default=None,
        help="embedding model: all-MiniLM-L6-v2 (default, bundled), a local "
        "sentence-transformers folder, or 'hash' (tests only); also $QA_MODEL",
    )


def _mib(value: str) -> float:
    try:
        mib = float(value)
    except ValueError:
        mib = 0.0
    if not (math.isfinite(mib) and int(mib * 1024 * 1024) >= 1):  # 0, NaN or inf: no limit in bytes
        raise argparse.ArgumentTypeError(f"{value!r} is not a size: give a number of MiB above 0, e.g. 50")
    return mib


def _span(value: str) -> tuple[int, int]:
    start, sep, end = value.partition(":")
    try:
        span = (int(start), int(end)) if sep else None
    except ValueError:
        span = None
    if span is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not START:END; give two character offsets, e.g. 120:245")
    if span[0] >= span[1]:
        raise argparse.ArgumentTypeError(f"{value!r} is an empty span: START must be less than END, e.g. 120:245")
    return span


ASK_JSON_FIELDS = """\
--json fields, one object per question:
  question, answer    the question as read; the answer: citation 1's quote ("" if abstained)
  abstained           true when the corpus does not answer (then citations is empty)
  confidence          calibrated probability that the answer is right (the threshold is in
                      explain.threshold)
  citations           objects {n, doc_id, title, locator, quote, start, end, score, metadata,
                      stale}: n = 1 is the answer; 2 and 3, if any, support it from other
                      documents (or other reference entries);
                      the document's text[start:end] == quote (`qa show DOC --json`)
  closest             the same shape, not the answer: a refusal's nearest sentences, or an
                      answer's runners-up
  passages            the retrieved passages the candidates came from
  note                what the text output says besides: why a refusal is more than the
                      corpus's silence (an article the corpus lacks, another language, ...),
                      or why an answer stands below the threshold; null otherwise
  explain             the scoring trace (candidates and their features)"""


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Offline extractive question answering with citations.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "index",
        help="build or update the index (only changed documents are embedded)",
        description="Build or update the index of the corpus folder.",
    )
    _common(p)
    p.add_argument("--full", action="store_true", help="re-embed everything instead of reusing vectors")
    p.add_argument("--max-mb", type=_mib, default=50, help="skip files larger than this many MiB (default 50)")
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="embed on a Ray cluster (needs requirements-cluster.txt): 'local' starts a private "
        "runtime here, 'auto' joins the cluster `ray start` made, 'ray://HOST:10001' a remote "
        "one; the index written is the same (default: $QA_RAY_ADDRESS, else no Ray)",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=INDEX_NICENESS,
        metavar="N",
        help=f"CPU priority to build at, as in nice(1) (default {INDEX_NICENESS}: below the app "
        "answering questions on the same machine; 0 keeps the current priority)",
    )

    p = sub.add_parser(
        "ask",
        help="answer questions with verbatim quotes and citations",
        description="Answer each QUESTION with a verbatim quote and numbered citations.",
        epilog=ASK_JSON_FIELDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p)
    p.add_argument(
        "questions",
        nargs="+",
        metavar="QUESTION",
        help=f"question(s) in plain English, up to {MAX_QUESTION_CHARS:,} characters each",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    out.add_argument(
        "--markdown",
        action="store_true",
        help="Markdown with footnote citations and full reference entries (the app's export)",
    )
    p.add_argument("-k", type=int, default=DEFAULT_K, help=f"passages to retrieve, 1 to {MAX_K} (default {DEFAULT_K})")
    p.add_argument(
        "--mode",
        choices=["hybrid", "dense", "lexical"],
        default="hybrid",
        help="retrieval: hybrid (default), dense only, or lexical (BM25) only",
    )

    p = sub.add_parser(
        "show",
        help="print a document's canonical text and metadata",
        description="Print the canonical text (what citation offsets index into).",
    )
    _common(p)
    p.add_argument("doc_id", metavar="DOC_ID")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print {doc_id, title, text, metadata}")
    out.add_argument(
        "--span",
        type=_span,
        metavar="START:END",
        help="check that characters START:END of the indexed text still stand there in the "
        "current file (the app's Verify in source); exit 1 unless verified",
    )
    p.add_argument(
        "--quote",
        metavar="TEXT",
        help="with --span: the quoted text to compare (from a saved answer); default: the text indexed there",
    )

    p = sub.add_parser(
        "sources",
        help="list documents and parsed reference records",
        description="List every document and reference record; unparsed ones are flagged.",
    )
    _common(p)
    p.add_argument("--json", action="store_true", help="JSON Lines output")

    p = sub.add_parser(
        "eval",
        help="score the answerer on a question set",
        description="Run a question set (JSON Lines {question, gold, answerable} or "
        "SQuAD JSON) and print answer hit rate, Recall@k, MRR, abstention "
        "accuracy and citation exactness.",
    )
    _common(p)
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-k", type=int, default=DEFAULT_K, help=f"passages to retrieve, 1 to {MAX_K} (default {DEFAULT_K})")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--failures", action="store_true", help="list the questions answered wrongly")

    p = sub.add_parser(
        "add",
        help="copy files or folders into the corpus and index them",
        description="Copy PATHs into the corpus folder and update the index.",
    )
    _common(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument(
        "--replace", action="store_true", help="replace corpus files of the same name that have other content"
    )

    p = sub.add_parser(
        "remove",
        help="remove a document from the corpus and the index",
        description="Delete DOC_ID's file from the corpus folder and update the index.",
    )
    _common(p)
    p.add_argument("doc_id", metavar="DOC_ID")

    p = sub.add_parser(
        "verify",
        help="check the index against the corpus; non-zero exit if stale",
        description="Check every chunk's offsets and every document's hash against the corpus folder.",
    )
    _common(p)
    return parser


# Control characters other than tab and newline (C0, DEL, C1): an escape sequence inside a
# document, a file name or a question would otherwise be run by the terminal, not shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters shown as U+FFFD, for printing to a terminal."""
    return _CONTROL.sub("\ufffd", text)


class _TerminalOut:
    """Stands in for ``sys.stdout`` on a terminal: writes go through ``terminal_safe``.
    Output to a pipe or a file is left byte-exact (``qa show DOC > copy.md``)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_safe(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    args.corpus = args.corpus or default_corpus()
    args.index = args.index or default_index()
    out = sys.stdout
    if out.isatty():
        sys.stdout = _TerminalOut(out)
    try:
        return COMMANDS[args.command](args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyError as exc:  # unknown document id, raised with a message
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        building = args.command in ("index", "add", "remove")
        # A build's progress bar leaves the cursor at the end of its line.
        newline = "\n" if building else ""
        print(f"{newline}interrupted{_after_interrupt(args) if building else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`qa sources | head`): not an error, and nothing more to say.
        # Python would report the failed flush of stdout at exit, so it goes to /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        sys.stdout = out


def _after_interrupt(args) -> str:
    """What an interrupted build left behind, said after "interrupted"."""
    index = Path(args.index)
    said = "; the previous index is unchanged" if (index / "CURRENT").is_file() else "; no index was built"
    saved = len(PartialVectors(index).groups())
    if saved:
        said += f", and the next `qa index` reuses the vectors embedded so far ({saved} group(s) of chunks)"
    return said


# ------------------------------------------------------------------ commands


def _progress():
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _build(args, full: bool = False, max_mb: float = 50, out=None) -> None:
    report = build(
        args.corpus,
        args.index,
        model=args.model,
        full=full,
        max_bytes=int(max_mb * 1024 * 1024),
        progress=_progress(),
        ray_address=getattr(args, "ray", None),
    )
    _report_build(report, out)


def _report_build(report: BuildReport, out=None) -> None:
    s = report.stats
    rate = f" at {s.embedded / s.embed_seconds:.1f} chunks/s" if s.embedded and s.embed_seconds > 0 else ""
    where = f" on {report.cluster}" if report.cluster else ""
    if s.resumed:
        where += f", {s.resumed} kept from an interrupted build"
    for skip in report.skipped:
        print(f"skipped {skip}", file=sys.stderr)
    out = out or sys.stdout
    print(
        f"indexed {s.documents} documents, {s.chunks} chunks in {s.seconds:.1f} s "
        f"(added {len(s.added)}, updated {len(s.updated)}, removed {len(s.removed)}, "
        f"unchanged {len(s.unchanged)}; {s.embedded} vectors embedded{rate}{where}) -> {report.path}",
        file=out,
    )
    for line in chunk_summary(s):
        print(f"  {line}", file=out)


SUMMARY_LINES = 20


def chunk_summary(stats: BuildStats, *, largest: int = 3) -> list[str]:
    """Chunk counts of the added and updated documents (at most ``SUMMARY_LINES``), then the largest ones."""
    counts = stats.chunk_counts
    changed = [("added", d) for d in stats.added] + [("updated", d) for d in stats.updated]
    lines = [f"{what} {d}: {_chunks(counts.get(d, 0))}" for what, d in changed[:SUMMARY_LINES]]
    if len(changed) > SUMMARY_LINES:
        lines.append(f"... and {len(changed) - SUMMARY_LINES} more added or updated")
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:largest]
    if top:
        lines.append("largest: " + ", ".join(f"{d} ({_chunks(n)})" for d, n in top))
    return lines


def _chunks(n: int) -> str:
    return f"{n:,} chunk" + ("" if n == 1 else "s")


def lower_priority(niceness: int) -> None:
    """Run at least ``niceness`` nice from now on; never less nice than now."""
    if niceness <= 0 or not hasattr(os, "setpriority") or os.getpriority(os.PRIO_PROCESS, 0) >= niceness:
        return  # setpriority is POSIX only
    # On Linux the niceness is per thread and new threads inherit it: set it on the threads
    # running already (numpy starts some on import) as well as on this one.
    tasks = Path("/proc/self/task")
    for tid in sorted(int(t.name) for t in tasks.iterdir()) if tasks.is_dir() else [0]:
        with contextlib.suppress(ProcessLookupError):  # a thread that has ended meanwhile
            os.setpriority(os.PRIO_PROCESS, tid, niceness)


def cmd_index(args) -> int:
    lower_priority(args.nice)  # before the model's worker threads start
    _build(args, full=args.full, max_mb=args.max_mb)
    return 0


def _open(args, *, build_missing: bool = False) -> Engine:
    try:
        return Engine.open(args.index, corpus=args.corpus, model=args.model)
    except IndexNotFoundError:
        if not build_missing:
            raise
        print(f"no index in {args.index} yet; building it from {args.corpus} first", file=sys.stderr)
        _build(args, out=sys.stderr)  # stdout stays the answers only (--json is parsed)
        return Engine.open(args.index, corpus=args.corpus, model=args.model)


def format_answer(a: Answer) -> str:
    """The human-readable rendering of an answer used by ``ask``."""
    lines = [f"Q: {a.question}"]
    if a.abstained:
        lines.append(f"{ABSTAIN_TEXT} (confidence {a.confidence:.2f})")
        if hint := refusal_hint(a.explain):
            lines.append(hint)
        lines += _closest_lines("Closest sentences (not an answer):", a) or [NOTHING_CLOSE]
        return "\n".join(lines)
    marks = "".join(f"[{c.n}]" for c in a.citations[:1])
    note = below_threshold_note(a.explain, a.confidence)
    note = f", below the threshold; {note}" if note else ""
    lines.append(f"A: “{a.answer}” {marks}  (confidence {a.confidence:.2f}{note})")
    for c in a.citations:
        stale = "  [source file changed or missing since indexing]" if c.stale else ""
        lines.append(f"  [{c.n}] {c.locator} — {c.doc_id} chars {c.start}–{c.end}{stale}")
        if c.n > 1:
            lines.append(f"      also: “{c.quote}”")
        if c.metadata.get("doi"):
            lines.append(f"      DOI: https://doi.org/{c.metadata['doi']}")
        if c.metadata.get("un_symbol"):
            lines.append(f"      UN document: {c.metadata['un_symbol']}")
    lines += _closest_lines("Runners-up (not the answer):", a)
    return "\n".join(lines)


def answer_json(a: Answer) -> dict:
    """``ask --json``'s object: the answer's fields, and ``note``, the sentence the text output
    prints besides the answer (why a refusal is more than the corpus's silence, or why an answer
    stands below the threshold), or null."""
    note = refusal_hint(a.explain) if a.abstained else below_threshold_note(a.explain, a.confidence)
    return dataclasses.asdict(a) | {"note": note}


def _closest_lines(heading: str, a: Answer) -> list[str]:
    """``a.closest`` as a labelled list, each sentence cut to 240 characters."""
    lines = [heading] if a.closest else []
    for c in a.closest:
        quote = " ".join(c.quote.split())
        cut = f"{quote[:240]}…" if len(quote) > 240 else quote
        lines.append(f"  - {c.locator}: “{cut}” ({c.doc_id} chars {c.start}–{c.end})")
    return lines


def cmd_ask(args) -> int:
    validate_k(args.k)
    questions = []
    for n, q in enumerate(args.questions, 1):
        try:
            questions.append(validate_question(q))
        except BadQuestionError as exc:  # all are checked before any is answered: say which one
            if len(args.questions) == 1:
                raise
            raise BadQuestionError(f"question {n} of {len(args.questions)}: {exc}") from None
    engine = _open(args, build_missing=True)
    for i, q in enumerate(questions, 1):
        answer = engine.ask(q, k=args.k, mode=args.mode)
        if args.json:
            print(json.dumps(answer_json(answer), ensure_ascii=False))
        elif args.markdown:
            # Footnotes are document-wide in Markdown: several answers get distinct labels.
            print(answer_markdown(answer, footnote_prefix=f"q{i}-" if len(questions) > 1 else ""))
        else:
            print(format_answer(answer))
            print()
    return 0


def cmd_show(args) -> int:
    index = load_index(args.index)
    doc = index.document(args.doc_id)
    if args.corpus.is_dir():
        corpus_path(args.corpus, doc.path)  # never show what a link out of the corpus points to
    if args.quote is not None and not args.span:
        raise QAError("--quote needs --span START:END: the offsets where the quote should stand")
    # Reading text only: the model is never loaded.
    engine = Engine(index, LazyEmbedder(args.model, index.config.model, index.config.dimension), corpus=args.corpus)
    if args.span:
        check = engine.check_span(doc.doc_id, *args.span, args.quote)
        print(f"{check.level}: {check.message}")
        if check.hit:
            print(f"“{check.text[check.hit[0] : check.hit[1]]}”")
        else:  # the file no longer has it: show what was indexed there
            start, end = args.span
            print(f"indexed there: “{doc.text[start:end]}”")
        return 0 if check.level == "ok" else 1
    if args.corpus.is_dir() and engine.is_stale(doc.doc_id):
        print(
            f"warning: {doc.path} changed or was deleted since it was indexed; shown: the text as indexed. "
            "Run `python -m qa index` to update the index.",
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                {"doc_id": doc.doc_id, "title": doc.title, "text": doc.text, "metadata": doc.metadata},
                ensure_ascii=False,
            )
        )
    else:
        print(f"# {doc.title}  ({doc.doc_id}, {doc.path})")
        for key, value in doc.metadata.items():
            if key == "pages":  # a PDF's page offsets: say how many, not every offset
                print(f"pages: {len(value)} (--json gives where each starts in the text)")
            elif key != "page_labels":
                print(f"{key}: {value}")
        print()
        print(doc.text)
    return 0


def cmd_sources(args) -> int:
    index = load_index(args.index)
    for doc in index.documents.values():
        rec = {"type": "document", "doc_id": doc.doc_id, "title": doc.title, "path": doc.path, "metadata": doc.metadata}
        print(json.dumps(rec, ensure_ascii=False) if args.json else f"{doc.doc_id}: {doc.title}")
        for ref in doc.references:
            if args.json:
                print(
                    json.dumps(
                        {
                            "type": "reference",
                            "ref_id": ref.ref_id,
                            "raw": ref.raw,
                            "start": ref.start,
                            "end": ref.end,
                            **ref.metadata(),
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                flag = "  FLAGGED: " + ref.flagged if ref.flagged else ""
                print(f"  [{ref.n}] {format_reference(ref)}{flag}")
    return 0


def cmd_eval(args) -> int:
    validate_k(args.k)
    questions = load_questions(args.file)
    engine = _open(args, build_missing=True)
    report = evaluate(questions, lambda q: engine.ask(q, k=args.k), engine.canonical_text, k=args.k)
    if args.json:
        print(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
        return 0

    # A rate over no questions is not 0: say so ("0.000" read as every refusal missed).
    def rate(value: float, over: int) -> str:
        return f"{value:.3f}" if over else "n/a (no such questions)"

    a, u = report.answerable, report.unanswerable
    rows = [
        ("questions", f"{report.questions} ({a} answerable, {u} not)"),
        ("answer hit (answerable)", rate(report.answer_hit, a)),
        (f"Recall@{report.k} (gold in passages)", rate(report.recall_at_k, a)),
        ("MRR", rate(report.mrr, a)),
        ("abstention accuracy (unanswerable)", rate(report.abstention_accuracy, u)),
        ("false abstention (answerable)", rate(report.false_abstention, a)),
        ("citation exactness", f"{report.citation_exactness:.3f}"),
        ("median ask latency", f"{report.median_ms:.1f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.failures:
        for f in report.failures:
            print(json.dumps(f, ensure_ascii=False))
    return 0


def cmd_add(args) -> int:
    corpus: Path = args.corpus
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {corpus} does not exist; create it or pass --corpus DIR")
    copied = refused = same = 0
    # Every path is checked before anything is copied: a typo in the last one must not leave
    # the first ones in the corpus with the index not updated.
    missing = [str(src) for src in args.paths if not src.exists()]
    if missing:
        raise QAError(f"{', '.join(missing)} does not exist; nothing was added")
    ids = CorpusIds(corpus)
    for src in args.paths:
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            rel = f.name if src.is_file() else f.relative_to(src.parent).as_posix()
            # A file named on the command line may live anywhere; inside a folder, the corpus
            # rule holds: a link leaving the folder is not followed.
            if not src.is_file() and not f.resolve().is_relative_to(src.resolve()):
                print(
                    f"skipped {f}: it is a symbolic link to {f.resolve()}, outside {src}; "
                    "name the file itself to add it",
                    file=sys.stderr,
                )
                continue
            if f.suffix.lower() not in SUPPORTED_SUFFIXES:
                print(
                    f"skipped {f}: unsupported file type; supported: {', '.join(SUPPORTED_SUFFIXES)}", file=sys.stderr
                )
                # A file named on the command line was meant to be added; inside a folder,
                # other files (images, .DS_Store) are expected and only reported.
                refused += src.is_file()
                continue
            target = corpus_file(corpus, rel)
            if clash := ids.clash(target, rel):
                print(f"not added {f}: {clash}", file=sys.stderr)
                refused += 1
                continue
            if target.is_file() and not target.is_symlink() and filecmp.cmp(f, target, shallow=False):
                print(f"unchanged {f}: {target} already has this content", file=sys.stderr)
                same += 1
                continue
            if not args.replace and target.is_file() and not target.is_symlink():
                print(
                    f"not added {f}: {target} already exists with other content; "
                    "pass --replace to replace it (the old version is then gone)",
                    file=sys.stderr,
                )
                refused += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                # Read back before it lands: an unreadable file never replaces a good one.
                place_checked(target, corpus, lambda tmp, f=f: shutil.copyfile(f, tmp), f.name, prefix=".add-")
            except UnreadableDocumentError as exc:
                print(f"not added {f}: {exc}", file=sys.stderr)
                refused += 1
                continue
            ids.add(target)
            copied += 1
    print(
        f"copied {copied} file(s) into {corpus}"
        + (f"; {same} already there, unchanged" if same else "")
        + (f"; {refused} not added (see above)" if refused else "")
    )
    # Files already there are indexed too, if they were not yet (an interrupted `qa add`); the
    # build is incremental, so nothing is embedded again. Only refusals leave the index alone.
    if copied or same:
        _build(args)
    return 1 if refused else 0


def cmd_remove(args) -> int:
    report = remove_documents([args.doc_id], args.corpus, args.index, model=args.model, progress=_progress())
    if report.removed:
        print(f"removed {', '.join(report.removed)} from {args.corpus}")
    if report.already_gone:
        print(f"{', '.join(report.already_gone)} had already been deleted from {args.corpus}; removed from the index")
    _report_build(report.build)
    return 0


def cmd_verify(args) -> int:
    t0 = time.perf_counter()
    index = load_index(args.index)  # checks every chunk's offsets into its document
    damaged = damaged_files(args.index)
    if damaged:
        for name in damaged:
            print(f"damaged: {name} (not the content this build wrote)")
        print(f"DAMAGED: rebuild the index with `python -m qa index --full` ({len(damaged)} file(s))")
        return 1
    on_disk = {d.doc_id: d for d in load_corpus(args.corpus).documents}
    stale = [d for d, doc in index.documents.items() if d not in on_disk or on_disk[d].sha256 != doc.sha256]
    new = [d for d in on_disk if d not in index.documents]
    for d in stale:
        print(f"stale: {d} ({'deleted' if d not in on_disk else 'changed'} since indexing)")
    for d in new:
        print(f"not indexed: {d}")
    ok = not (stale or new)
    files = "no file checksums (built by an older version)" if damaged is None else "index files intact"
    print(
        f"{'ok' if ok else 'STALE'}: {len(index.documents)} documents, {len(index.chunks)} chunks, {files}; "
        f"checked in {time.perf_counter() - t0:.2f} s" + ("" if ok else "; run `python -m qa index`")
    )
    return 0 if ok else 1


COMMANDS = {
    "index": cmd_index,
    "ask": cmd_ask,
    "show": cmd_show,
    "sources": cmd_sources,
    "eval": cmd_eval,
    "add": cmd_add,
    "remove": cmd_remove,
    "verify": cmd_verify,
}
