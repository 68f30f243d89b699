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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from appdriver import ANSWER_OR_ABSTENTION, CHAT_INPUT, CHAT_MESSAGE, CHROMIUM, CHROMIUM_ARGS, ask_async, run_app
from perf import CORPUS, ROOT, log, machine_info, pct, python_env, table, verdict

EVAL = ROOT / "tests" / "data" / "eval.jsonl"
REPORT = ROOT / "docs" / "load.md"
TARGET_P95_S = 3.0
FIRST_ANSWER_TIMEOUT_MS = 180_000  # the app loads the model on its first question
ANSWER_TIMEOUT_MS = 60_000
# The edit: a new section above the abstract, so every offset after it moves and a
# citation answered from the old index no longer fits the new text at its offsets.
CHANGED_DOC = "space_diplomacy"
INSERT_BEFORE = "## Abstract"
INSERTED = (
    "## Note added by the load test\n\n"
    "The Lunar Parking Authority, set up in 2031, issues parking permits for rovers on the Moon.\n\n"
)
# Asked last by every user: only the new index can answer it from the inserted note.
PROBE = "Who issues parking permits for rovers on the Moon?"
PROBE_WORDS = "Lunar Parking Authority"
DONE = f'{ANSWER_OR_ABSTENTION}, [data-testid="stAlertContentError"], [data-testid="stException"]'
TOOLS_CAPTION = re.compile(r"· [\d,]+ ms$")  # the caption the app draws last in a turn


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


@dataclass(frozen=True)
class Shown:
    """A citation as the user saw it."""

    doc_id: str
    start: int
    end: int
    quote: str
    flagged: bool  # the "source changed" warning is shown with it


@dataclass
class Turn:
    user: int
    question: str
    submitted: float  # time.perf_counter() at submit
    seconds: float | None = None
    app_ms: float | None = None  # the time the app reports for the answer (Engine.ask in the server)
    error: str | None = None
    abstained: bool = False
    citations: list[Shown] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)


@dataclass
class Run:
    name: str
    turns: list[Turn]
    edited: float | None = None  # when the document was edited (perf_counter)
    reindexed: tuple[float, float] | None = None  # reindex start and end
    reindex_error: str | None = None
    sweep: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of the server and the browser in the run
    wall: float = 0.0
    concurrent: int = 1  # users (threads) asking at the same time


@dataclass
class Schedule:
    """The order of a load run: the reindex starts once every user has an answer (``answered``), and each
    user's last question, the probe, waits for the reindex to be over (``reindexed``), so every user also
    gets an answer from the new build. Events of ``asyncio`` (browser) or ``threading`` (engine)."""

    users: int
    answered: Any
    reindexed: Any

    def note_answer(self, turns: list[Turn]) -> None:
        if len({t.user for t in turns if t.seconds is not None}) >= self.users:
            self.answered.set()


def citation_verdict(c: Shown, old: str | None, new: str | None, *, asked_after_edit: bool) -> str:
    """How a shown citation stands against its document before and after the reindex.

    ``old``/``new``: the document's canonical text in the index before and after the
    reindex (None if it is not in that index); equal for the documents not edited.

    Returns:
        ``current``: the quote is the new text at its offsets.
        ``previous``: the quote is the old text at its offsets (answered from the index
            before the reindex) and, if the question came after the edit, it is flagged
            as from a changed source.
        ``unflagged``: as ``previous``, but not flagged although the file had changed.
        ``wrong``: the quote is in neither text at its offsets.
    """
    if new is not None and new[c.start : c.end] == c.quote and c.quote:
        return "current"
    if old is not None and old[c.start : c.end] == c.quote and c.quote:
        return "previous" if c.flagged or not asked_after_edit else "unflagged"
    return "wrong"


def eval_rows() -> list[dict]:
    return [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def questions_per_user(users: int, per_user: int) -> list[list[str]]:
    """Eval questions, answerable and unanswerable mixed (7:2 in 9), the probe last."""
    rows = eval_rows()
    yes = [r["question"] for r in rows if r["answerable"]]
    no = [r["question"] for r in rows if not r["answerable"]]
    out = []
    for u in range(users):
        n_no = round((per_user - 1) * 2 / 9)
        n_yes = per_user - 1 - n_no
        qs = [yes[(u * n_yes + j) % len(yes)] for j in range(n_yes)]
        qs += [no[(u * n_no + j) % len(no)] for j in range(n_no)]
        random.Random(u).shuffle(qs)
        out.append([*qs, PROBE][:per_user])
    return out


def edit_document(corpus: Path) -> None:
    path = corpus / f"{CHANGED_DOC}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(INSERT_BEFORE, INSERTED + INSERT_BEFORE, 1), encoding="utf-8")


def canonical_texts(index: Path) -> dict[str, str]:
    from qa.index import load_index

    return {d: doc.text for d, doc in load_index(index).documents.items()}


def judge(run: Run, old: dict[str, str], new: dict[str, str]) -> None:
    for t in run.turns:
        after = run.edited is not None and t.submitted > run.edited
        t.verdicts = [
            citation_verdict(c, old.get(c.doc_id), new.get(c.doc_id), asked_after_edit=after) for c in t.citations
        ]


# ------------------------------------------------------------------ part 1: the browser


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its children already reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            out[int(d.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / tick)
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a process and all its descendants, living or reaped."""
    stats = _proc_stats()
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo += [c for c, (parent, _) in stats.items() if parent == pid]
    return total


def cpu_probe(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app server and of the browser (Playwright's driver, Chromium under it)."""
    drivers = [
        pid
        for pid, (parent, _) in _proc_stats().items()
        if parent == os.getpid() and Path(f"/proc/{pid}/comm").read_text().startswith("node")
    ]
    return {"server": tree_cpu(server_pid), "browser": sum(tree_cpu(pid) for pid in drivers)}


def cpu_since(before: dict[str, float], server_pid: int) -> dict[str, float]:
    now = cpu_probe(server_pid)
    return {k: now[k] - before[k] for k in now}


# Reads one assistant turn. The quote is the text of its box without the label and the
# [n] marker, between the curly quotes the app draws; doc and offsets come from the
# citation's share link (?doc=…&start=…&end=…), the app's machine-readable address of a span.
READ_TURN = r"""msg => ({
  quotes: [...msg.querySelectorAll('.qa-quote')].map(q => {
    const c = q.cloneNode(true);
    c.querySelectorAll('.qa-label, .qa-marker').forEach(e => e.remove());
    return c.textContent;
  }),
  cites: [...msg.querySelectorAll('[data-testid="stExpander"]')].map(e => ({
    link: (e.querySelector('[data-testid="stCode"] code') || {}).textContent || '',
    flagged: !!e.querySelector('[data-testid="stAlertContentWarning"]'),
  })),
  abstained: !!msg.querySelector('.qa-abstain'),
  app_ms: [...msg.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .map(e => (e.textContent.match(/· ([\d,]+) ms$/) || [])[1]).filter(Boolean).map(x => +x.replace(/,/g, ''))[0],
  errors: [...msg.querySelectorAll('[data-testid="stAlertContentError"], [data-testid="stException"]')]
    .map(e => e.textContent),
})"""


def parse_turn(raw: dict) -> tuple[list[Shown], str | None]:
    """The citations of a turn read by READ_TURN, or an error if the page does not add up."""
    if raw["errors"]:
        return [], "error shown: " + " | ".join(raw["errors"])[:300]
    if len(raw["quotes"]) != len(raw["cites"]):
        return [], f"{len(raw['quotes'])} quotes but {len(raw['cites'])} citations shown"
    shown = []
    for quote, cite in zip(raw["quotes"], raw["cites"], strict=True):
        query = parse_qs(urlsplit(cite["link"].strip()).query)
        if not (quote.startswith("“") and quote.endswith("”")) or not {"doc", "start", "end"} <= query.keys():
            return [], f"unreadable citation: {quote[:80]!r} {cite['link']!r}"
        shown.append(Shown(query["doc"][0], int(query["start"][0]), int(query["end"][0]), quote[1:-1], cite["flagged"]))
    return shown, None


async def read_turn(page, index: int) -> dict:
    return await page.get_by_test_id(CHAT_MESSAGE).nth(index).evaluate(READ_TURN)


async def read_answer(page, index: int) -> dict:
    """READ_TURN of a drawn answer once its citations are complete (share links fill in a moment late)."""
    message = page.get_by_test_id(CHAT_MESSAGE).nth(index)
    raw = await read_turn(page, index)
    if raw["errors"]:
        return raw
    await message.get_by_text(TOOLS_CAPTION).wait_for(timeout=ANSWER_TIMEOUT_MS)  # drawn last in a turn
    for _ in range(100):
        raw = await read_turn(page, index)
        if all(c["link"] for c in raw["cites"]):
            break
        await asyncio.sleep(0.05)
    return raw


async def browser_user(
    browser, url: str, user: int, questions: list[str], turns: list[Turn], schedule: Schedule | None = None
):
    """One user in its own browser context: opens the app and asks its questions in turn.

    Returns the page and its context, still open.
    """
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(url, timeout=60_000)
        await page.get_by_test_id(CHAT_INPUT).wait_for(timeout=FIRST_ANSWER_TIMEOUT_MS)
        for i, q in enumerate(questions):
            if schedule and i == len(questions) - 1:
                await schedule.reindexed.wait()
            turn = Turn(user, q, time.perf_counter())
            turns.append(turn)
            before = await page.get_by_test_id(CHAT_MESSAGE).count()
            try:
                turn.seconds = await ask_async(page, q, ANSWER_TIMEOUT_MS, done=DONE)
                raw = await read_answer(page, before + 1)
                turn.citations, turn.error = parse_turn(raw)
                turn.abstained = raw["abstained"]
                turn.app_ms = raw.get("app_ms")
                if await page.get_by_test_id("stException").count():
                    turn.error = turn.error or "exception shown on the page"
            except Exception as exc:  # a timeout or a broken page is a failed question, not a crash
                turn.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            if schedule:
                schedule.note_answer(turns)
        return page, context
    except Exception:
        await context.close()
        raise


async def sweep(page, run: Run, new: dict[str, str]) -> None:
    """After the reindex, every citation still on screen that no longer fits the current text must be flagged."""
    count = await page.get_by_test_id(CHAT_MESSAGE).count()
    for i in range(1, count, 2):
        shown, _ = parse_turn(await read_turn(page, i))
        for c in shown:
            if new.get(c.doc_id, "")[c.start : c.end] != c.quote:
                key = "outdated, flagged" if c.flagged else "outdated, not flagged"
                run.sweep[key] = run.sweep.get(key, 0) + 1
        run.sweep["citations on screen"] = run.sweep.get("citations on screen", 0) + len(shown)


async def browser_part(url: str, server_pid: int, sessions: list[list[str]], corpus: Path, index: Path):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            log("warm-up: the app loads the model on its first question")
            warm: list[Turn] = []
            page, context = await browser_user(browser, url, -1, [sessions[0][0]], warm)
            await context.close()
            if warm[0].error:
                raise RuntimeError(f"the warm-up question failed: {warm[0].error}")

            log(f"baseline: {sum(map(len, sessions))} questions, one user at a time, no reindex")
            alone = Run("browser, 1 user, no reindex", [])
            cpu, t0 = cpu_probe(server_pid), time.perf_counter()
            for u, qs in enumerate(sessions):
                page, context = await browser_user(browser, url, u, qs, alone.turns)
                await context.close()
            alone.cpu, alone.wall = cpu_since(cpu, server_pid), time.perf_counter() - t0

            log(f"load: {len(sessions)} users at once; reindex after each has an answer")
            load = Run(f"browser, {len(sessions)} users + reindex", [], concurrent=len(sessions))
            schedule = Schedule(len(sessions), asyncio.Event(), asyncio.Event())
            cmd = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(index)]

            async def reindex() -> None:
                await schedule.answered.wait()
                edit_document(corpus)
                load.edited = time.perf_counter()
                log("edited the document; reindexing")
                try:
                    proc = await asyncio.create_subprocess_exec(
                        *cmd, cwd=ROOT, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                    )
                    out = (await proc.communicate())[0].decode(errors="replace").strip()
                    if proc.returncode:
                        load.reindex_error = f"exit {proc.returncode}: {out[-500:]}"
                finally:
                    load.reindexed = (load.edited, time.perf_counter())
                    schedule.reindexed.set()
                log(f"reindex done in {load.reindexed[1] - load.reindexed[0]:.1f} s: {out[-200:]}")

            users = [browser_user(browser, url, u, qs, load.turns, schedule) for u, qs in enumerate(sessions)]
            cpu, t0 = cpu_probe(server_pid), time.perf_counter()
            *opened, _ = await asyncio.gather(*users, reindex())
            load.cpu, load.wall = cpu_since(cpu, server_pid), time.perf_counter() - t0
            new = canonical_texts(index)
            for u, (page, context) in enumerate(opened):
                # Only a page that ran a question after the reindex has redrawn its history with the new build.
                if load.reindexed and any(t.user == u and t.submitted > load.reindexed[1] for t in load.turns):
                    await sweep(page, load, new)
                    load.sweep["users swept"] = load.sweep.get("users swept", 0) + 1
                await context.close()
        finally:
            await browser.close()
    return alone, load


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
        with run_app(corpus, index, tmp / "streamlit.log") as server:
            b_alone, b_load = asyncio.run(browser_part(server.url, server.process.pid, sessions, corpus, index))
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
