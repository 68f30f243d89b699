"""Experiments behind proposed qa/ changes: OpenMP wait policies, torch thread counts and encoding batch sizes,
each in a fresh process on the synthetic index. Part of bench/perf.py (``--experiments``); figures in
docs/performance.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.report import ms
from bench.timing import log, med, pct, python_env, run_timed

EXPERIMENT_SCRIPT = """
import json, sys, time
spec = json.load(open(sys.argv[2]))
import torch
if spec["threads"]:
    torch.set_num_threads(spec["threads"])
from qa.embedding import SentenceTransformerEmbedder
from qa.engine import Engine
from qa.index import load_index
emb = SentenceTransformerEmbedder()
index = load_index(sys.argv[1])
for q in spec["questions"][:3]:
    Engine(index, emb).ask(q)
out = {"encode": [], "ask": [], "batch": {}}
for q in spec["questions"]:
    t0 = time.perf_counter()
    emb.encode([q])
    t1 = time.perf_counter()
    Engine(index, emb).ask(q)
    out["encode"].append(t1 - t0)
    out["ask"].append(time.perf_counter() - t1)
for b in spec["batches"]:
    e = SentenceTransformerEmbedder(batch_size=b)
    e.encode(spec["texts"][:8])
    t0 = time.perf_counter()
    e.encode(spec["texts"])
    out["batch"][str(b)] = len(spec["texts"]) / (time.perf_counter() - t0)
print(json.dumps(out))
"""

# qa/embedding.py sets OMP_WAIT_POLICY=PASSIVE unless the environment names a policy. An empty value
# is not a policy libgomp knows, so it keeps its built-in default (spin, then sleep): qa before 5477c5e.
VARIANTS = (
    ("libgomp default wait policy (OMP_WAIT_POLICY empty), 2 threads", {"OMP_WAIT_POLICY": ""}, 0),
    ("OMP_WAIT_POLICY=PASSIVE (qa's default), 2 threads", {"OMP_WAIT_POLICY": "PASSIVE"}, 0),
    ("OMP_WAIT_POLICY=PASSIVE, torch.set_num_threads(1)", {"OMP_WAIT_POLICY": "PASSIVE"}, 1),
)


def bench_variants(
    index_dir: Path, qs: Sequence[str], texts: Sequence[str], work: Path, batches: Sequence[int] = (16, 32, 64)
) -> tuple[list[str], list[list[object]]]:
    """Thread settings and batch sizes, each in its own process (env must be set before torch loads)."""
    spec = work / "experiment.json"
    rows = []
    for label, env, threads in VARIANTS:
        log(f"experiment: {label}")
        spec.write_text(
            json.dumps({"questions": list(qs), "texts": list(texts), "batches": list(batches), "threads": threads})
        )
        run = run_timed(
            [sys.executable, "-c", EXPERIMENT_SCRIPT, str(index_dir), str(spec)], env={**python_env(), **env}
        )
        r = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(
            [
                label,
                ms(med(r["encode"])),
                ms(pct(r["encode"], 95)),
                ms(med(r["ask"])),
                ms(pct(r["ask"], 95)),
                *(f"{r['batch'][str(b)]:.1f}" for b in batches),
            ]
        )
    headers = [
        "setting",
        "encode question p50 ms",
        "p95",
        "ask p50 ms",
        "ask p95",
        *(f"encode chunks/s, batch {b}" for b in batches),
    ]
    return headers, rows
