"""The abstention trade-off: answerable questions answered right against unanswerable ones refused, over
confidence thresholds, and the threshold fitted on dev. Part of bench/quality.py; figures in
docs/benchmarks.md and docs/abstention.png.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from bench.data import Question
from bench.quality_metrics import Answered, is_hit, mean
from bench.quality_systems import Result
from bench.report import pyplot, save_figure

ABSTAIN_GOAL = 0.35  # the target share of refused unanswerable questions
THRESHOLDS = [round(0.01 * i, 2) for i in range(101)]


def tradeoff(answers: Sequence[Answered], questions: Sequence[Question], thresholds=THRESHOLDS) -> list[tuple]:
    """(threshold, answerable hit rate, unanswerable abstention rate) for answers made with
    threshold 0: at threshold t a question is refused when its confidence is below t."""
    ans = [(is_hit(a, q), a.confidence) for a, q in zip(answers, questions, strict=True) if q.answerable]
    un = [a.confidence for a, q in zip(answers, questions, strict=True) if not q.answerable]
    return [(t, mean(h and c >= t for h, c in ans), mean(c < t for c in un)) for t in thresholds]


def fitted_threshold(dev_curve: list[tuple], goal: float = ABSTAIN_GOAL) -> float | None:
    """The lowest threshold whose dev abstention on unanswerable questions reaches ``goal``."""
    return next((t for t, _, ab in dev_curve if ab >= goal), None)


def operating_points(res: Result) -> dict[str, tuple[float, float, float]]:
    """Per answerer: the threshold reaching 35% abstention on dev, and (hit, abstention) on test there."""
    out = {}
    for s, answers in res.curve_answers.items():
        dev_q, test_q = res.qs("dev"), res.qs("test")
        if not dev_q or not test_q:
            continue
        t = fitted_threshold(tradeoff(res.part(answers, "dev"), dev_q))
        if t is None:
            continue
        _, hit, ab = tradeoff(res.part(answers, "test"), test_q, [t])[0]
        out[s] = (t, hit, ab)
    return out


def plot_tradeoff(res: Result, path: Path, default_threshold: float) -> None:
    """Answerable hit rate against unanswerable abstention, one point per threshold."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    ax.axvspan(ABSTAIN_GOAL, 1.0, ymin=0.75, ymax=1.0, color="tab:green", alpha=0.08, label="target region")
    styles = {"full answerer": "tab:blue", "naive answerer": "tab:gray"}
    for system, answers in res.curve_answers.items():
        for sp, ls in (("test", "-"), ("dev", ":")):
            qs = res.qs(sp)
            if not qs:
                continue
            curve = tradeoff(res.part(answers, sp), qs)
            label = (
                f"{system} ({sp}, confidence threshold)"
                if system == "full answerer"
                else f"{system} ({sp}, cosine threshold)"
            )
            ax.plot([c[2] for c in curve], [c[1] for c in curve], ls, color=styles.get(system), label=label)
            if system != "full answerer":
                continue
            t, hit, ab = tradeoff(res.part(answers, sp), qs, [default_threshold])[0]
            ax.plot(
                [ab],
                [hit],
                "o",
                color="tab:red",
                ms=7 if sp == "test" else 5,
                label=f"default threshold {default_threshold:.2f} ({sp})",
            )
            if sp != "test":
                continue
            ax.annotate(
                f"default t={t:.2f}", (ab, hit), textcoords="offset points", xytext=(6, 8), fontsize=8, color="tab:red"
            )
            # A few other thresholds along the test curve, labelled only where they do not crowd.
            placed = [(ab, hit)]
            for tt in (0.3, 0.5, 0.6, 0.7, 0.8):
                _, y, x = next(c for c in curve if abs(c[0] - tt) < 1e-9)
                if min(math.hypot(x - px, y - py) for px, py in placed) < 0.06:
                    continue
                placed.append((x, y))
                ax.plot([x], [y], ".", color="tab:blue")
                ax.annotate(
                    f"t={tt:.1f}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7, color="tab:blue"
                )
    ax.set_xlabel("unanswerable questions refused (abstention rate)")
    ax.set_ylabel("answerable questions answered correctly (hit rate)")
    ax.set_title(f"{res.label}: abstention trade-off over thresholds")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    save_figure(fig, path)
