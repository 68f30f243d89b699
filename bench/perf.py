"""Performance benchmark: index build, query latency at scale, approximate search, cold start, memory.

Every figure is set against a floor measured in the same run on the same machine,
and reported as medians, p95 and ratios, because the machine may be shared:

* build throughput of ``python -m qa index --full`` on the default corpus and on a
  synthetic corpus of ~20,000 chunks vs ``SentenceTransformer.encode`` alone on the same
  chunk texts with the same batch size (for the synthetic corpus, about 1 in 6 of the batches
  ``encode`` forms, see ``sample_floor_batches``; all of them with ``--full-scale``);
* warm ``Engine.ask`` latency at 1k / 10k / 100k (and 1M with ``--full-scale``)
  chunks vs question encoding plus one exact FAISS search, and where its time goes;
* at 1M chunks: recall@10 of the automatic approximate index vs exact search, its
  memory and build time, alternatives that fit 1 GB, and BM25 latency;
* cold start of ``python -m qa ask`` vs loading the model and encoding one sentence
  in a bare interpreter, with an import and phase profile;
* peak RSS of ``ask`` and of the 1M run.

Writes ``docs/performance.md`` (its sections between ``<!-- name:begin/end -->``
markers; sections this run does not measure are kept) and ``docs/latency.png``.

Usage::

    python bench/perf.py                # default run (`make bench-perf`): about 13 min on 2 idle cores
    python bench/perf.py --full-scale   # adds the 1M-chunk part and the full synthetic floor (~20 min more)
    python bench/perf.py --experiments  # adds thread-setting and batch-size experiments (about 1-2 min more)
    python bench/perf.py --quick        # small sizes, to check the script itself (3-4 min)

    # on a busy machine: keep the work folder, then add parts without redoing the builds
    python bench/perf.py --work /tmp/qa-perf
    python bench/perf.py --work /tmp/qa-perf --resume --omp-passive
    python bench/perf.py --work /tmp/qa-perf --full-scale --scale-only

The parts live beside it: ``perf_build`` (a), ``perf_latency`` (b), ``perf_scale`` (c), ``perf_cold``
(d, e and index loading), ``perf_experiments``, and ``perf_report`` (the report file and the plot).
How long a run takes on this machine, and why: docs/performance.md, "Findings".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/perf.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import CORPUS, ROOT  # noqa: E402  (first: it reads the caller's OpenMP wait policy)

# --omp-passive must act before torch (and its OpenMP runtime) is loaded; child processes get the
# caller's setting back (bench.timing.python_env), so builds and cold starts always measure qa as it runs.
if "--omp-passive" in sys.argv[1:]:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from bench.perf_build import (  # noqa: E402
    FLOOR_TEXTS,
    QUICK_FLOOR_TEXTS,
    QUICK_SYNTHETIC_CHUNKS,
    SYNTHETIC_CHUNKS,
    TARGET_BUILD_RATIO,
    bench_build,
    build_phases,
    floor_encode,
    floor_sample_note,
    load_floor_model,
    reuse_builds,
    save_builds,
    throughput_table,
)
from bench.perf_cold import TARGET_COLD_RATIO, bench_cold, bench_loading, cold_tables  # noqa: E402
from bench.perf_experiments import bench_variants  # noqa: E402
from bench.perf_latency import (  # noqa: E402
    LATENCY_COLUMNS,
    LATENCY_HEADERS,
    POOL,
    latency_rows,
    measure_size,
    summarize,
    where_time_goes,
)
from bench.perf_report import PLOT, REPORT, parse_report_latency, plot, update_report  # noqa: E402
from bench.perf_scale import scale_only, scale_section  # noqa: E402
from bench.report import machine_info, ms, run_header, table, verdict  # noqa: E402
from bench.synthetic import SEED, questions, sentence_pool, synthetic_docs_for, write_synthetic_corpus  # noqa: E402
from bench.timing import log, med, pct  # noqa: E402
from qa.embedding import DEFAULT_BATCH_SIZE  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--full-scale",
        action="store_true",
        help="add the 1M-chunk part and the full synthetic floor (about 20 min more)",
    )
    ap.add_argument(
        "--scale-only",
        action="store_true",
        help="with --full-scale: only the 1M part, reusing the synthetic index of an earlier run with --work DIR",
    )
    ap.add_argument("--scale-size", type=int, default=None, help=argparse.SUPPRESS)  # to check the script
    ap.add_argument(
        "--resume",
        action="store_true",
        help="with --work DIR: reuse the build results (a) and indexes an earlier run saved there",
    )
    ap.add_argument(
        "--omp-passive",
        action="store_true",
        help="run the in-process query latency loop with OMP_WAIT_POLICY=PASSIVE (for a machine shared with "
        "other work, where spinning OpenMP threads distort latency); builds and cold starts are unaffected",
    )
    ap.add_argument(
        "--experiments",
        action="store_true",
        help="add the experiments behind proposed qa/ changes (thread settings and batch sizes, three fresh "
        "processes; about 1-2 min more)",
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the script, not for numbers")
    ap.add_argument("--questions", type=int, default=200, help="questions per latency run (default 200)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave docs/ untouched")
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep corpora and indexes in DIR (default: a temporary folder, deleted at the end)",
    )
    args = ap.parse_args(argv)
    if args.questions < 20:
        ap.error(f"--questions of {args.questions} is too few for a p95; use at least 20")
    if args.scale_only and not (args.full_scale and args.work and (args.work / "index-synthetic" / "CURRENT").exists()):
        ap.error(
            "--scale-only needs --full-scale and --work DIR holding index-synthetic from an earlier --work DIR run"
        )
    t_start = time.perf_counter()
    info = machine_info()
    if args.scale_only:
        return scale_only(args, info, t_start)
    quick = args.quick
    sizes = [1_000, 3_000] if quick else [1_000, 10_000, 100_000]
    if args.full_scale:
        sizes.append(200_000 if quick else 1_000_000)
    n_questions = 20 if quick else args.questions
    cold_reps = 1 if quick else 5
    print(f"# perf bench {info['date']}\n{info['machine']}\n{info['software']}\n{info['load']}\n", flush=True)

    from qa.embedding import SentenceTransformerEmbedder
    from qa.index import load_index

    md: list[str] = []
    out: list[str] = []  # what the terminal gets, as it comes

    def emit(text: str) -> None:
        print(text + "\n", flush=True)
        out.append(text)

    if args.work:
        shutil.rmtree(args.work / "corpus", ignore_errors=True)
        shutil.rmtree(args.work / "synthetic", ignore_errors=True)
        args.work.mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(str(args.work)) if args.work else tempfile.TemporaryDirectory(prefix="qa-perf-") as tmp:
        work = Path(tmp)
        shutil.copytree(CORPUS, work / "corpus")
        pool = sentence_pool()
        n_docs = synthetic_docs_for(QUICK_SYNTHETIC_CHUNKS if quick else SYNTHETIC_CHUNKS, pool)
        write_synthetic_corpus(work / "synthetic", n_docs, pool)
        log(f"synthetic corpus: {n_docs} documents from {len(pool)} real sentences")
        model = load_floor_model()
        floor_encode(model, ["warm up the model"] * 8)

        # (a) build throughput
        saved = work / "results-build.json"
        if args.resume and saved.is_file():
            default_build, synth_build, phases, build_note = reuse_builds(saved, work)
        else:
            default_build = bench_build("default", work / "corpus", work, model, reps=1 if quick else 3)
            synth_build = bench_build(
                "synthetic",
                work / "synthetic",
                work,
                model,
                reps=1,
                floor_texts=None if args.full_scale else QUICK_FLOOR_TEXTS if quick else FLOOR_TEXTS,
            )
            log("build phases")
            phases = build_phases(synth_build, work)
            build_note = ""
            if args.work:
                save_builds(saved, info["date"], default_build, synth_build, phases)
        build_table = throughput_table((default_build, synth_build))
        emit(build_table)
        sample_note = floor_sample_note(synth_build) if synth_build.get("floor_every", 1) > 1 else ""
        if sample_note:
            emit(sample_note)
        phase_table = table(
            ["non-embedding work, synthetic corpus", "seconds"], [[k, f"{v:.2f}"] for k, v in phases.items()]
        )
        emit(phase_table)

        # (b) query latency
        qs = questions(n_questions)
        embedder = SentenceTransformerEmbedder()
        base = load_index(synth_build["index_dir"])
        base_vectors = base.vectors()
        results: dict[int, dict] = {}
        scale_notes: dict[int, dict] = {}
        big = None
        for n in sizes:
            keep = n == sizes[-1] and args.full_scale
            results[n], scale_notes[n], kept = measure_size(n, base, base_vectors, pool, n_docs, embedder, qs, keep)
            big = kept if keep else big
        lat_table = table(LATENCY_HEADERS, latency_rows(results))
        emit(lat_table)
        lat_story = where_time_goes(results)
        emit(lat_story)

        # (c) 1M: approximate search, BM25, memory
        approx_md = ""
        if big is not None:
            command = "python bench/perf.py --full-scale" + (" --quick" if quick else "")
            approx_md = scale_section(big, results, scale_notes, base, qs, embedder, info, t_start, command, emit)
            emit(approx_md)
            del big

        # experiments for proposed qa/ changes (--quick runs them to check the script)
        thread_table, sample = "", []
        if args.experiments or quick:
            log("experiments: threads, batch size")
            sample = random.Random(SEED).sample(
                synth_build["texts"], min(64 if quick else 256, len(synth_build["texts"]))
            )
            headers, rows = bench_variants(synth_build["index_dir"], qs[:40], sample, work)
            thread_table = table(headers, rows)
            emit(thread_table)
        log("index loading")
        load_table = table(
            [f"loading the {len(base.chunks):,}-chunk synthetic index", "ms (median of 3)"],
            bench_loading(synth_build["index_dir"]),
        )
        emit(load_table)

        # (d) cold start, (e) memory of ask
        cold = bench_cold(
            work / "corpus", default_build["index_dir"], "Who may place weapons in orbit?", reps=cold_reps
        )
        fa, qa_first, cold_table, cold_phase_table, imp_table = cold_tables(cold)
        emit(cold_table)
        emit(cold_phase_table)
        emit(imp_table)
        if cold["profile"]:
            print(cold["profile"] + "\n", flush=True)
        old_report = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        lat = {k: v for k, v in parse_report_latency(old_report).items() if k not in results and not quick}
        lat.update(summarize(results))
        if not args.no_report:
            plot(lat, (fa, qa_first))
            log(f"wrote {PLOT.relative_to(ROOT)}")

        # summary against the targets
        elapsed = time.perf_counter() - t_start
        checks = [
            [
                "build, default corpus: CLI / floor >= 0.9",
                f"{default_build['ratio']:.2f}",
                verdict(default_build["ratio"] >= TARGET_BUILD_RATIO),
            ],
            [
                f"build, synthetic {synth_build['chunks']:,} chunks: CLI / floor >= 0.9",
                f"{synth_build['ratio']:.2f}",
                verdict(synth_build["ratio"] >= TARGET_BUILD_RATIO),
            ],
        ]
        if 100_000 in results:
            r = results[100_000]
            checks.append(["ask at 100k: p50 <= 50 ms", ms(med(r["cold"])), verdict(med(r["cold"]) <= 0.05)])
            checks.append(["ask at 100k: p95 <= 150 ms", ms(pct(r["cold"], 95)), verdict(pct(r["cold"], 95) <= 0.15)])
        if 1_000_000 in results:
            r = results[1_000_000]
            checks.append(["ask at 1M: p50 <= 100 ms", ms(med(r["cold"])), verdict(med(r["cold"]) <= 0.1)])
        checks.append(
            ["cold start: qa ask / floor <= 1.3", f"{qa_first / fa:.2f}", verdict(qa_first / fa <= TARGET_COLD_RATIO)]
        )
        checks.append(
            [
                "default run under 20 min" + (" (this run reused (a), see its note)" if build_note else ""),
                f"{elapsed / 60:.1f} min"
                + (" (with 1M)" if args.full_scale else "")
                + (" (with --experiments)" if args.experiments else ""),
                verdict(elapsed < 1200) if not (args.full_scale or args.experiments) else "-",
            ]
        )
        summary = table(["target", "measured", "result"], checks)
        emit(summary)

        command = "python bench/perf.py" + (" --full-scale" if args.full_scale else "") + (" --quick" if quick else "")
        n100 = [n for n in results if n > len(base.chunks)]
        md = [
            run_header("Build, query latency, cold start", info, command, elapsed),
            "![latency](latency.png)",
            "### Targets",
            summary,
            "### (a) Index build throughput",
            *([f"**Note:** {build_note}."] if build_note else []),
            "`python -m qa index --full` in a child process (wall time, so start-up and model loading count) "
            "and the build's own `build_seconds` from the manifest, against the floor: "
            "`SentenceTransformer.encode` of the same chunk texts (`embedding_text`), "
            f"batch size {DEFAULT_BATCH_SIZE}, "
            "in an already-loaded model. Each run: half the floor, the build, the other half, so the floor "
            "brackets the build in time (both halves are shown: they differ when the machine's load does). "
            "The synthetic corpus has "
            f"{n_docs} documents of treaty-like articles made of shuffled sentences from `corpus/` "
            f"({len(pool)} distinct sentences), generated until it has {synth_build['chunks']:,} chunks "
            "(target ~20,000); its chunk lengths follow the real corpus's.",
            *([sample_note] if sample_note else []),
            build_table,
            "Where the non-embedding time of the synthetic build goes (same corpus, vectors precomputed):",
            phase_table,
            "### (b) Warm query latency",
            *(
                [
                    "**Note:** this run's in-process latency loop ran with `OMP_WAIT_POLICY=PASSIVE` forced "
                    "(`--omp-passive`), whatever the caller's environment said; `qa.embedding` sets the same "
                    "policy when the environment names none."
                ]
                if args.omp_passive
                else []
            ),
            f"{len(qs)} questions ({min(30, len(qs))} from spacelaw_qa, the rest generated from corpus sentences "
            "in several question frames), one process, model loaded, 5 warm-up questions not counted. Per "
            "question, interleaved: the floor (encode the question + one exact `IndexFlatIP` search for the "
            f"top {POOL}), `Engine.ask` on a fresh `Engine`, then its parts timed alone. The index stores a "
            "vector for every candidate answer span, so `ask` should encode only the question; the last "
            "columns check that.",
            "Index contents: up to "
            f"{len(base.chunks):,} chunks are the real synthetic build (real vectors); larger sizes "
            + (f"({', '.join(f'{n:,}' for n in n100)}) " if n100 else "")
            + "add generated documents (distinct texts, real BM25) whose vectors are perturbed copies of the "
            "real ones (see the 1M section), and whose span vectors are their source chunk's real span vectors "
            "shifted by the same perturbation (`synthetic_spans`). "
            "FAISS type is what `qa.index.make_faiss` picks automatically.",
            LATENCY_COLUMNS,
            lat_table,
            "Where the time of `ask` goes (medians; the parts are timed separately, so their shares need not "
            "add up to 100%):\n\n" + lat_story,
            "### (d) Cold start and (e) memory of `ask`",
            f"{cold_reps} runs each, interleaved, after one untimed run of each to warm the page cache. "
            "Time to the first line printed; peak RSS of the child (GNU time %M). The floor runs with the "
            "OpenMP wait policy qa sets for itself (`OMP_WAIT_POLICY=PASSIVE` unless the caller set one).",
            cold_table,
            "Phases measured inside one process (median of runs):",
            cold_phase_table,
            "Imports that `qa.cli` adds beyond the floor's, by top-level package (`python -X importtime`):",
            imp_table,
        ]
        if cold["profile"] and not cold["profile"].startswith("("):
            md += [
                "pyinstrument profile of `python -m qa ask` (frames of 0.25 s or more):",
                "```\n" + cold["profile"] + "\n```",
            ]
        md += ["### Experiments behind the proposed qa/ changes"]
        if thread_table:
            md += [
                f"Thread settings and batch sizes, each in a fresh process running qa on the {len(base.chunks):,}-"
                "chunk synthetic index from disk: 40 questions (question encoding, then `Engine.ask` on a fresh "
                f"engine), then `SentenceTransformerEmbedder(batch_size=b).encode` of {len(sample)} random "
                "synthetic chunk texts:",
                thread_table,
            ]
        else:
            md.append("Thread settings and batch sizes: not measured in this run (`--experiments` adds them).")
        md += ["Index loading:", load_table]
        if not args.no_report:
            sections = {"perf": "\n\n".join(md)}
            if approx_md:
                sections["scale-1m"] = approx_md
            elif not REPORT.exists() or "<!-- scale-1m:begin -->" not in REPORT.read_text(encoding="utf-8"):
                sections["scale-1m"] = (
                    "## Scale: 1M chunks\n\nNot measured yet: run `python bench/perf.py "
                    "--full-scale` (about 20 minutes more on 2 idle cores)."
                )
            update_report(sections)
            log(f"wrote {REPORT.relative_to(ROOT)}")
    log(f"done in {(time.perf_counter() - t_start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
