"""Make the round-3 labelling work files from the real texts under `datasets/sources/real_texts`.

Run once by a maintainer (seeded, reproducible):

    python -m training.data_prep.round3_inputs

Writes `datasets/labelling/round3/input/<chunk>.csv` (one item per source row: `item, file,
row, text, description, kind, source_code`) and the blind double-coding sample
`datasets/labelling/round3/second_coder/sample_<language>.csv` (texts only, no labels).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from iccs.paths import PROJECT_ROOT

SOURCES = PROJECT_ROOT / "datasets" / "sources" / "real_texts" / "unlabelled"
WORK = PROJECT_ROOT / "datasets" / "labelling" / "round3"
# chunk name -> the files it holds (Korean court names are split into five equal parts)
CHUNKS: dict[str, list[str]] = {
    "es1": [
        "es_ar_codigo_penal.csv",
        "es_ar_leyes_penales_especiales.csv",
        "es_uy_leyes_penales.csv",
    ],
    "es2": [
        "es_mx_chihuahua_codigo_penal.csv",
        "es_mx_sesnsp_incidencia_delictiva.csv",
        "es_co_policia_delitos.csv",
        "es_ec_policia_categorias.csv",
    ],
    "es3": ["es_pe_fiscalia_delitos.csv", "es_pe_codigo_penal_headings.csv"],
    "es4": ["es_pe_leyes_penales_especiales.csv"],
    "en1": ["en_us_nibrs_offences.csv", "en_in_ipc_offences.csv", "en_in_bns_section_titles.csv"],
}
KOREAN = ["ko_kr_court_charge_names.csv", "ko_kr_criminal_act_headings.csv"]
KOREAN_PARTS = 5
SAMPLE_SIZES = {"ko": 330, "es": 330, "en": 220}  # more than 300/300/200: some rows drop out
FIELDS = ["item", "file", "row", "text", "description", "kind", "source_code"]


def _items(file: str) -> list[dict[str, str]]:
    with (SOURCES / file).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    stem = file.removesuffix(".csv")
    return [
        {
            "item": f"{stem}:{i:05d}",
            "file": file,
            "row": str(i),
            "text": r["text"],
            "description": r.get("description", ""),
            "kind": r.get("kind", ""),
            "source_code": r.get("source_code", ""),
        }
        for i, r in enumerate(rows)
    ]


def _write(path: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    chunks = {name: [i for f in files for i in _items(f)] for name, files in CHUNKS.items()}
    korean = [i for f in KOREAN for i in _items(f)]
    size = -(-len(korean) // KOREAN_PARTS)
    for part in range(KOREAN_PARTS):
        chunks[f"ko{part + 1}"] = korean[part * size : (part + 1) * size]
    by_language: dict[str, list[dict[str, str]]] = {"ko": [], "es": [], "en": []}
    for name, items in sorted(chunks.items()):
        _write(WORK / "input" / f"{name}.csv", items, FIELDS)
        by_language[name[:2]].extend(items)
        print(f"{name}: {len(items)} items")
    rng = random.Random(20261204)
    for language, items in by_language.items():
        sample = sorted(rng.sample(items, SAMPLE_SIZES[language]), key=lambda i: i["item"])
        _write(WORK / "second_coder" / f"sample_{language}.csv", sample, FIELDS)


if __name__ == "__main__":
    main()
