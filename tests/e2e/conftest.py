"""Fixtures for the browser test: the real app under ``streamlit run`` and Debian's headless Chromium.

Chromium is never downloaded: Playwright drives ``/usr/bin/chromium`` (installed by
``make test`` from the Debian packages). Without it the test is skipped, except
under ``CI=true``, where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from appdriver import CHROMIUM, CHROMIUM_ARGS, ROOT, AppServer, AppStartError, index_is_current, run_app

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


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


@pytest.fixture(scope="session")
def e2e_index(tmp_path_factory) -> Path:
    """A private copy of the repo's index of ``corpus/``; built first when missing or out of date."""
    target = tmp_path_factory.mktemp("e2e") / "embeddings"
    source = ROOT / "embeddings"
    if (source / "CURRENT").is_file():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock", ".tmp-build-*"))
    if not index_is_current(target, ROOT / "corpus"):
        from qa.engine import build

        build(ROOT / "corpus", target)  # incremental: reuses every vector still valid
    return target


@pytest.fixture(scope="session")
def app_server(chromium_path: str, e2e_index: Path, tmp_path_factory) -> Iterator[AppServer]:
    """``streamlit run app.py`` on a free port against the real corpus and model; always stopped."""
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    try:
        with run_app(ROOT / "corpus", e2e_index, log_path) as server:
            yield server
    except AppStartError as exc:
        pytest.fail(str(exc), pytrace=False)


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
