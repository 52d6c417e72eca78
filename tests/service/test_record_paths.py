"""One record per text, whichever way it travels: HTTP, a batch job, `iccs classify`, Ray.

The same texts, in a different order on each path and in several spellings (case, accents,
extra spaces, abbreviations, compatibility forms), go through all four. Once each transport's
own fields (ids, the stored row's id) are taken off, every text's record must be the same
bytes as the core's `classify_texts` gives, on every path and for every spelling.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iccs.bundle import load_bundle
from iccs.cli import app as iccs_app
from iccs.hierarchy import NONE_CODE
from iccs.predict import classify_texts
from iccs.serving import model_versions
from iccs.taxonomy import load_taxonomy
from tests.service.conftest import Service
from tests.service.test_batches import submit, worker

pytestmark = pytest.mark.ray

TOP_K = 3
# Each group: one text and spellings of it that the model sees alike.
SPELLINGS: list[list[str]] = [
    [
        "theft of a pedal cycle from outside the station",
        "THEFT OF A PEDAL CYCLE FROM OUTSIDE THE STATION",
        "  theft of a   pedal cycle\tfrom outside the station ",
    ],
    [
        "Robo con violencia de un teléfono celular",
        "ROBO CON VIOLENCIA DE UN TELEFONO CELULAR",
        "robo  con violencia de un telefono celular",
    ],
    [
        "Hurto de celular en la vía pública sin violencia",
        "hurto de celular en la VIA PUBLICA s/violencia",
    ],
    ["POSS W/I TO SUPPLY heroin", "possess with intent to supply heroin"],
    ["휴대전화 절도", "  휴대전화   절도 ", "휴대전화 절도\u3000"],
    ["음주운전", " 음주운전  "],
    ["lost wallet reported, no crime", "Lost Wallet Reported,  No Crime"],
    [
        "ＤＲＩＮＫ ＤＲＩＶＩＮＧ over the prescribed limit",  # full-width letters
        "drink driving over the prescribed limit",
    ],
]
TEXTS = [text for group in SPELLINGS for text in group]


def shuffled(seed: int) -> list[str]:
    texts = list(TEXTS)
    random.Random(seed).shuffle(texts)
    return texts


def write_csv(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "offence"])
        writer.writerows([str(n), text] for n, text in enumerate(texts))
    return path


def record_bytes(record: dict[str, Any], *transport: str) -> str:
    """The record as the one serialiser writes it, without the transport's own fields."""
    return json.dumps({k: v for k, v in record.items() if k not in transport}, ensure_ascii=False)


def by_http(svc: Service, texts: list[str]) -> dict[str, str]:
    items = [{"id": str(n), "text": text} for n, text in enumerate(texts)]
    response = svc.client.post(
        "/v1/classify", json={"items": items, "top_k": TOP_K}, headers=svc.headers()
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return {
        texts[int(r["id"])]: record_bytes(r, "classification_id", "id", "case_id") for r in results
    }


def by_batch_job(svc: Service, source: Path, texts: list[str]) -> dict[str, str]:
    queued = submit(svc, source.read_bytes(), top_k=str(TOP_K))
    assert worker(svc).run_once() == "succeeded"
    response = svc.client.get(f"/v1/batches/{queued['id']}/results", headers=svc.headers())
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    return {texts[int(r["id"])]: record_bytes(r, "id") for r in lines}


def by_cli(source: Path, output: Path, bundle: Path, texts: list[str], *engine: str) -> dict:
    result = CliRunner().invoke(
        iccs_app,
        [
            "classify",
            str(source),
            "--output",
            str(output),
            "--id-column",
            "case_id",
            "--text-column",
            "offence",
            "--top-k",
            str(TOP_K),
            "--model",
            str(bundle),
            *engine,
        ],
        env={"COLUMNS": "200", "ICCS_DATABASE_URL": ""},
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    return {texts[int(r["id"])]: record_bytes(r, "id") for r in lines}


def test_every_path_gives_the_same_record_bytes(
    tmp_path: Path, tiny_bundle: Path, svc: Service
) -> None:
    pytest.importorskip("ray")
    orders = [shuffled(seed) for seed in range(4)]
    sources = [write_csv(tmp_path / f"in{n}.csv", texts) for n, texts in enumerate(orders)]
    paths = {
        "http": by_http(svc, orders[0]),
        "batch job": by_batch_job(svc, sources[1], orders[1]),
        "iccs classify": by_cli(sources[2], tmp_path / "cli.jsonl", tiny_bundle, orders[2]),
        "ray": by_cli(
            sources[3],
            tmp_path / "ray.jsonl",
            tiny_bundle,
            orders[3],
            "--engine",
            "ray",
            "--workers",
            "1",
        ),
    }
    model, metadata = load_bundle(tiny_bundle)
    core = classify_texts(model, TEXTS, top_k=TOP_K, versions=model_versions(metadata))
    expected = {text: record.to_json() for text, record in zip(TEXTS, core, strict=True)}
    for name, got in paths.items():
        assert got == expected, name
    for group in SPELLINGS:
        assert len({expected[text] for text in group}) == 1, group
    records = [json.loads(expected[group[0]]) for group in SPELLINGS]
    assert all(r["source"] == "model" and r["suggestions"] for r in records)
    taxonomy = load_taxonomy()
    for group, language in ((SPELLINGS[0], "en"), (SPELLINGS[1], "es")):
        first = json.loads(expected[group[0]])["suggestions"][0]
        if first["code"] != NONE_CODE:
            assert first["title"] == taxonomy.get(first["code"]).title(language)
            assert first["path"][-1] == {"code": first["code"], "title": first["title"]}
