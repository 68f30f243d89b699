"""Calibration of the answerer's confidence: expected calibration error and a reliability diagram over the
pooled questions of XQuAD-en, the SQuAD 2.0 sample and spacelaw_qa. Part of bench/quality.py; figures in
docs/benchmarks.md and docs/calibration.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.quality_systems import Result
from bench.report import fmt, pyplot, save_figure
from qa.evaluation import contains_gold


def _confidence_pairs(results: dict[str, Result], split: str, system: str) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) per question, answered or refused: right when the question is answerable
    and the best candidate (the answer, or for a refusal the first explained candidate) holds a gold answer."""
    conf, right = [], []
    for name in ("xquad", "squad2", "spacelaw"):
        res = results.get(name)
        if res is None or system not in res.answers:
            continue
        for a, q in zip(res.part(res.answers[system], split), res.qs(split), strict=True):
            best = a.text or (a.candidates[0]["text"] if a.candidates else "")
            conf.append(a.confidence)
            right.append(bool(q.answerable and best and contains_gold(best, q.gold)))
    return np.array(conf, dtype=float), np.array(right, dtype=bool)


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    return float(
        sum(
            abs(conf[idx == b].mean() - right[idx == b].mean()) * (idx == b).mean()
            for b in range(bins)
            if (idx == b).any()
        )
    )


def calibration(results: dict[str, Result], split: str) -> list[list[str]]:
    rows = []
    for system in ("no-selector answerer", "full answerer"):
        conf, right = _confidence_pairs(results, split, system)
        if len(conf):
            rows.append(
                [
                    system,
                    str(len(conf)),
                    fmt(expected_calibration_error(conf, right)),
                    fmt(conf.mean()),
                    fmt(right.mean()),
                ]
            )
    return rows


def plot_calibration(results: dict[str, Result], split: str, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="lightgray", linestyle="--", label="perfect calibration")
    for system, color in (("no-selector answerer", "tab:gray"), ("full answerer", "tab:blue")):
        conf, right = _confidence_pairs(results, split, system)
        if not len(conf):
            continue
        idx = np.minimum((conf * 10).astype(int), 9)
        xs = [conf[idx == b].mean() for b in range(10) if (idx == b).sum() >= 5]
        ys = [right[idx == b].mean() for b in range(10) if (idx == b).sum() >= 5]
        ax.plot(xs, ys, marker="o", color=color, label=f"{system} (ECE {expected_calibration_error(conf, right):.3f})")
    ax.set_xlabel("confidence (mean per bin of 0.1; bins of 5+ questions)")
    ax.set_ylabel("share of questions answered right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Reliability, {split} split: XQuAD-en + SQuAD 2.0 + spacelaw_qa")
    ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, path, dpi=110)
