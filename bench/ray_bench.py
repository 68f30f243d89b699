"""Build throughput: local build vs Ray with one and with two nodes, on this machine.

The same synthetic corpus as ``bench/perf.py`` (its generator, imported), built with
``python -m qa index --full`` three ways, interleaved rep by rep so that load drift on a
shared machine hits all three:

* ``local``: no Ray;
* ``ray 1 node``: a head started with ``ray start --head --num-cpus 2``, built with ``--ray ADDRESS``;
* ``ray 2 nodes``: a head and a second node joined with ``ray start --address``, one CPU each.

Both clusters have as many CPUs as the machine, so the Ray columns show Ray's overhead (and
that of a second node), not extra hardware. Cluster start-up is not timed: a cluster is
started once and serves many builds. chunks/s is chunks over the wall time of the whole
``qa index`` process (reading, chunking, model load, embedding, writing), and, apart, over
the embedding step alone (the manifest's ``embed_seconds``). Each Ray index is checked
against the local one (chunks identical, largest vector difference shown).

Writes its table into ``docs/scale.md`` between ``<!-- ray-bench:begin/end -->``.

Usage::

    python bench/ray_bench.py                  # `make bench-ray`: ~15,000 chunks, 1 rep, ~17 min idle
    python bench/ray_bench.py --chunks 5000 --reps 2   # a loaded machine: smaller corpus, 2 reps
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf  # noqa: E402  (bench/perf.py: the synthetic corpus and the timing helpers)

from qa.cluster import LocalCluster  # noqa: E402
from qa.index import load_index  # noqa: E402

REPORT = perf.DOCS / "scale.md"
SECTION = "ray-bench"
TARGET_ONE_NODE = 0.85  # Ray with one node vs the local build, chunks/s
# Three builds of bench/perf.py's 20,000 chunks at 50 chunks/s take 20 min of embedding alone;
# 15,000 keeps the run (three builds plus cluster start-ups) near 17 min on an idle machine.
DEFAULT_CHUNKS = 15_000


def build(corpus: Path, index: Path, ray: str | None) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    # --nice 0: the three ways compete for the CPU at the same priority (qa index lowers its own by default).
    cmd = [sys.executable, "-m", "qa", "index", "--full", "--nice", "0", "--corpus", str(corpus), "--index", str(index)]
    run = perf.run_timed(cmd + (["--ray", ray] if ray else []))
    manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
    n = manifest["counts"]["chunks"]
    return {"wall": run.wall, "embed": float(manifest["embed_seconds"]), "chunks": n,
            "rss": run.max_rss_mb, "line": run.stdout.strip().splitlines()[-1]}


def compare(local: Path, other: Path) -> tuple[float, float]:
    """Largest differences of the chunk vectors (float32) and span vectors (stored float16)."""
    a, b = load_index(local), load_index(other)
    if [c.chunk_id for c in a.chunks] != [c.chunk_id for c in b.chunks] or not np.array_equal(
            a.span_bounds, b.span_bounds):
        raise RuntimeError(f"{other} does not have the chunks and spans of {local}")
    spans = np.abs(np.asarray(a.span_vectors, np.float32) - np.asarray(b.span_vectors, np.float32))
    return float(np.abs(a.vectors() - b.vectors()).max()), float(spans.max())


def write_section(text: str) -> None:
    empty = f"<!-- {SECTION}:begin -->\n<!-- {SECTION}:end -->\n"
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else empty
    block = f"<!-- {SECTION}:begin -->\n{text.rstrip()}\n<!-- {SECTION}:end -->"
    new, count = re.subn(rf"<!-- {SECTION}:begin -->.*?<!-- {SECTION}:end -->", lambda _: block, old, flags=re.S)
    REPORT.write_text(new if count else old.rstrip() + "\n\n" + block + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=DEFAULT_CHUNKS,
                    help=f"synthetic corpus size (default {DEFAULT_CHUNKS})")
    ap.add_argument("--reps", type=int, default=1, help="interleaved rounds of the three builds")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--no-write", action="store_true", help=f"print the table only, leave {REPORT.name} alone")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    info = perf.machine_info()
    from importlib.metadata import version

    ray_version = version("ray")
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-ray-bench-"))
    corpus = work / "corpus"
    if not corpus.is_dir():
        pool = perf.sentence_pool()
        n_docs = perf.synthetic_docs_for(args.chunks, pool)
        perf.log(f"writing {n_docs} synthetic documents to {corpus}")
        perf.write_synthetic_corpus(corpus, n_docs, pool)

    results: dict[str, list[dict]] = {"local": [], "ray 1 node": [], "ray 2 nodes": []}
    diffs: dict[str, tuple[float, float]] = {}
    for rep in range(args.reps):
        for name in results:
            index = work / f"index-{name.replace(' ', '-')}"
            perf.log(f"rep {rep + 1}/{args.reps}: {name}")
            if name == "local":
                r = build(corpus, index, None)
            else:
                nodes = 1 if name == "ray 1 node" else 2
                with LocalCluster(nodes=nodes, cpus=2 // nodes) as cluster:
                    r = build(corpus, index, cluster.address)
                d = compare(work / "index-local", index)
                old = diffs.get(name, (0.0, 0.0))
                diffs[name] = (max(old[0], d[0]), max(old[1], d[1]))
            perf.log(f"  {r['chunks']} chunks: {r['chunks'] / r['wall']:.1f} chunks/s overall, "
                     f"{r['chunks'] / r['embed']:.1f} embedding; {r['line']}")
            results[name].append(r)

    n = results["local"][0]["chunks"]
    tput = {k: n / perf.med([r["wall"] for r in v]) for k, v in results.items()}
    etput = {k: n / perf.med([r["embed"] for r in v]) for k, v in results.items()}
    rows = []
    for k, v in results.items():
        rows.append([k, f"{tput[k]:.1f}", f"{tput[k] / tput['local']:.2f}", f"{etput[k]:.1f}",
                     f"{etput[k] / etput['local']:.2f}", " / ".join(f"{r['wall']:.0f}" for r in v),
                     "-" if k == "local" else f"{diffs[k][0]:.1e} / {diffs[k][1]:.1e}"])
    one, two = tput["ray 1 node"] / tput["local"], tput["ray 2 nodes"] / tput["ray 1 node"]
    elapsed = time.perf_counter() - t_start
    text = (
        f"### Measured: local build vs Ray on this machine\n\n"
        f"- run: {info['date']}, `python bench/ray_bench.py {' '.join(argv if argv is not None else sys.argv[1:])}`"
        f", {elapsed / 60:.1f} min\n"
        f"- machine: {info['machine']}; {info['load']}\n"
        f"- software: {info['software']}, ray {ray_version}\n"
        f"- corpus: {n:,} chunks of the bench/perf.py synthetic corpus; {args.reps} interleaved rep(s)\n\n"
        + perf.table(["build", "chunks/s (whole run)", "vs local", "chunks/s (embedding)", "vs local",
                      "wall s per rep", "max diff vs local: chunk / span vectors"], rows)
        + f"\n\nRay, one node vs local (whole run): {one:.2f} (target >= {TARGET_ONE_NODE}: "
        f"{perf.verdict(one >= TARGET_ONE_NODE)}); two nodes vs one: {two:.2f} (target >= 1.0: "
        f"{perf.verdict(two >= 1.0)}).\n"
    )
    print(text)
    if not args.no_write:
        write_section(text)
        perf.log(f"wrote {REPORT}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
