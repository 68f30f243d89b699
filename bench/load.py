"""Load test: many users asking while a changed document is re-indexed.

Part 1, the browser: the real app under ``streamlit run`` (over a temporary copy of
``corpus/`` and its own index), and 8 users in headless Chromium asking 10
questions each at the same time. Once every user has an answer, one document is
edited and ``python -m qa index`` re-indexes it while the questions go on.

Part 2, the engine: 8 threads share one ``Engine`` (the real model) and ask the
same 80 questions while ``qa.build`` re-indexes the edited document in another
thread of the same process; when the build is done the threads switch to a freshly
opened engine, as the app does on a new build.

Each part is compared with a baseline measured in the same run: the same questions
asked one at a time by one user (one thread), with no reindex.

Checked for every question: it was answered (no error box, no exception, no
timeout), and every citation quotes the text of its source at its offsets (see
``citation_verdict``). Writes ``docs/load.md``.

Why one Chromium with 8 contexts rather than 8 browsers: a context is a separate
user to the app (own cookies, own websocket, own Streamlit session and chat
history), and one browser process keeps the browser's CPU off the two cores the
server is measured on; Playwright's async API drives the 8 pages from one thread.

Usage::

    python bench/load.py             # `make bench-load`; a few minutes
    python bench/load.py --users 2 --questions 3 --no-report   # a quick check of the script

The parts live beside it: ``load_scenario`` (the questions, the edit, the citation verdicts) and
``load_browser`` (part 1); part 2 and the report are here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/load.py`: import bench and qa from this work tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import CORPUS, ROOT  # noqa: E402
from bench.load_browser import browser_runs  # noqa: E402
from bench.load_scenario import (  # noqa: E402
    CHANGED_DOC,
    INSERT_BEFORE,
    PROBE,
    PROBE_WORDS,
    Run,
    Schedule,
    Shown,
    Turn,
    canonical_texts,
    edit_document,
    judge,
    questions_per_user,
)
from bench.report import machine_info, table, verdict  # noqa: E402
from bench.timing import log, pct, python_env  # noqa: E402

REPORT = ROOT / "docs" / "load.md"
TARGET_P95_S = 3.0


METHOD = f"""\
The edit inserts a section before `{INSERT_BEFORE}` of `{CHANGED_DOC}`, moving every offset after it; the last
question of each user, "{PROBE}", can only be answered from the new text, and is asked once the reindex is
over. Users get answerable and unanswerable questions of `tests/data/eval.jsonl`, mixed.

Latency: from pressing Enter to the answer (or abstention) drawn in the page, on the page's own clock (the
Enter keydown's time stamp to the animation frame after the answer's element appears, seen by a
MutationObserver; `tests/e2e/appdriver.py`); for the engine, the `Engine.ask` call. Citation verdicts
(`citation_verdict`): *current* = the quote is the current text at its offsets; *previous* = it is the text
before the edit at its offsets (answered from the old build), flagged as from a changed source if asked
after the edit; *unflagged* = such a citation without the flag; *wrong* = in neither
text. Bad citations = unflagged + wrong. In the browser, the quote is read from its quote box and the document
and offsets from the citation's share link (`?doc=…&start=…&end=…`); the texts are each index's canonical
text. The engine part also requires every quote to be the answering engine's own canonical text at its offsets."""


# ------------------------------------------------------------------ part 2: the engine


def engine_part(corpus: Path, index: Path, sessions: list[list[str]]) -> tuple[Run, Run]:
    from qa.engine import Engine, build

    current = {"engine": Engine.open(index, corpus=corpus)}
    current["engine"].ask(sessions[0][0])  # warm-up

    def user(u: int, qs: list[str], run: Run, schedule: Schedule | None = None) -> None:
        for i, q in enumerate(qs):
            if schedule and i == len(qs) - 1:
                schedule.reindexed.wait()
            turn = Turn(u, q, time.perf_counter())
            run.turns.append(turn)  # list.append is atomic under the GIL
            engine = current["engine"]  # the engine of the build that is current now
            try:
                answer = engine.ask(q)
            except Exception as exc:  # counted, not raised: the other threads go on
                turn.error = f"{type(exc).__name__}: {exc}"
                continue
            turn.seconds = time.perf_counter() - turn.submitted
            turn.abstained = answer.abstained
            turn.citations = [Shown(c.doc_id, c.start, c.end, c.quote, c.stale) for c in answer.citations]
            # Stricter than the verdict: the quote must be the answering engine's own text at the offsets.
            if any(engine.canonical_text(c.doc_id)[c.start : c.end] != c.quote for c in answer.citations):
                turn.error = "a quote differs from the answering engine's canonical text"
            if schedule:
                schedule.note_answer(run.turns)

    log(f"engine baseline: {sum(map(len, sessions))} questions in one thread, no reindex")
    alone = Run("Engine.ask, 1 thread, no reindex", [])
    for u, qs in enumerate(sessions):
        user(u, qs, alone)

    log(f"engine load: {len(sessions)} threads at once; qa.build in another thread after each has an answer")
    load = Run(f"Engine.ask, {len(sessions)} threads + reindex", [], concurrent=len(sessions))
    schedule = Schedule(len(sessions), threading.Event(), threading.Event())

    def reindex() -> None:
        schedule.answered.wait()
        edit_document(corpus)
        load.edited = time.perf_counter()
        try:
            build(corpus, index)
            current["engine"] = Engine.open(index, corpus=corpus)
        except Exception as exc:  # reported as a failed reindex; the users must not wait for ever
            load.reindex_error = f"{type(exc).__name__}: {exc}"
        finally:
            load.reindexed = (load.edited, time.perf_counter())
            schedule.reindexed.set()

    threads = [threading.Thread(target=user, args=(u, qs, load, schedule)) for u, qs in enumerate(sessions)]
    threads.append(threading.Thread(target=reindex))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return alone, load


# ------------------------------------------------------------------ report


def summary_row(run: Run, baseline: Run | None) -> list[object]:
    secs = [t.seconds for t in run.turns if t.seconds is not None]
    bad = sum(v in ("wrong", "unflagged") for t in run.turns for v in t.verdicts)
    p95 = pct(secs, 95)
    ratio = f"{p95 / pct([t.seconds for t in baseline.turns if t.seconds is not None], 95):.2f}" if baseline else "1.00"
    return [
        run.name,
        len(run.turns),
        sum(t.error is not None for t in run.turns),
        bad,
        f"{pct(secs, 50):.2f}",
        f"{p95:.2f}",
        f"{max(secs, default=float('nan')):.2f}",
        ratio,
    ]


def cost_row(run: Run) -> list[object]:
    n = max(len(run.turns), 1)
    app = [t.app_ms for t in run.turns if t.app_ms is not None]
    busy = (run.cpu.get("server", 0) + run.cpu.get("browser", 0)) / run.wall if run.wall else float("nan")
    # The users' CPU work shared evenly over the machine's cores, nothing else running.
    floor = run.concurrent * (run.cpu.get("server", 0) + run.cpu.get("browser", 0)) / n
    floor /= os.cpu_count() or 1
    return [
        run.name,
        f"{run.wall:.0f}",
        f"{run.cpu.get('server', 0) / n:.2f}",
        f"{run.cpu.get('browser', 0) / n:.2f}",
        f"{busy:.2f}",
        f"{floor:.2f}",
        f"{pct(app, 50):.0f} / {pct(app, 95):.0f}",
    ]


def detail_rows(run: Run) -> list[object]:
    verdicts = [v for t in run.turns for v in t.verdicts]
    during = "-"
    if run.reindexed:
        s, e = run.reindexed
        overlapping = sum(
            1 for t in run.turns if t.seconds is not None and t.submitted < e and t.submitted + t.seconds > s
        )
        during = f"{e - s:.1f} s, {overlapping} questions overlapped it"
    probe = [t for t in run.turns if t.question == PROBE]
    from_new = sum(any(PROBE_WORDS in c.quote for c in t.citations) for t in probe)
    return [
        run.name,
        len(verdicts),
        *(verdicts.count(k) for k in ("current", "previous", "unflagged", "wrong")),
        sum(t.abstained for t in run.turns),
        during,
        f"{from_new}/{len(probe)}" if probe else "-",
    ]


def errors_list(runs: list[Run]) -> list[str]:
    out = [f"- {r.name}: reindex failed: {r.reindex_error}" for r in runs if r.reindex_error]
    for r in runs:
        out += [f"- {r.name}, user {t.user}: {t.question!r}: {t.error}" for t in r.turns if t.error]
        out += [
            f"- {r.name}, user {t.user}: {t.question!r}: citation {c} is {v}"
            for t in r.turns
            for c, v in zip(t.citations, t.verdicts, strict=True)
            if v in ("wrong", "unflagged")
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--questions", type=int, default=10, help="per user (the last is the probe)")
    ap.add_argument("--no-report", action="store_true", help=f"print only; leave {REPORT.relative_to(ROOT)} alone")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    info = machine_info()
    print(f"# load test {info['date']}\n{info['machine']}\n{info['load']}\n", flush=True)
    sessions = questions_per_user(args.users, args.questions)
    loads: list[float] = []
    sampling = threading.Event()

    def sample_load() -> None:
        while not sampling.wait(5):
            loads.append(os.getloadavg()[0])

    threading.Thread(target=sample_load, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(CORPUS, tmp / "corpus")
        log("indexing a copy of corpus/")
        subprocess.run(
            [sys.executable, "-m", "qa", "index", "--corpus", str(tmp / "corpus"), "--index", str(tmp / "index")],
            cwd=ROOT,
            env=python_env(),
            check=True,
            capture_output=True,
        )
        old = canonical_texts(tmp / "index")
        for part in ("p1", "p2"):  # each part edits and re-indexes its own copy
            shutil.copytree(tmp / "corpus", tmp / part / "corpus")
            shutil.copytree(tmp / "index", tmp / part / "index", ignore=shutil.ignore_patterns(".lock"))

        log("part 1: streamlit run app.py")
        corpus, index = tmp / "p1" / "corpus", tmp / "p1" / "index"
        b_alone, b_load = browser_runs(corpus, index, tmp / "streamlit.log", sessions)
        server_log = (tmp / "streamlit.log").read_text(encoding="utf-8", errors="replace")
        tracebacks = server_log.count("Traceback")
        judge(b_alone, old, old)
        judge(b_load, old, canonical_texts(tmp / "p1" / "index"))

        log("part 2: Engine.ask in threads")
        e_alone, e_load = engine_part(tmp / "p2" / "corpus", tmp / "p2" / "index", sessions)
        judge(e_alone, old, old)
        judge(e_load, old, canonical_texts(tmp / "p2" / "index"))
    sampling.set()

    runs = [b_alone, b_load, e_alone, e_load]
    summary = table(
        ["run", "questions", "errors", "bad citations", "p50 s", "p95 s", "max s", "p95 / alone"],
        [
            summary_row(b_alone, None),
            summary_row(b_load, b_alone),
            summary_row(e_alone, None),
            summary_row(e_load, e_alone),
        ],
    )
    details = table(
        ["run", "citations", "current", "previous", "unflagged", "wrong", "abstentions", "reindex", "probe from new"],
        [detail_rows(r) for r in runs],
    )
    costs = table(
        [
            "browser run",
            "wall s",
            "server CPU s / question",
            "Chromium CPU s / question",
            "cores busy (both)",
            "CPU-bound s / question",
            "app ms p50 / p95",
        ],
        [cost_row(r) for r in (b_alone, b_load)],
    )
    b_secs = [t.seconds for t in b_load.turns if t.seconds is not None]
    b_errors = sum(t.error is not None for t in b_load.turns) + tracebacks + bool(b_load.reindex_error)
    all_bad = sum(v in ("wrong", "unflagged") for r in runs for t in r.turns for v in t.verdicts)
    all_errors = sum(t.error is not None for r in runs for t in r.turns) + tracebacks
    all_errors += sum(bool(r.reindex_error) for r in runs)
    unflagged_on_screen = b_load.sweep.get("outdated, not flagged", 0)
    n = len(b_load.turns)
    checks = table(
        ["target", "measured", "result"],
        [
            [
                f"{n} questions from {args.users} browser users with a concurrent reindex: 0 errors",
                f"{b_errors} (server tracebacks: {tracebacks})",
                verdict(b_errors == 0),
            ],
            [f"p95 <= {TARGET_P95_S:.0f} s", f"{pct(b_secs, 95):.2f} s", verdict(pct(b_secs, 95) <= TARGET_P95_S)],
            [
                "no answer quotes text that is not in the source it cites (both parts)",
                f"{all_bad} bad",
                verdict(all_bad == 0),
            ],
            [
                "after the reindex, citations on screen that no longer fit the source are flagged",
                f"{unflagged_on_screen} not flagged of {b_load.sweep.get('citations on screen', 0)}",
                verdict(unflagged_on_screen == 0),
            ],
            [
                "Engine.ask in threads with a concurrent qa.build: 0 errors",
                f"{sum(t.error is not None for t in e_load.turns) + bool(e_load.reindex_error)}",
                verdict(not any(t.error for t in e_load.turns) and not e_load.reindex_error),
            ],
        ],
    )
    problems = errors_list(runs)
    elapsed = time.perf_counter() - t_start
    load_line = info["load"] + (f"; 1-min load during the run {min(loads):.2f}-{max(loads):.2f}" if loads else "")
    command = "python bench/load.py" + "".join(
        f" --{k} {v}" for k, v in (("users", args.users), ("questions", args.questions)) if v != ap.get_default(k)
    )
    header = (
        f"- run: {info['date']}, `{command}` (`make bench-load`), {elapsed / 60:.1f} min\n"
        f"- machine: {info['machine']}; {load_line}\n"
        f"- software: {info['software']}\n- code: commit {info['commit']}"
    )
    swept = ", ".join(f"{k}: {v}" for k, v in b_load.sweep.items()) or "not swept (no question after the reindex)"
    parts = [
        "# Load test",
        header,
        __doc__.split("\n\n", 1)[1].split("\n\nUsage::")[0],
        METHOD,
        checks,
        summary,
        details,
        "Where the browser part's time goes: CPU seconds of the `streamlit run` process and of Chromium (with "
        "Playwright's driver) over each run, per question, and the time the app itself reports under each answer "
        "(its `Engine.ask` call, slowed by the rest of the load). CPU-bound = users at once x (server + "
        "Chromium CPU per question) / cores: what a question takes if that work shares this machine's cores evenly "
        "and nothing else runs (Chromium's part includes drawing pages while they wait, so it is an estimate, "
        "not a floor).",
        costs,
        f"Citations on screen at the end of the browser load run (turns redrawn after the reindex): {swept}.",
        "Problems:\n\n" + ("\n".join(problems) if problems else "none"),
    ]
    report = "\n\n".join(parts) + "\n"
    print("\n" + report, flush=True)
    if not args.no_report:
        REPORT.write_text(report, encoding="utf-8")
        log(f"wrote {REPORT.relative_to(ROOT)}")
    return 0 if all_errors == 0 and all_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
