"""The learned answer selector: P(this span answers the question).

A cross-encoder fine-tuned from the packaged all-MiniLM-L6-v2 weights on public
question-answering data (``bench/train_selector.py``; data, licences and figures in
``models/answer-selector/README.md``). It reads the question and one candidate
span, with the span's locator as context, in a single pass, so it can judge
paraphrase where the bi-encoder's cosine and term overlap cannot.

Loaded from a local folder only, never downloaded. At query time it runs with
int8 dynamic quantisation of its linear layers, which is what keeps a few dozen
pairs within the latency budget on two CPU cores (docs/performance.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import QAError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SELECTOR = ROOT / "models" / "answer-selector"
MAX_LENGTH = 128


def selector_input(locator: str, span: str) -> str:
    """The second segment the selector reads: the span with its locator as context
    ("Outer Space Treaty › Article IV" tells which treaty a sentence belongs to).
    Training and inference both build it here, so they cannot drift apart."""
    return f"{locator} › {span}" if locator else span


class Selector:
    """Scores (question, candidate) pairs; ``probabilities`` is thread-safe.

    Example:
        >>> sel = load_selector()                                       # doctest: +SKIP
        >>> sel.probabilities("Who wrote it?", ["Hart, B. (2007). ..."])  # doctest: +SKIP
        array([0.93], dtype=float32)
    """

    def __init__(self, path: str | Path, *, quantize: bool = True) -> None:
        path = Path(path)
        if not (path / "config.json").is_file():
            raise QAError(
                f"no answer selector at {path}: expected config.json and model.safetensors there "
                "(shipped in models/answer-selector/; train one with bench/train_selector.py)"
            )
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        self.path = path
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True, dtype=torch.float32
        ).eval()
        if quantize:
            import warnings

            with warnings.catch_warnings():  # the eager API is deprecated in favour of torchao, not removed
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        # Tokenizers and torch modules are not documented as safe under concurrent calls.
        self._lock = threading.Lock()

    def logits(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """Raw scores of ``texts`` as answers to ``question`` (one per text)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            enc = self.tokenizer(
                [question] * len(texts),
                list(texts),
                # The span is cut first; a question too long to leave it room is cut too
                # ("only_second" raises then, and questions may run to 2,000 characters).
                truncation="longest_first",
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            return self.model(**enc).logits[:, 0].float().numpy()

    def probabilities(self, question: str, texts: Sequence[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(question, texts)))


@lru_cache(maxsize=2)
def _load(path: str) -> Selector:
    return Selector(path)


def load_selector(path: str | Path | None = None) -> Selector | None:
    """The selector at ``path`` (default ``$QA_SELECTOR`` or ``models/answer-selector``),
    loaded once per process; ``None`` when ``$QA_SELECTOR`` is ``none`` (the
    feature-only answerer that fast tests and baselines use)."""
    chosen = str(path) if path is not None else os.environ.get("QA_SELECTOR", str(DEFAULT_SELECTOR))
    if chosen.lower() == "none":
        return None
    return _load(chosen)
