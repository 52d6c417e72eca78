"""Bulk engine: formats, rejects, dedupe, summary, and resume after an interruption."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iccs.bulk import (
    BulkJob,
    Cancelled,
    InputError,
    LocalSuggester,
    ResumeError,
    classify_file,
    run_bulk,
)
from iccs.bulk.checkpoint import FileCheckpointStore, checkpoint_path
from iccs.bulk.progress import LogProgress
from iccs.classifier import ICCSClassifier
from iccs.records import ClassificationRecord, Versions

VERSION = "iccs-classifier:tiny-1"
TEXTS = [
    "stole a bicycle from the shed",
    "common assault by beating",
    "possession of cannabis for personal use",
    "drink driving over the prescribed limit",
    "Robo con violencia de un teléfono celular",
    "휴대전화 절도",
]


class CountingSuggester(LocalSuggester):
    """Counts texts sent to the model; can interrupt the run after some calls."""

    def __init__(self, model: ICCSClassifier, interrupt_after: int | None = None) -> None:
        super().__init__(model)
        self.texts: list[str] = []
        self.calls, self.interrupt_after = 0, interrupt_after

    def records(
        self, texts: Sequence[str], top_k: int, versions: Versions
    ) -> list[ClassificationRecord]:
        self.calls += 1
        if self.interrupt_after is not None and self.calls > self.interrupt_after:
            raise KeyboardInterrupt
        self.texts += texts
        return super().records(texts, top_k, versions)


def write_csv(
    path: Path, rows: list[list[str]], header: Sequence[str] = ("id", "text", "unit")
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def backlog(path: Path, rows: int, distinct: int = 40) -> Path:
    """Repetitive backlog: every text comes back with other spacing and case."""
    variants = [str, str.upper, lambda t: "  " + t.replace(" ", "  ") + " "]
    return write_csv(
        path,
        [
            [
                f"R{i}",
                variants[i % 3](f"{TEXTS[i % distinct % len(TEXTS)]} case {i % distinct}"),
                f"u{i % 7}",
            ]
            for i in range(rows)
        ],
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def job(source: Path, output: Path, **options: object) -> BulkJob:
    return BulkJob(input=source, output=output, model_version=VERSION, **options)  # type: ignore[arg-type]


def test_jsonl_keeps_the_contract_order_and_string_ids(tmp_path: Path, tiny_model) -> None:
    source = write_csv(tmp_path / "in.csv", [["007", t, "x"] for t in TEXTS])
    summary = classify_file(tiny_model, VERSION, source, tmp_path / "out.jsonl", top_k=2)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == ["007"] * len(TEXTS)
    assert list(records[0]) == [
        "id",
        "suggestions",
        "needs_review",
        "backed_off",
        "fallback",
        "tags",
        "model_version",
        "taxonomy_version",
        "source",
    ]
    assert [t["tag"] for t in records[0]["tags"]] == ["cyber", "attempt", "weapon", "context"]
    first = records[0]["suggestions"][0]
    assert list(first) == ["code", "title", "level", "path", "confidence"]
    assert first["path"][-1] == {"code": first["code"], "title": first["title"]}
    assert first["code"].startswith("05") and records[1]["suggestions"][0]["code"].startswith("02")
    assert all(len(r["suggestions"]) == 2 and r["model_version"] == VERSION for r in records)
    assert summary.rows == len(TEXTS) and summary.distinct_texts == len(TEXTS)
    assert not (tmp_path / "out.jsonl.partial").exists()
    assert not checkpoint_path(tmp_path / "out.jsonl").exists()


def test_each_distinct_normalised_text_is_classified_once(tmp_path: Path, tiny_model) -> None:
    source = backlog(tmp_path / "in.csv", 3000)
    suggester = CountingSuggester(tiny_model)
    summary = run_bulk(job(source, tmp_path / "out.jsonl", chunk_size=256), suggester)
    assert summary.rows == 3000
    assert len(suggester.texts) == summary.distinct_texts == 40  # case and spacing folded
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == [f"R{i}" for i in range(3000)]
    same = [r["suggestions"] for r in records[::40]]  # rows 0, 40, 80 ... share one text
    assert all(s == same[0] for s in same)


def test_bad_rows_are_rejected_with_a_reason_and_the_run_goes_on(
    tmp_path: Path, tiny_model
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(
        b"id,text,unit\n"
        b"1,stole a bicycle,a\n"
        b"2,,b\n"
        b"3,\xff\xfe broken bytes,c\n"
        b"4," + b"x" * 60 + b",d\n"
        b"5,too,many,fields\n"
        b"6,   ,f\n"
        b"7,common assault,g\n"
    )
    summary = run_bulk(
        job(source, tmp_path / "out.csv", max_text_length=50), LocalSuggester(tiny_model)
    )
    assert summary.rows == 7 and summary.rejected == 5
    with (tmp_path / "out.csv.rejects.csv").open(encoding="utf-8", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["row"], r["id"]) for r in rejects] == [
        ("2", "2"),
        ("3", "3"),
        ("4", "4"),
        ("5", "5"),
        ("6", "6"),
    ]
    reasons = [r["reason"] for r in rejects]
    assert reasons[0] == "missing text" and reasons[4] == "missing text"
    assert "undecodable" in reasons[1] and "longer than 50" in reasons[2]
    assert reasons[3] == "expected 3 fields, found 4"
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 8)]  # every row, in order
    assert rows[0]["iccs_code_1"] and rows[6]["iccs_code_1"]
    assert all(r["iccs_code_1"] == "" and r["needs_review"] == "true" for r in rows[1:6])


def test_jsonl_rejects_carry_the_reason(tmp_path: Path, tiny_model) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "text": "stole a bicycle"}\nnot json\n{"id": 3}\n', encoding="utf-8"
    )
    run_bulk(job(source, tmp_path / "out.jsonl"), LocalSuggester(tiny_model))
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == [1, "", 3]  # JSON ids keep their type
    assert (
        records[1]["rejected"].startswith("not JSON") and records[2]["rejected"] == "missing text"
    )
    assert records[2]["suggestions"] == [] and records[2]["needs_review"] is True


@pytest.mark.parametrize("output", ["out.jsonl", "out.csv"])
def test_nul_and_lone_surrogates_reject_their_row_only(
    tmp_path: Path, tiny_model, output: str
) -> None:
    """No database stores NUL and no encoder takes a lone surrogate: the row is rejected."""
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "1", "text": "stole a bicycle"},
        {"id": "2", "text": "stole a bicycle\u0000 twice"},
        {"id": "3\u0000", "text": "common assault"},
        {"id": "4", "text": "stole a \ud800 bicycle"},
        {"id": "5\udfff", "text": "common assault"},
        {"id": "6", "text": "stole a bicycle \ud83d\udeb2"},  # a pair: one character, fine
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = run_bulk(job(source, tmp_path / output), LocalSuggester(tiny_model))
    assert summary.rows == 6 and summary.rejected == 4
    with (tmp_path / f"{output}.rejects.csv").open(encoding="utf-8", newline="") as handle:
        reasons = [r["reason"] for r in csv.DictReader(handle)]
    assert reasons == [
        "text contains a NUL character",
        "id contains a NUL character",
        "text contains a lone surrogate",
        "id contains a lone surrogate",
    ]
    text = (tmp_path / output).read_text(encoding="utf-8")  # valid UTF-8 throughout
    assert "\ufffd" in text
    if output.endswith(".jsonl"):
        records = read_jsonl(tmp_path / output)
        assert [bool(r.get("rejected")) for r in records] == [False, True, True, True, True, False]


def test_csv_output_keeps_every_input_column(tmp_path: Path, tiny_model) -> None:
    source = tmp_path / "in.tsv"
    source.write_text(
        "unit\tid\ttext\nA\t1\tstole a bicycle\nB\t2\tcommon assault\n", encoding="utf-8"
    )
    run_bulk(job(source, tmp_path / "out.csv", top_k=2), LocalSuggester(tiny_model))
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header, *rows = list(reader)
    assert header == [
        "unit", "id", "text", "iccs_code_1", "confidence_1", "iccs_code_2", "confidence_2",
        "needs_review", "model_version", "tag_cyber", "tag_attempt", "tag_weapon", "tag_context",
    ]  # fmt: skip
    assert rows[0][:3] == ["A", "1", "stole a bicycle"] and rows[1][:3] == [
        "B",
        "2",
        "common assault",
    ]
    assert 0.0 <= float(rows[0][4]) <= 1.0 and rows[0][7] in {"true", "false"}


def test_parquet_in_and_out_keep_column_types(tmp_path: Path, tiny_model) -> None:
    table = pa.table(
        {"id": [10, 11, 12], "text": [TEXTS[0], None, TEXTS[1]], "weight": [1.5, 2.0, 3.0]}
    )
    pq.write_table(table, tmp_path / "in.parquet")
    summary = run_bulk(
        job(tmp_path / "in.parquet", tmp_path / "out.parquet"), LocalSuggester(tiny_model)
    )
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("id").to_pylist() == [10, 11, 12]
    assert out.schema.field("weight").type == pa.float64()
    assert out.column("iccs_code_1").to_pylist()[1] is None
    assert out.column("needs_review").to_pylist()[1] is True
    assert summary.rejected == 1 and not (tmp_path / "out.parquet.parts").exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("id,body\n1,x\n", "in.csv", "column(s) 'text' not found"),
        ("not parquet", "in.parquet", "not a readable Parquet file"),
        ("[1, 2]\n", "in.jsonl", "no JSON object lines"),
        ("a,b\n", "in.xls", "unsupported format"),
        ("a,b\n", "in.xlsx", "not a readable .xlsx workbook"),
    ],
)
def test_unusable_inputs_stop_at_once(
    tmp_path: Path, tiny_model, content: str, name: str, message: str
) -> None:
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_bulk(job(source, tmp_path / "out.jsonl"), LocalSuggester(tiny_model))


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_interrupted_run_resumes_with_every_row_once(
    tmp_path: Path, tiny_model, suffix: str
) -> None:
    source = backlog(tmp_path / "in.csv", 2000, distinct=1000)
    reference = tmp_path / f"reference.{suffix}"
    run_bulk(job(source, reference, chunk_size=128), LocalSuggester(tiny_model))

    output = tmp_path / f"out.{suffix}"
    interrupting = CountingSuggester(tiny_model, interrupt_after=3)
    with pytest.raises(KeyboardInterrupt):
        run_bulk(job(source, output, chunk_size=128, checkpoint_seconds=0), interrupting)
    saved = FileCheckpointStore(checkpoint_path(output)).load()
    assert saved is not None and 0 < saved.rows_done < 2000 and not output.exists()

    resumed = CountingSuggester(tiny_model)
    summary = run_bulk(job(source, output, chunk_size=128, resume=True), resumed)
    assert summary.rows == 2000 and summary.resumed_after == saved.rows_done
    # the cache starts empty after a restart, so texts met again are classified again, but the
    # file's distinct texts are counted once
    assert len(interrupting.texts) + len(resumed.texts) > 1000
    assert summary.distinct_texts == 1000
    if suffix == "parquet":
        assert pq.read_table(output).equals(pq.read_table(reference))
    else:
        assert output.read_bytes() == reference.read_bytes()


def test_rows_written_after_the_last_checkpoint_are_not_doubled(tmp_path: Path, tiny_model) -> None:
    source = backlog(tmp_path / "in.csv", 1000)
    run_bulk(job(source, tmp_path / "reference.jsonl", chunk_size=100), LocalSuggester(tiny_model))

    class StopAfterWrites(LogProgress):
        def update(self, position: int, rows_done: int) -> None:
            if rows_done >= 500:
                raise KeyboardInterrupt

    output = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):  # checkpoint only at the start: 500 rows unrecorded
        run_bulk(
            job(source, output, chunk_size=100, checkpoint_seconds=3600),
            LocalSuggester(tiny_model),
            progress=StopAfterWrites(),
        )
    assert len((tmp_path / "out.jsonl.partial").read_text().splitlines()) == 500
    run_bulk(job(source, output, chunk_size=100, resume=True), LocalSuggester(tiny_model))
    assert output.read_bytes() == (tmp_path / "reference.jsonl").read_bytes()


def test_resume_refuses_a_changed_job(tmp_path: Path, tiny_model) -> None:
    source = backlog(tmp_path / "in.csv", 600, distinct=600)
    with pytest.raises(KeyboardInterrupt):
        run_bulk(
            job(source, tmp_path / "out.jsonl", chunk_size=100, checkpoint_seconds=0),
            CountingSuggester(tiny_model, interrupt_after=2),
        )
    with pytest.raises(ResumeError, match="top_k"):
        run_bulk(
            job(source, tmp_path / "out.jsonl", top_k=5, resume=True), LocalSuggester(tiny_model)
        )


def test_should_stop_cancels_after_a_checkpoint(tmp_path: Path, tiny_model) -> None:
    source = backlog(tmp_path / "in.csv", 1000)
    with pytest.raises(Cancelled):
        run_bulk(
            job(source, tmp_path / "out.jsonl", chunk_size=100),
            LocalSuggester(tiny_model),
            should_stop=lambda: True,
        )
    saved = FileCheckpointStore(checkpoint_path(tmp_path / "out.jsonl")).load()
    assert saved is not None and saved.rows_done == 100


def test_summary_counts_sections_and_review(tmp_path: Path, tiny_model) -> None:
    source = write_csv(
        tmp_path / "in.csv", [[str(i), TEXTS[i % 2], ""] for i in range(10)] + [["x", "", ""]]
    )
    summary = run_bulk(job(source, tmp_path / "out.jsonl"), LocalSuggester(tiny_model))
    assert summary.sections == {"05": 5, "02": 5}
    assert summary.rejected == 1 and summary.distinct_texts == 2
    assert 0.0 <= summary.review_share <= 1.0 and summary.seconds > 0
    assert summary.as_dict()["rows"] == 11


def test_log_progress_reports_rows_rate_and_eta(tmp_path: Path, tiny_model, caplog) -> None:
    source = backlog(tmp_path / "in.csv", 500)
    caplog.set_level(logging.INFO, logger="iccs.bulk.progress")
    run_bulk(
        job(source, tmp_path / "out.jsonl", chunk_size=100),
        LocalSuggester(tiny_model),
        progress=LogProgress(every=0),
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "iccs.bulk.progress"]
    assert lines and "500 rows done" in lines[-1] and "rows/s" in lines[-1] and "ETA" in lines[-1]
    assert not any(TEXTS[0] in line for line in lines)  # never log case text


def test_output_does_not_depend_on_row_order_or_spelling(
    tiny_model: ICCSClassifier, tmp_path: Path
) -> None:
    """Case and accent variants share one cached result; which came first does not matter."""
    rows = [
        ["1", "ROBO CON VIOLENCIA DE UN TELÉFONO CELULAR"],
        ["2", "robo con violencia de un telefono celular"],
        ["3", "Drink  driving over the prescribed limit"],
        ["4", "drink driving over the prescribed limit"],
    ]
    outputs = []
    for name, ordered in (("forward", rows), ("backward", rows[::-1])):
        source = write_csv(tmp_path / f"{name}.csv", ordered, header=("id", "text"))
        out = tmp_path / f"{name}.jsonl"
        classify_file(tiny_model, VERSION, source, out, top_k=3)
        records = [json.loads(line) for line in out.read_text().splitlines()]
        outputs.append({r["id"]: r["suggestions"] for r in records})
    assert outputs[0] == outputs[1]
    assert outputs[0]["1"] == outputs[0]["2"] and outputs[0]["3"] == outputs[0]["4"]
