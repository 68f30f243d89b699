"""Part 1 of the load test, the browser: users in headless Chromium contexts asking the real app, reading
each answer and its citations off the page, and the CPU time of the server and the browser. Part of
bench/load.py; figures in docs/load.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench import ROOT
from bench.load_scenario import Run, Schedule, Shown, Turn, canonical_texts, edit_document
from bench.timing import log, python_env

sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # appdriver: how the browser test starts and drives the app
from appdriver import (  # noqa: E402
    ANSWER_OR_ABSTENTION,
    CHAT_INPUT,
    CHAT_MESSAGE,
    CHROMIUM,
    CHROMIUM_ARGS,
    ask_async,
    run_app,
)

FIRST_ANSWER_TIMEOUT_MS = 180_000  # the app loads the model on its first question
ANSWER_TIMEOUT_MS = 60_000
DONE = f'{ANSWER_OR_ABSTENTION}, [data-testid="stAlertContentError"], [data-testid="stException"]'
TOOLS_CAPTION = re.compile(r"· [\d,]+ ms$")  # the caption the app draws last in a turn


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
# Every citation is an expander; so is the list of runners-up, which is left out.
READ_TURN = r"""msg => ({
  quotes: [...msg.querySelectorAll('.qa-quote')].map(q => {
    const c = q.cloneNode(true);
    c.querySelectorAll('.qa-label, .qa-marker').forEach(e => e.remove());
    return c.textContent;
  }),
  cites: [...msg.querySelectorAll('[data-testid="stExpander"]')]
    .filter(e => !(e.querySelector('summary') || e).textContent.includes('Runners-up'))
    .map(e => ({
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


def browser_runs(corpus: Path, index: Path, server_log: Path, sessions: list[list[str]]) -> tuple[Run, Run]:
    """Part 1: the app under ``streamlit run`` (its log to ``server_log``), one user at a time, then all at once."""
    with run_app(corpus, index, server_log) as server:
        return asyncio.run(browser_part(server.url, server.process.pid, sessions, corpus, index))
