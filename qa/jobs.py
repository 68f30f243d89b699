"""Index updates in the background: one thread per update, one update per index folder.

The app (``app.py``) runs uploads, removals and rebuilds this way so that a page reload does
not stop a build halfway and questions are answered meanwhile (docs/reliability.md, section 18).
No Streamlit here: the thread must make no Streamlit call, and the logic is testable alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class IndexJob:
    """One index update (an upload, a removal, a rebuild) running in a thread of its own, so
    that what started it (the app's page) can go on and poll ``done``/``total``, then collect
    ``result`` or ``error`` when it has finished. A build writes the new index beside the
    current one and switches at the end, so questions are answered from the current index
    meanwhile."""

    def __init__(
        self,
        kind: str,
        label: str,
        work: Callable[[Callable[[int, int], None]], Any],
        *,
        before: str | None = None,
        doc_id: str | None = None,
    ) -> None:
        self.kind, self.label = kind, label
        self.before = before  # the build current when the job started: its cached engine is dropped after
        self.doc_id = doc_id  # the document a removal removes
        self.done = self.total = 0
        self.result: Any = None
        self.error: BaseException | None = None
        self._work = work
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"qa-index-{kind}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._work(self._progress)
        except BaseException as exc:  # not hidden: the page that started the job shows it, or raises it again
            self.error = exc
        finally:
            self._finished.set()

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (tests); False if ``timeout`` passed first."""
        return self._finished.wait(timeout)


class IndexJobs:
    """The running index update of each index folder, shared by every session of the process:
    one at a time per index (a second build would only meet the index lock), and every tab
    sees its progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, IndexJob] = {}

    def running(self, index_dir: Path | str) -> IndexJob | None:
        job = self._jobs.get(str(Path(index_dir).resolve()))
        return job if job is not None and not job.finished else None

    def start(self, index_dir: Path | str, job: IndexJob) -> bool:
        """Start ``job`` unless another update of ``index_dir`` is running (then False)."""
        with self._lock:
            if self.running(index_dir) is not None:
                return False
            self._jobs[str(Path(index_dir).resolve())] = job
            job.start()
            return True
