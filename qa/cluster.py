"""Embedding on a Ray cluster: the same ``encode_spans`` as the local model, run as a Ray Data pipeline.

Imported only when a Ray address is given (``python -m qa index --ray ADDRESS``,
``$QA_RAY_ADDRESS`` or ``build(..., ray_address=...)``): ``make run`` and a plain
``qa index`` never load Ray.

The driver (the process running ``build``) reads the corpus, chunks it and decides
what must be embedded, exactly as a local build does; only the texts of new or
changed chunks go to the cluster. They stream through ``ray.data``: a dataset of
(row, text, span offsets) sorted by length, cut into the same slices the local
embedder encodes, mapped by a pool of actors that each load the packaged model once
and call the local ``SentenceTransformerEmbedder.encode_spans`` on their slice. The
vectors stream back to the driver, which writes the index with the usual code
(``qa.index.save_index``: manifest, atomic swap, lock). So a Ray build gives the
same vectors as a local one, up to float rounding from thread counts.

A worker killed mid-build is restarted by Ray Data (its actors run with
``max_restarts=-1`` and ``max_task_retries=-1``), which loads the model again and
retries the lost slice; any failure that Ray gives up on becomes a ``QAError``
before anything is written, so the previous index stays current.

Example:
    >>> from qa import build
    >>> build("corpus", "embeddings", ray_address="local")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.embedding import DEFAULT_BATCH_SIZE, DEFAULT_MODEL, load_embedder
from qa.errors import QAError

# Nothing of ours may phone home; set before ray is first imported.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# What every worker needs so that the model loads offline and idle threads sleep
# (see qa.embedding on OMP_WAIT_POLICY).
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_WAIT_POLICY": "PASSIVE",
    "RAY_USAGE_STATS_ENABLED": "0",
}
# The object store of a private runtime (``local``): vectors stream through it, a few
# slices at a time, so a small store is plenty and leaves memory for the model.
LOCAL_OBJECT_STORE_BYTES = 300 * 1024 * 1024


@dataclass(frozen=True)
class ClusterInfo:
    """Where the last ``encode_spans`` ran."""

    address: str
    nodes: int
    cpus: int
    actors: int
    pids: tuple[int, ...]  # worker processes that returned slices (for the kill test)

    def describe(self) -> str:
        return f"Ray at {self.address}: {self.nodes} node(s), {self.cpus} CPUs, {self.actors} embedding actor(s)"


def connect(address: str) -> None:
    """Join (or, for ``local``, start) the Ray runtime at ``address``, once per process.

    Raises:
        QAError: Ray is not installed, or nothing answers at ``address``.
    """
    try:
        import ray
    except ImportError:
        raise QAError(
            "Ray is not installed; run `.venv/bin/pip install -r requirements-cluster.txt` "
            "(or `make test`), or build without --ray"
        ) from None
    if ray.is_initialized():
        return
    import qa

    runtime_env = {
        # Ships this checkout's qa package to every node, so workers run the driver's code;
        # the other packages (torch, sentence-transformers, the model) must be installed there.
        "py_modules": [str(Path(qa.__file__).resolve().parent)],
        "env_vars": dict(WORKER_ENV),
    }
    kwargs: dict = {}
    if address == "local":
        kwargs = {"include_dashboard": False, "object_store_memory": LOCAL_OBJECT_STORE_BYTES}
    try:
        ray.init(
            address=address,
            runtime_env=runtime_env,
            log_to_driver=False,
            logging_level=logging.WARNING,
            configure_logging=True,
            **kwargs,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        raise QAError(
            f"cannot reach a Ray cluster at {address!r} ({str(exc).splitlines()[0] if str(exc) else exc}); "
            "start one with `ray start --head` and pass `--ray auto`, give its `ray://HOST:10001` address, "
            "or use `--ray local` for a private runtime on this machine"
        ) from None


class _EmbedActor:
    """One Ray Data actor: loads the model once, then embeds slice after slice."""

    def __init__(self, model: str | None, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self._embedder = load_embedder(model)
        self._pid = os.getpid()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        spans = [np.asarray(s, dtype=np.int64).reshape(-1, 2).tolist() for s in batch["spans"]]
        vectors, span_vectors = self._embedder.encode_spans(texts, spans)
        # Span vectors are stored as float16 in the index; sending them so halves the traffic
        # and rounds exactly as the local build does.
        span_vectors = span_vectors.astype(np.float16)
        out, row = [], 0
        for s in spans:
            out.append(span_vectors[row : row + len(s)].tobytes())
            row += len(s)
        return {
            "row": np.asarray(batch["row"], dtype=np.int64),
            "vector": vectors,
            "spans": np.array(out, dtype=object),
            "pid": np.full(len(texts), self._pid, dtype=np.int64),
        }


class RayEmbedder:
    """An ``Embedder`` whose ``encode_spans`` runs on a Ray cluster.

    Args:
        address: What ``ray.init(address=...)`` takes: ``local`` (a private runtime on
            this machine), ``auto`` (the cluster ``ray start`` made), ``ray://HOST:10001``.
        model: As for ``qa.embedding.load_embedder``; loaded by each actor.
        name, dimension: What that model reports (the index's settings).
        actors: Embedding actors; default: one per ``cpus_per_actor`` CPUs of the cluster.
        cpus_per_actor: CPUs (and torch threads) each actor takes.

    Example:
        >>> e = RayEmbedder("auto", model=None, name="all-MiniLM-L6-v2", dimension=384)  # doctest: +SKIP
        >>> vectors, span_vectors = e.encode_spans(["Outer space is free."], [[(0, 20)]])  # doctest: +SKIP
    """

    def __init__(
        self,
        address: str,
        *,
        model: str | None,
        name: str,
        dimension: int,
        batch_size: int = DEFAULT_BATCH_SIZE,
        actors: int | None = None,
        cpus_per_actor: int = 1,
    ) -> None:
        if not address or not address.strip():
            raise QAError("the Ray address is empty; use `local`, `auto` or `ray://HOST:10001`")
        if actors is not None and actors < 1:
            raise QAError(f"actors of {actors} is not a number of Ray actors; use 1 or more, or leave it unset")
        self.address = address.strip()
        # Resolved here: the workers do not see the driver's $QA_MODEL.
        self.model = model or os.environ.get("QA_MODEL") or DEFAULT_MODEL
        self.name = name
        self.dimension = dimension
        self.batch_size = batch_size
        self.slice = batch_size * 32  # texts per slice, as SentenceTransformerEmbedder encodes them
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.info: ClusterInfo | None = None

    # qa.index.build_index passes every chunk at once and saves each batch through ``on_rows``,
    # so an interrupted cluster build resumes (a call per group would restart the actor pool).
    streams_rows = True

    def encode(self, texts, *, progress=None):
        return self.encode_spans(texts, [[] for _ in texts], progress=progress)[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: Callable[[int, int], None] | None = None,
        on_rows: Callable[[list[int], np.ndarray, np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As ``Embedder.encode_spans``; ``on_rows(rows, vectors, span_vectors)`` is called with
        each batch as it arrives (indices into ``texts``, their vectors, their spans' vectors
        stacked in order)."""
        texts = list(texts)
        d, n = self.dimension, len(texts)
        first = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(s) for s in spans], out=first[1:])
        vectors = np.zeros((n, d), dtype=np.float32)
        span_vectors = np.zeros((int(first[-1]), d), dtype=np.float32)
        if not n:
            return vectors, span_vectors
        connect(self.address)
        import ray
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the caller's progress callback reports instead
        ctx.print_on_execution_start = False
        # Its notes ("progress bars disabled", "execution finished") are not the user's business.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        actors = self.actors or max(1, cpus // self.cpus_per_actor)
        import pyarrow as pa

        # Sorted by length and cut into the local embedder's slices, so that each actor
        # pads its batches as the local build does (and so gets the same vectors).
        # One block per slice, one slice per task: results stream back slice by slice.
        order = sorted(range(n), key=lambda i: len(texts[i]))
        blocks = []
        for lo in range(0, n, self.slice):
            ids = order[lo : lo + self.slice]
            blocks.append(
                pa.table(
                    {
                        "row": pa.array(ids, type=pa.int64()),
                        "text": pa.array([texts[i] for i in ids], type=pa.string()),
                        "spans": pa.array(
                            [[int(x) for se in spans[i] for x in se] for i in ids], type=pa.list_(pa.int64())
                        ),
                    }
                )
            )
        actors = min(actors, len(blocks))
        ds = ray.data.from_arrow(blocks).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"model": self.model, "threads": self.cpus_per_actor},
            batch_size=None,
            batch_format="numpy",
            num_cpus=self.cpus_per_actor,
            compute=ray.data.ActorPoolStrategy(size=actors),
        )
        done, pids = 0, set()
        seen = np.zeros(n, dtype=bool)
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                for row, vec, blob in zip(batch["row"], batch["vector"], batch["spans"], strict=True):
                    vectors[row] = vec
                    span_vectors[first[row] : first[row + 1]] = np.frombuffer(blob, dtype=np.float16).reshape(-1, d)
                    seen[row] = True
                if on_rows is not None:
                    rows = [int(r) for r in batch["row"]]
                    on_rows(rows, vectors[rows], np.concatenate([span_vectors[first[r] : first[r + 1]] for r in rows]))
                pids.update(int(p) for p in batch["pid"])
                done += len(batch["row"])
                self.info = ClusterInfo(self.address, nodes, cpus, actors, tuple(sorted(pids)))
                if progress:
                    progress(done, n)
        except ray.exceptions.RayError as exc:
            raise QAError(
                f"embedding on the Ray cluster at {self.address!r} failed ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else 'no message'}); "
                "no index was written and the previous index is unchanged (vectors that came back are "
                "kept for the next build). Check that every node has requirements.txt installed "
                "(`ray status` lists the nodes), then run the build again"
            ) from exc
        if not seen.all():
            raise QAError(
                f"the Ray cluster at {self.address!r} returned {int(seen.sum())} of {n} vectors; "
                "no index was written (the vectors that came back are kept). Run the build again"
            )
        return vectors, span_vectors


# ---------------------------------------------------------------- a cluster on this machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """Ray nodes started with ``ray start`` on this machine, for tests and benchmarks.

    Every process it starts runs in process groups it owns, so ``stop`` ends exactly
    those (never other Ray users' processes, as ``ray stop`` would).

    Example:
        >>> with LocalCluster(nodes=2, cpus=1) as cluster:  # doctest: +SKIP
        ...     build("corpus", "/tmp/idx", ray_address=cluster.address)
    """

    def __init__(self, *, nodes: int = 1, cpus: int = 1, object_store_mb: int = 200) -> None:
        if nodes < 1 or cpus < 1:
            raise ValueError(f"nodes={nodes}, cpus={cpus}: use at least one node of one CPU")
        self.nodes, self.cpus, self.object_store_mb = nodes, cpus, object_store_mb
        # Short: Ray's Unix socket paths live under it (limit ~107 characters).
        self.temp_dir = Path(tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp"))
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._procs: list[subprocess.Popen] = []
        # Ray turns token authentication on by itself once a token exists in ~/.ray (any
        # earlier `ray.init()` writes one), and then `ray status` and drivers without it are
        # refused. This throwaway cluster listens on 127.0.0.1 and runs without; start()
        # puts this into os.environ so that drivers in this process and its children match.
        self.env = {"RAY_AUTH_MODE": "disabled"}
        self._saved_env: dict[str, str | None] = {}

    def _ray(self) -> str:
        exe = Path(sys.executable).with_name("ray")
        return str(exe) if exe.exists() else (shutil.which("ray") or "ray")

    def _start_node(self, head: bool) -> None:
        args = [
            self._ray(),
            "start",
            "--block",
            "--num-cpus",
            str(self.cpus),
            "--num-gpus",
            "0",
            "--object-store-memory",
            str(self.object_store_mb * 1024 * 1024),
            "--disable-usage-stats",
            "--node-ip-address",
            "127.0.0.1",
            # Two nodes on one machine: each needs its own ports.
            "--node-manager-port",
            str(_free_port()),
            "--object-manager-port",
            str(_free_port()),
            "--metrics-export-port",
            str(_free_port()),
            "--dashboard-agent-listen-port",
            str(_free_port()),
            "--dashboard-agent-grpc-port",
            str(_free_port()),
            "--runtime-env-agent-port",
            str(_free_port()),
        ]
        if head:
            args += ["--head", "--port", str(self.port), "--include-dashboard=false", "--temp-dir", str(self.temp_dir)]
        else:
            args += ["--address", self.address]
        env = {**os.environ, **WORKER_ENV, **self.env}
        log = open(self.temp_dir / f"node-{len(self._procs)}.log", "wb")  # noqa: SIM115 (kept for the node's life)
        self._procs.append(
            subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        )

    def _logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.temp_dir.glob("node-*.log")))

    def _wait_for(self, nodes: int, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = subprocess.run(
                [self._ray(), "status", "--address", self.address],
                capture_output=True,
                text=True,
                env={**os.environ, **WORKER_ENV, **self.env},
            )
            if status.returncode == 0 and status.stdout.count("node_") >= nodes:
                return
            for p in self._procs:
                if p.poll() is not None:
                    raise RuntimeError(f"a Ray node exited early:\n{self._logs()}")
            time.sleep(1.0)
        raise RuntimeError(
            f"{nodes} Ray node(s) did not come up in {timeout:.0f} s:\n{self._logs()}\n"
            f"ray status: {status.stdout[-1000:]}{status.stderr[-1000:]}"
        )

    def start(self) -> LocalCluster:
        self._saved_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        self._start_node(head=True)
        self._wait_for(1)
        for i in range(1, self.nodes):
            self._start_node(head=False)
            self._wait_for(i + 1)
        return self

    def stop(self) -> None:
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()  # a driver whose cluster vanishes exits the whole process
        for p in reversed(self._procs):
            if p.poll() is None:
                p.terminate()  # `ray start --block` stops its node's processes on SIGTERM
        for p in reversed(self._procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)  # whatever of the group outlived it
        self._procs.clear()
        # Stragglers (workers a node's raylet had started) are killed until none is left: on a
        # loaded machine one may still be starting, or not yet gone, when first looked for.
        deadline = time.monotonic() + 10
        while (left := _pids_mentioning(str(self.temp_dir))) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = {}

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (our cluster's own temp folder)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    out.append(int(entry.name))
            except OSError:
                continue
    return out
