"""The load test's scenario: the questions each user asks, the edit made while they ask, and how a citation
the user saw is judged against its source before and after the reindex. Part of bench/load.py; figures in
docs/load.md.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ROOT

EVAL = ROOT / "tests" / "data" / "eval.jsonl"
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
