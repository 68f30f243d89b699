"""docs/performance.md and docs/latency.png: the report of bench/perf.py and bench/reindex.py.

Each benchmark rewrites only its own sections of the file, between ``<!-- name:begin/end -->`` markers,
and keeps the others; the plot can be redrawn from the latency rows already in the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench import DOCS
from bench.perf_cold import TARGET_COLD_RATIO
from bench.perf_latency import TARGET_1M_P50, TARGET_100K_P50, TARGET_100K_P95
from bench.report import pyplot, save_figure

REPORT = DOCS / "performance.md"
PLOT = DOCS / "latency.png"
# "findings" is written by hand (conclusions and proposals); the benches keep it as it is.
SECTIONS = ("findings", "perf", "scale-1m", "reindex")


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


def plot(lat: dict[int, dict[str, tuple[float, float]]], cold: tuple[float, float] | None) -> None:
    """Latency (ms) of ask and floor by index size; cold start (s) of floor and ask."""
    plt = pyplot()
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
    save_figure(fig, PLOT, dpi=110)
