"""Incremental re-index benchmark: add one document to a 1,000-document corpus.

Builds a synthetic corpus of 1,000 documents made from the real texts (the
generator of ``bench/synthetic.py``, smaller documents), indexes it with
``python -m qa index --full``, adds ONE new document and runs the incremental
``python -m qa index``, then runs it once more with nothing changed. Reports the
chunks re-embedded (must equal the new document's chunk count) and the time of the
update as a share of the full build measured in the same run (target <= 5%), for
the CLI wall time and for the build's own ``build_seconds``. An in-process
breakdown shows where the update's time goes.

Prints a table and writes the ``reindex`` section of ``docs/performance.md``.

Usage::

    python bench/reindex.py            # about 4 minutes on 2 idle cores
    python bench/reindex.py --docs 200 # a smaller check of the script
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/reindex.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import CORPUS, ROOT  # noqa: E402
from bench.perf_report import update_report  # noqa: E402
from bench.report import machine_info, run_header, table, verdict  # noqa: E402
from bench.synthetic import sentence_pool, synthetic_name, write_synthetic_corpus  # noqa: E402
from bench.timing import cli_index, log, run_timed  # noqa: E402
from qa.chunking import chunk_document, embedding_text  # noqa: E402
from qa.ingest import read_document  # noqa: E402

TARGET_RATIO = 0.05
ARTICLES = (4, 10)  # articles per document: about 8 chunks each


def parse_report(stdout: str) -> dict[str, int]:
    """The counts in the CLI's 'indexed ...' line."""
    m = re.search(
        r"indexed (\d+) documents, (\d+) chunks .*\(added (\d+), updated (\d+), removed (\d+), "
        r"unchanged (\d+); (\d+) vectors embedded[^)]*\)",
        stdout,
    )
    if not m:
        raise RuntimeError(f"unexpected output of `python -m qa index`: {stdout!r}")
    keys = ("documents", "chunks", "added", "updated", "removed", "unchanged", "embedded")
    return dict(zip(keys, map(int, m.groups()), strict=True))


def update_phases(corpus: Path, index_dir: Path) -> dict[str, float]:
    """The steps of an incremental build, timed in this process (nothing changed, model loaded)."""
    from qa.embedding import load_embedder
    from qa.index import build_index, load_index, make_bm25, make_faiss, save_index
    from qa.ingest import load_corpus

    out: dict[str, float] = {}
    # Start-up is timed in fresh interpreters: this process has imported everything already.
    out["CLI start-up: interpreter + `import qa.cli`"] = run_timed([sys.executable, "-c", "import qa.cli"]).wall
    out["CLI start-up: interpreter + `import qa.cli` + load the model"] = run_timed(
        [sys.executable, "-c", "import qa.cli\nfrom qa.embedding import load_embedder\nload_embedder()"]
    ).wall
    embedder = load_embedder()
    t0 = time.perf_counter()
    docs = load_corpus(corpus).documents
    out["read corpus"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    previous = load_index(index_dir)
    out["load previous index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index, stats = build_index(docs, embedder, previous=previous)
    out["build_index, all vectors reused"] = time.perf_counter() - t0
    assert stats.embedded == 0, stats
    t0 = time.perf_counter()
    make_faiss(index.vectors())
    out["  of which: make_faiss"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    make_bm25([embedding_text(c) for c in index.chunks])
    out["  of which: BM25 tokenize + index of every chunk"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="qa-reindex-save-") as tmp:
        t0 = time.perf_counter()
        save_index(index, tmp, stats=stats)
        out["save_index"] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1000, help="documents in the corpus (default 1000)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave docs/ untouched")
    args = ap.parse_args(argv)
    if args.docs < 10:
        ap.error(f"--docs of {args.docs} is too few; use at least 10")
    t_start = time.perf_counter()
    info = machine_info()
    print(f"# reindex bench {info['date']}\n{info['machine']}\n{info['load']}\n", flush=True)
    pool = sentence_pool(CORPUS)
    with tempfile.TemporaryDirectory(prefix="qa-reindex-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        write_synthetic_corpus(corpus, args.docs, pool, articles=ARTICLES)
        log(f"full build of {args.docs} documents")
        full_run, full_manifest = cli_index(corpus, index_dir, full=True)
        full = parse_report(full_run.stdout)

        write_synthetic_corpus(corpus, 1, pool, start=args.docs, articles=ARTICLES)
        new_path = corpus / f"{synthetic_name(args.docs)}.md"
        expected = len(chunk_document(read_document(new_path, corpus)))
        log(f"incremental build after adding {new_path.name} ({expected} chunks)")
        add_run, add_manifest = cli_index(corpus, index_dir, full=False)
        added = parse_report(add_run.stdout)

        log("incremental build with nothing changed")
        noop_run, noop_manifest = cli_index(corpus, index_dir, full=False)
        noop = parse_report(noop_run.stdout)

        log("update phases in one process")
        phases = update_phases(corpus, index_dir)

    full_inner = float(full_manifest["build_seconds"])
    rows = [
        [
            "full build (--full)",
            full["documents"],
            f"{full['chunks']:,}",
            f"{full['embedded']:,}",
            f"{full_run.wall:.1f}",
            "1.000",
            f"{full_inner:.1f}",
            "1.000",
        ],
    ]
    for label, run, rep, manifest in (
        (f"add one document ({expected} chunks)", add_run, added, add_manifest),
        ("nothing changed", noop_run, noop, noop_manifest),
    ):
        inner = float(manifest["build_seconds"])
        rows.append(
            [
                label,
                rep["documents"],
                f"{rep['chunks']:,}",
                rep["embedded"],
                f"{run.wall:.1f}",
                f"{run.wall / full_run.wall:.3f}",
                f"{inner:.1f}",
                f"{inner / full_inner:.3f}",
            ]
        )
    main_table = table(
        [
            "build",
            "documents",
            "chunks",
            "chunks embedded",
            "CLI wall s",
            "share of full",
            "build_seconds",
            "share of full",
        ],
        rows,
    )
    ok_count = added["embedded"] == expected and added["added"] == 1 and noop["embedded"] == 0
    wall_ratio = add_run.wall / full_run.wall
    inner_ratio = float(add_manifest["build_seconds"]) / full_inner
    checks = table(
        ["target", "measured", "result"],
        [
            [
                "chunks re-embedded == the new document's chunks",
                f"{added['embedded']} vs {expected}",
                verdict(ok_count),
            ],
            ["update / full, CLI wall time <= 5%", f"{wall_ratio:.1%}", verdict(wall_ratio <= TARGET_RATIO)],
            ["update / full, build_seconds <= 5%", f"{inner_ratio:.1%}", verdict(inner_ratio <= TARGET_RATIO)],
        ],
    )
    phase_table = table(
        ["step of an update (nothing changed; start-up in fresh processes)", "seconds"],
        [[k, f"{v:.2f}"] for k, v in phases.items()],
    )
    for t in (main_table, checks, phase_table):
        print(t + "\n", flush=True)
    elapsed = time.perf_counter() - t_start
    section = "\n\n".join(
        [
            run_header(
                "Incremental re-index",
                info,
                "python bench/reindex.py" + (f" --docs {args.docs}" if args.docs != 1000 else ""),
                elapsed,
            ),
            f"A synthetic corpus of {args.docs:,} documents ({ARTICLES[0]}-{ARTICLES[1]} articles each, made of "
            "shuffled sentences of `corpus/`, generator of `bench/synthetic.py`) is indexed with `python -m qa index "
            "--full`; then one new document is added and `python -m qa index` updates the index; then it runs "
            "once more with nothing changed. The full build is the baseline of this run. CLI wall time includes "
            "Python start-up, imports and model loading; `build_seconds` is the build's own time from the manifest.",
            checks,
            main_table,
            "Where an update's time goes (one pass in this process; the two import rows are paid by every CLI run, "
            "on top of interpreter start-up):",
            phase_table,
        ]
    )
    if not args.no_report:
        update_report({"reindex": section})
        log(f"wrote {(ROOT / 'docs' / 'performance.md').relative_to(ROOT)}")
    log(f"done in {elapsed / 60:.1f} min")
    return 0 if ok_count else 1


if __name__ == "__main__":
    sys.exit(main())
