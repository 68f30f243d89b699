"""Fixtures for the browser test: the real app under ``streamlit run`` and Debian's headless Chromium.

Chromium is never downloaded: Playwright drives ``/usr/bin/chromium`` (installed by
``make test`` from the Debian packages). Without it the test is skipped, except
under ``CI=true``, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SERVER_START_TIMEOUT_S = 60


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = (
            f"{CHROMIUM} is missing: install Debian's browser with "
            "`apt-get install -y chromium chromium-driver` (`make test` does this)"
        )
        if _in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return str(CHROMIUM)


def _index_is_current(index_dir: Path, corpus: Path) -> bool:
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


@pytest.fixture(scope="session")
def e2e_index(tmp_path_factory) -> Path:
    """A private copy of the repo's index of ``corpus/``; built first when missing or out of date."""
    target = tmp_path_factory.mktemp("e2e") / "embeddings"
    source = ROOT / "embeddings"
    if (source / "CURRENT").is_file():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock", ".tmp-build-*"))
    if not _index_is_current(target, ROOT / "corpus"):
        from qa.engine import build

        build(ROOT / "corpus", target)  # incremental: reuses every vector still valid
    return target


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    started: float  # time.perf_counter() just before `streamlit run` was launched
    healthy_after_s: float
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(chromium_path: str, e2e_index: Path, tmp_path_factory) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free port against the real corpus and model; always stopped."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {
        **os.environ,
        "QA_INDEX": str(e2e_index),
        "QA_CORPUS": str(ROOT / "corpus"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }
    env.pop("QA_MODEL", None)  # the real model, whatever the calling shell set
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    cmd = [
        python,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
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
            pytest.fail(f"streamlit exited with status {proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(
        f"streamlit did not answer {url} within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}", pytrace=False
    )


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item, so fixtures can tell a failed test at teardown.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, app_server: AppServer, request):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            # Leave evidence: what the browser showed and what the server said.
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            stem = ARTIFACTS / f"failure-{request.node.name}"
            page.screenshot(path=f"{stem}.png", full_page=True)
            stem.with_suffix(".log").write_text(
                f"url: {page.url}\n\n--- page text ---\n{page.inner_text('body')}\n\n"
                f"--- streamlit log ---\n{app_server.log.read_text()[-5000:]}"
            )
        context.close()
