"""Resumed build benchmark: interrupt `qa index` with Ctrl-C halfway, run it again.

Builds a synthetic corpus (the generator of ``bench/synthetic.py``), times one
uninterrupted ``python -m qa index --full`` (the baseline, same run), then in a fresh
index folder starts ``python -m qa index``, sends it SIGINT (what Ctrl-C sends) once
about ``--at`` of the baseline's embedding time has passed, and runs ``qa index``
again. Reports how many vectors the second run embedded and its time as a share of
the baseline: before ``qa.index.PartialVectors`` it re-embedded everything (1.0).

Usage::

    python bench/resume.py               # about 8 minutes on 2 idle cores
    python bench/resume.py --docs 30     # a quick check of the script
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/resume.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import CORPUS  # noqa: E402
from bench.reindex import parse_report  # noqa: E402
from bench.report import machine_info, table  # noqa: E402
from bench.synthetic import sentence_pool, write_synthetic_corpus  # noqa: E402
from bench.timing import cli_index, log, python_env  # noqa: E402


def interrupted_index(corpus: Path, index: Path, after: float) -> tuple[float, int, str]:
    """``qa index`` sent SIGINT ``after`` seconds in: (seconds it ran, exit status, stderr's last line)."""
    cmd = [sys.executable, "-m", "qa", "index", "--nice", "0", "--corpus", str(corpus), "--index", str(index)]
    t0 = time.perf_counter()
    # A job started in the background by a shell inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt: the child gets the default handling back, as in a terminal.
    p = subprocess.Popen(
        cmd,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        p.wait(timeout=after)
        raise RuntimeError(f"the build finished in {time.perf_counter() - t0:.0f} s, before it could be interrupted")
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    return time.perf_counter() - t0, p.returncode, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=250, help="documents in the corpus (default 250: about 5,900 chunks)")
    ap.add_argument("--at", type=float, default=0.6, help="share of the baseline's embedding time before Ctrl-C")
    args = ap.parse_args(argv)
    info = machine_info()
    print(f"# resume bench {info['date']}\n{info['machine']}\n{info['load']}\n", flush=True)
    pool = sentence_pool(CORPUS)
    with tempfile.TemporaryDirectory(prefix="qa-resume-") as tmp:
        corpus = Path(tmp) / "corpus"
        write_synthetic_corpus(corpus, args.docs, pool)
        log(f"baseline: full build of {args.docs} documents")
        base_run, base_manifest = cli_index(corpus, Path(tmp) / "a", full=True)
        base = parse_report(base_run.stdout)
        setup = base_run.wall - float(base_manifest["embed_seconds"])
        after = setup + args.at * float(base_manifest["embed_seconds"])
        log(f"build in a fresh folder, Ctrl-C after {after:.0f} s")
        ran, status, said = interrupted_index(corpus, Path(tmp) / "b", after)
        log(f"exit {status}: {said}")
        log("the same build again")
        again_run, _ = cli_index(corpus, Path(tmp) / "b", full=False)
        again = parse_report(again_run.stdout)
        left = sorted((Path(tmp) / "b").glob(".partial/*"))
    print(
        table(
            ["run", "chunks", "vectors embedded", "wall s", "x baseline"],
            [
                [
                    "uninterrupted build (baseline)",
                    f"{base['chunks']:,}",
                    f"{base['embedded']:,}",
                    f"{base_run.wall:.1f}",
                    "1.000",
                ],
                [f"interrupted (Ctrl-C, exit {status})", "", "", f"{ran:.1f}", f"{ran / base_run.wall:.3f}"],
                [
                    "run again: resumed",
                    f"{again['chunks']:,}",
                    f"{again['embedded']:,}",
                    f"{again_run.wall:.1f}",
                    f"{again_run.wall / base_run.wall:.3f}",
                ],
                [
                    "interrupted + resumed",
                    "",
                    "",
                    f"{ran + again_run.wall:.1f}",
                    f"{(ran + again_run.wall) / base_run.wall:.3f}",
                ],
            ],
        )
    )
    ok = status == 130 and again["embedded"] < again["chunks"] and not left
    print(f"\nsaved groups left after the resumed build: {len(left)}; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
