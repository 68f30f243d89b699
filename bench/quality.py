"""Retrieval and answer quality on public test collections, every system side by side.

Each collection is indexed with the project's own pipeline (``qa.index.build_index``
with the default chunking and the bundled all-MiniLM-L6-v2) and then queried by:

* BM25 only, dense only and the project's hybrid (``qa.retrieval.retrieve``);
* the full answerer (``qa.engine.Engine.ask``);
* a naive answerer: dense top-3 passages, best sentence by cosine to the question;
* a peer: txtai's hybrid ``Embeddings`` with the same model, over the same chunks.

Questions are split into dev and test by a hash of their id, so settings can be
tuned on dev and reported on test. Chunk and sentence embeddings are cached under
``bench/.cache/`` as ``.npy`` files keyed by a hash of the texts, so re-runs only
pay for the queries. Writes docs/benchmarks.md, docs/abstention.png and docs/calibration.png.

Usage::

    .venv/bin/python bench/quality.py [--collections xquad,cranfield,squad2,spacelaw]
        [--limit N] [--split dev|test|all|both] [--sweep] [--no-docs]

For tuning from Python::

    from bench.quality import run_xquad, run_squad2
    run_xquad(lambda index, embedder: Engine(index, embedder, threshold=0.3), "dev")

The data folder is ``../shared/bench`` beside the repository, or ``$QA_BENCH_DATA``. The parts live
beside it: ``data`` and ``prepared`` (collections and their indexes), ``quality_systems`` (every system
on one collection), ``quality_metrics``, ``abstention``, ``calibration``, ``failures``, ``fusion_sweep``
and ``quality_report`` (the Markdown).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/quality.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Models load from local folders only; a missing file must fail, not download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# bench/tune_selector.py imports Question, prepare and select from this module.
from bench import DOCS  # noqa: E402
from bench.abstention import fitted_threshold, plot_tradeoff, tradeoff  # noqa: E402
from bench.calibration import plot_calibration  # noqa: E402
from bench.data import COLLECTIONS, Question, data_root, select  # noqa: E402
from bench.failures import failure_report, failure_section, write_failures  # noqa: E402
from bench.fusion_sweep import sweep  # noqa: E402
from bench.prepared import CachedEmbedder, SeededEmbedder, normalize_question, prepare, sentence_vectors  # noqa: E402
from bench.quality_metrics import Ranked, answer_metrics, retrieval_metrics  # noqa: E402
from bench.quality_report import render  # noqa: E402
from bench.quality_systems import Result, default_engine, evaluate_collection, run_full  # noqa: E402
from bench.report import machine_info  # noqa: E402
from qa.embedding import Embedder, load_embedder  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.index import Index  # noqa: E402

# ------------------------------------------------------------------ tuning entry points


def tuning_engine(
    name: str, engine_factory: Callable[[Index, Embedder], Engine] | None, questions: Sequence[Question]
) -> Engine:
    """An engine whose embedder already knows the vectors of the questions and of every sentence
    of the collection (from the disk cache), so a tuning run calls the model only for texts the
    answerer newly invents. Its times are therefore not product latencies."""
    embedder = load_embedder(None)
    prep = prepare(name, embedder)
    texts = [normalize_question(q.text) for q in questions]
    seeded = dict(zip(texts, CachedEmbedder(embedder).encode(texts), strict=True))
    seeded.update(sentence_vectors(prep.index, embedder))
    return (engine_factory or default_engine)(prep.index, SeededEmbedder(embedder, seeded))


def run_xquad(
    engine_factory: Callable[[Index, Embedder], Engine] | None = None,
    split: str = "dev",
    *,
    limit: int | None = None,
) -> dict[str, float]:
    """Full-answerer metrics on XQuAD for tuning: hit@1, one-sentence hit, lengths, the paragraph
    Recall@1/@5 of its passages, ms/query, and counts of each kind of miss.

    Question and sentence vectors come from the cache (see ``tuning_engine``), so a run over the
    595 dev questions takes seconds; ``ms`` is not a product latency here.

    Args:
        engine_factory: ``(index, embedder) -> Engine``; default ``Engine(index, embedder)``.
        split: ``dev`` (tune here), ``test`` or ``all``.
        limit: Only the first ``limit`` questions of the split.
    """
    prep = prepare("xquad")
    qs = select(prep.collection.questions, split, limit)
    answers = run_full(tuning_engine("xquad", engine_factory, qs), qs)
    out = answer_metrics(answers, qs)
    out.update(
        {
            f"passage_{k}": v
            for k, v in retrieval_metrics([Ranked(a.passages, a.ms) for a in answers], qs).items()
            if k != "ms"
        }
    )
    counts, _ = failure_report(answers, qs, prep.index.documents)
    out.update({f"miss: {k}": v / len(qs) for k, v in counts.items()})
    return out


def run_squad2(
    engine_factory: Callable[[Index, Embedder], Engine] | None = None,
    split: str = "dev",
    *,
    limit: int | None = None,
) -> dict:
    """Full-answerer abstention metrics on the SQuAD 2.0 sample at the engine's threshold, plus
    the (threshold, hit, abstention) curve from a threshold-0 pass, and the lowest threshold that
    refuses 35% of the unanswerable questions. Vectors come from the cache, as in ``run_xquad``."""
    prep = prepare("squad2")
    qs = select(prep.collection.questions, split, limit)
    engine = tuning_engine("squad2", engine_factory, qs)
    out: dict = answer_metrics(run_full(engine, qs), qs)
    out["curve"] = tradeoff(run_full(engine, qs, threshold=0.0), qs)
    out["threshold_for_goal"] = fitted_threshold(out["curve"])
    return out


# ------------------------------------------------------------------ report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--collections",
        default=",".join(COLLECTIONS),
        help=f"comma-separated subset of {','.join(COLLECTIONS)} (default: all)",
    )
    p.add_argument("--limit", type=int, default=None, help="first N questions of each collection (smoke runs)")
    p.add_argument(
        "--split",
        choices=("dev", "test", "all", "both"),
        default="both",
        help="questions to report: dev, test, all pooled, or both = test and dev separately (default)",
    )
    p.add_argument("--sweep", action="store_true", help="grid-search the fusion weight on dev (and show test)")
    p.add_argument("--no-peer", action="store_true", help="skip txtai")
    p.add_argument(
        "--no-docs",
        action="store_true",
        help="do not rewrite docs/benchmarks.md and docs/abstention.png (partial runs never do)",
    )
    args = p.parse_args(argv)
    args.names = [n.strip() for n in args.collections.split(",") if n.strip()]
    bad = [n for n in args.names if n not in COLLECTIONS]
    if bad or not args.names:
        p.error(f"unknown collection(s) {', '.join(bad) or '(none)'}; choose from {', '.join(COLLECTIONS)}")
    if args.limit is not None and args.limit < 1:
        p.error(f"--limit of {args.limit} must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    info = machine_info()
    info["load_start"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    info["command"] = ".venv/bin/python bench/quality.py" + (
        f" {' '.join(argv)}" if argv else (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    )
    data_root()
    embedder = load_embedder(None)
    embedder.encode(["warm up the model"])
    results: dict[str, Result] = {}
    for name in args.names:
        results[name] = evaluate_collection(name, embedder, split=args.split, limit=args.limit, peer=not args.no_peer)
    sweep_results = None
    if args.sweep:
        t0 = time.perf_counter()
        sweep_results = sweep(args.names, embedder, args.limit)
        print(f"[sweep] done in {time.perf_counter() - t0:.1f} s")
    info["load_end"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    info["cpu_min"] = (usage.ru_utime + usage.ru_stime) / 60
    seconds = time.perf_counter() - t_start
    report = render(results, args, sweep_results, info, seconds)
    report_split = "test" if args.split == "both" else args.split
    _, dumps = failure_section(results, report_split)
    # A smoke run must not overwrite the misses of the last full run.
    write_failures({f"{k}-limit{args.limit}" if args.limit else k: v for k, v in dumps.items()})
    print()
    print(report)
    full_run = args.limit is None and set(args.names) == set(COLLECTIONS) and args.split == "both"
    if args.no_docs or not full_run:
        print("docs/benchmarks.md not rewritten (partial run or --no-docs)")
    else:
        DOCS.mkdir(exist_ok=True)
        (DOCS / "benchmarks.md").write_text(report, encoding="utf-8")
        plot_tradeoff(results["squad2"], DOCS / "abstention.png", results["squad2"].threshold)
        plot_calibration(results, "test", DOCS / "calibration.png")
        print(f"wrote {DOCS / 'benchmarks.md'}, {DOCS / 'abstention.png'} and {DOCS / 'calibration.png'}")
    print(f"total {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
