"""Writing benchmark reports: Markdown tables and number formats, the machine a run was measured on,
and plots. The reports themselves are in docs/ (benchmarks.md, performance.md, load.md, scale.md)."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from bench import ROOT

# ------------------------------------------------------------------ tables and numbers


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table padded so it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.{digits}f}"


def fmt_ms(x) -> str:
    return fmt(x, 1)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def mark(ok: bool | None) -> str:
    return "—" if ok is None else ("✓" if ok else "✗")


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


# ------------------------------------------------------------------ the machine


def machine_info() -> dict[str, str]:
    """The machine, its load and the software of this run, for a report's header."""
    import bm25s
    import faiss
    import numpy as np
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
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
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
        "uname": uname or platform.platform(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "python": platform.python_version(),
        "torch_threads": str(torch.get_num_threads()),
    }


def versions(packages: Sequence[str] = ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "txtai")) -> str:
    """Installed versions of ``packages``, from their distribution metadata."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for p in packages:
        try:
            out.append(f"{p} {version(p)}")
        except PackageNotFoundError:
            out.append(f"{p} not installed")
    return ", ".join(out)


def run_header(title: str, info: dict[str, str], command: str, elapsed: float) -> str:
    """The heading of a report section and the run, machine, software and commit that wrote it."""
    return (
        f"## {title}\n\n"
        f"- run: {info['date']}, `{command}`, {elapsed / 60:.1f} min\n"
        f"- machine: {info['machine']}; {info['load']}\n"
        f"- software: {info['software']}\n"
        f"- code: commit {info['commit']}\n"
    )


# ------------------------------------------------------------------ plots


def pyplot():
    """``matplotlib.pyplot`` drawing to files only (no display on a benchmark machine)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, *, dpi: float | None = None) -> None:
    """Lay out ``fig``, write it to ``path`` (at the figure's own dpi unless given) and free it."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
