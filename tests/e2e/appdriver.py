"""The real app under ``streamlit run``, driven in Debian's headless Chromium.

Shared by the browser test (``tests/e2e``) and the load test (``bench/load.py``):
how the app is started against a given corpus and index, how Chromium is
launched (never a downloaded browser), and how a question is typed and its
answer awaited.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 60

# How the page is read: Streamlit's test ids for the chat, and the app's own classes
# for an answer (a quote box) or an abstention.
CHAT_INPUT = "stChatInputTextArea"
CHAT_MESSAGE = "stChatMessage"
ANSWER_OR_ABSTENTION = ".qa-quote, .qa-abstain"


class AppStartError(RuntimeError):
    """``streamlit run`` exited or did not become healthy in time; the message holds its log tail."""


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    started: float  # time.perf_counter() just before `streamlit run` was launched
    healthy_after_s: float
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def index_is_current(index_dir: Path, corpus: Path) -> bool:
    """Whether the index was built with the bundled model from exactly this corpus (no model load)."""
    from qa.embedding import DEFAULT_MODEL
    from qa.errors import QAError
    from qa.index import read_manifest
    from qa.ingest import load_corpus

    try:
        manifest = read_manifest(index_dir)
    except QAError:
        return False
    indexed = {d: rec["sha256"] for d, rec in manifest.get("documents", {}).items()}
    on_disk = {d.doc_id: d.sha256 for d in load_corpus(corpus).documents}
    return manifest.get("model") == DEFAULT_MODEL and indexed == on_disk


@contextlib.contextmanager
def run_app(corpus: Path, index: Path, log_path: Path) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free port with the real model over ``corpus``/``index``; always stopped.

    Raises:
        AppStartError: the server exited or was not healthy within ``SERVER_START_TIMEOUT_S``.
    """
    port = free_port()
    env = {
        **os.environ,
        "QA_INDEX": str(index),
        "QA_CORPUS": str(corpus),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    env.pop("QA_MODEL", None)  # the real model, whatever the calling shell set
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    cmd = [python, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            healthy_after = _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, log_path, started)
            yield AppServer(f"http://127.0.0.1:{port}/", proc, started, healthy_after, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, started: float) -> float:
    deadline = started + SERVER_START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise AppStartError(f"streamlit exited with status {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AppStartError(f"streamlit did not answer {url} within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


# Measured in the page, on the page's clock: from the Enter keydown (``event.timeStamp``) to the first
# animation frame in which the answer (``done`` inside chat message ``index``) is in the layout. The
# watch is armed before the key is pressed, and a MutationObserver sees the element the moment it is
# inserted. Playwright's own waits poll with a back-off of up to 500 ms (``retryWithProgressAndBackoff``),
# which would land in the measured time, and a Python clock would add the driver's delay in sending
# the key and in hearing back, which grows when one driver runs many pages.
_ARM = """([index, done, timeoutMs]) => { window.__qaDrawn = new Promise((resolve, reject) => {
  let enter = null;
  document.addEventListener('keydown', e => { if (e.key === 'Enter') enter = e.timeStamp; },
                            {capture: true, once: true});
  const found = () => {
    const msg = document.querySelectorAll('[data-testid="stChatMessage"]')[index];
    const el = msg && msg.querySelector(done);
    return enter !== null && !!el && el.getClientRects().length > 0;
  };
  const seen = new MutationObserver(() => {
    if (found()) { seen.disconnect(); requestAnimationFrame(t => resolve((t - enter) / 1000)); }
  });
  seen.observe(document.body, {childList: true, subtree: true, attributes: true, characterData: true});
  setTimeout(() => { seen.disconnect(); reject(new Error(`no answer drawn within ${timeoutMs} ms`)); }, timeoutMs);
}); }"""


def ask(page, question: str, timeout_ms: int, *, done: str = ANSWER_OR_ABSTENTION) -> float:
    """Type a question, wait for its answer (or abstention: ``done``) to be drawn; seconds taken (see ``_ARM``)."""
    before = page.get_by_test_id(CHAT_MESSAGE).count()
    box = page.get_by_test_id(CHAT_INPUT)
    box.fill(question)
    page.evaluate(_ARM, [before + 1, done, timeout_ms])
    box.press("Enter")
    return page.evaluate("() => window.__qaDrawn")


def open_expander(page, summary) -> None:
    """Click an expander's ``summary`` and wait until it has stopped opening. Its height
    animates, and a click on a button inside it during the animation can miss and be lost
    (CI failed on it once; about one run in six here). A person clicks what has stopped
    moving: wait (up to 5 s) until the height holds for three readings 100 ms apart."""
    summary.click()
    expander = summary.locator("xpath=..")
    heights: list[float] = []
    for _ in range(50):
        page.wait_for_timeout(100)
        heights.append(expander.evaluate("e => e.getBoundingClientRect().height"))
        if len(heights) >= 3 and heights[-1] == heights[-2] == heights[-3] > 0:
            return


async def ask_async(page, question: str, timeout_ms: int, *, done: str = ANSWER_OR_ABSTENTION) -> float:
    """``ask`` for Playwright's async API (many pages driven from one thread); ``done`` is what ends the wait."""
    before = await page.get_by_test_id(CHAT_MESSAGE).count()
    box = page.get_by_test_id(CHAT_INPUT)
    await box.fill(question)
    await page.evaluate(_ARM, [before + 1, done, timeout_ms])
    await box.press("Enter")
    return await page.evaluate("() => window.__qaDrawn")
