"""Clocks for the benchmarks: percentiles, progress lines, and child processes timed with their peak RSS.

Importing this module puts this process offline (no downloads, quiet libraries), and ``python_env`` gives
child processes the same environment, so every ``qa`` command a benchmark times runs as a user would run
it. Figures: docs/performance.md, docs/load.md, docs/reliability.md, docs/scale.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench import CALLER_OMP_WAIT_POLICY, ROOT

# Never touch the network; keep library chatter off the tables.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENV)


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=float), q)) if len(xs) else float("nan")


def med(xs: Sequence[float]) -> float:
    return pct(xs, 50)


def proc_status_mb(field: str) -> float:
    """VmRSS (current) or VmHWM (peak) of this process, in MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def python_env() -> dict[str, str]:
    """The environment of a timed child: offline, this work tree's qa, the caller's OpenMP wait policy."""
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


def cli_index(corpus: Path, index: Path, *, full: bool, ray: str | None = None) -> tuple[Run, dict]:
    """``python -m qa index`` timed in a child process (on a Ray cluster at ``ray``), and the manifest it wrote."""
    # --nice 0: timed at the priority its floors run at (qa index lowers its own by default).
    cmd = [sys.executable, "-m", "qa", "index", "--nice", "0", "--corpus", str(corpus), "--index", str(index)]
    run = run_timed(cmd + (["--full"] if full else []) + (["--ray", ray] if ray else []))
    manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
    return run, manifest
