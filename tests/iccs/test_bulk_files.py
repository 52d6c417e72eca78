"""Files as statisticians have them: Excel-style CSV, .xlsx, broken quotes, titles, long rejects."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from iccs.bulk import BulkJob, LocalSuggester, csv_records, run_bulk
from iccs.bulk.titles import code_titles
from iccs.bulk.writers import REJECT_TEXT_CHARS
from iccs.cli import app

VERSION = "iccs-classifier:tiny-1"
runner = CliRunner()
ENV = {"COLUMNS": "200"}


def job(source: Path, output: Path, **options: object) -> BulkJob:
    return BulkJob(input=source, output=output, model_version=VERSION, **options)  # type: ignore[arg-type]


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def read_rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def excel_csv(path: Path) -> Path:
    """What Excel's "CSV UTF-8" gives in a ';' locale: a BOM, ';' and Windows line ends."""
    rows = [
        "case_id;offence;station",
        "A1;Robo con violencia de un teléfono;norte",
        'A2;"common assault; no injury";sur',
        "A3;stole a bicycle from the shed;este",
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8") + b"\r\n")
    return path


def test_an_excel_csv_with_bom_semicolons_and_crlf_is_read(
    tmp_path: Path, tiny_bundle: Path
) -> None:
    source = excel_csv(tmp_path / "in.csv")
    output = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "classify",
            str(source),
            "-o",
            str(output),
            "--id-column",
            "case_id",
            "--text-column",
            "offence",
            "--model",
            str(tiny_bundle),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert "classified 3 rows" in result.output and "rejected" not in result.output
    assert output.read_text(encoding="utf-8").startswith("case_id;offence;station;iccs_code_1;")
    rows = read_csv(output, delimiter=";")  # a ';' file in, a ';' file out
    assert [r["case_id"] for r in rows] == ["A1", "A2", "A3"]
    assert rows[1]["offence"] == "common assault; no injury"
    assert rows[0]["station"] == "norte" and all(r["iccs_code_1"] for r in rows)


def test_delimiter_and_encoding_can_be_given(tmp_path: Path, tiny_bundle: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes("id|text\n1|Robo de vehículo\n2|daño a la propiedad\n".encode("cp1252"))
    output = tmp_path / "out.jsonl"
    args = ["classify", str(source), "-o", str(output), "--model", str(tiny_bundle)]
    result = runner.invoke(app, [*args, "--delimiter", "|", "--encoding", "cp1252"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "classified 2 rows" in result.output and "rejected" not in result.output
    bad = runner.invoke(app, [*args, "--encoding", "no-such-codec"], env=ENV)
    assert bad.exit_code == 2 and "unknown encoding 'no-such-codec'" in bad.output
    bad = runner.invoke(app, [*args, "--delimiter", "::"], env=ENV)
    assert bad.exit_code == 2 and "unusable delimiter" in bad.output
    bad = runner.invoke(app, [*args, "--titles", "es"], env=ENV)
    assert bad.exit_code == 2 and "--titles is for CSV" in bad.output


def write_workbook(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even where it starts with "="
    workbook.save(path)
    return path


def test_xlsx_in_and_out_with_titles(tmp_path: Path, tiny_bundle: Path) -> None:
    source = write_workbook(
        tmp_path / "backlog.xlsx",
        [
            ["case_id", "offence", "count"],
            [101, "stole a bicycle from the shed", 2],
            [102, None, 1],
            [103, "=HYPERLINK(1) common assault", 1.5],
        ],
    )
    output = tmp_path / "out.xlsx"
    result = runner.invoke(
        app,
        [
            "classify",
            str(source),
            "-o",
            str(output),
            "--id-column",
            "case_id",
            "--text-column",
            "offence",
            "--titles",
            "es",
            "--top-k",
            "2",
            "--model",
            str(tiny_bundle),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert "classified 3 rows" in result.output and "rejected 1 rows" in result.output
    sheet = load_workbook(output).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:6] == [
        "case_id", "offence", "count", "iccs_code_1", "iccs_title_1", "confidence_1",
    ]  # fmt: skip
    assert [r[0] for r in rows] == ["101", "102", "103"] and rows[1][2] == "1"
    spanish = code_titles("es")
    assert rows[0][3] and rows[0][4] == spanish[rows[0][3]]
    assert isinstance(rows[0][5], int | float) and 0.0 <= rows[0][5] <= 1.0  # a number
    assert rows[1][3] is None and rows[1][header.index("needs_review")] == "true"
    # a text that looks like a formula stays text in the analyst's spreadsheet
    cell = sheet.cell(row=4, column=2)
    assert cell.value == "=HYPERLINK(1) common assault" and cell.data_type == "s"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_titles_follow_each_code_in_csv(tmp_path: Path, tiny_model, language: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,stole a bicycle\n2,common assault\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    run_bulk(job(source, output, top_k=1, titles=language), LocalSuggester(tiny_model))
    rows = read_csv(output)
    titles = code_titles(language)
    assert list(rows[0])[2:5] == ["iccs_code_1", "iccs_title_1", "confidence_1"]
    assert all(r["iccs_title_1"] == titles[r["iccs_code_1"]] for r in rows)
    if language == "ko":
        assert any("\uac00" <= ch <= "\ud7a3" for ch in rows[0]["iccs_title_1"])


def account_for_every_line(output: Path, rejects: Path) -> tuple[list[str], dict[str, str]]:
    """Ids in the output, and reason by text for the rejected rows."""
    ids = [r["id"] for r in read_csv(output)]
    _, *rejected = read_rejects(rejects)
    return ids, {row[4]: row[2] for row in rejected}


def test_an_unterminated_quote_never_swallows_the_next_rows(tmp_path: Path, tiny_model) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        'id,text\n1,theft\n2,"assault with\n3,burglary\n4,robbery\n5,fraud\n6,"arson"\n',
        encoding="utf-8",
    )
    output = tmp_path / "out.csv"
    summary = run_bulk(job(source, output), LocalSuggester(tiny_model))
    assert summary.rows == 6 and summary.rejected == 1  # 6 lines in, 6 rows out
    rows = read_csv(output)
    texts = ["theft", "assault with", "burglary", "robbery", "fraud", "arson"]
    assert [r["text"] for r in rows] == texts and [r["id"] for r in rows] == list("123456")
    assert rows[1]["iccs_code_1"] == "" and rows[2]["iccs_code_1"]
    _, *rejected = read_rejects(tmp_path / "out.csv.rejects.csv")
    assert [row[:2] for row in rejected] == [["2", "2"]]  # the line's id and text start stay
    assert rejected[0][2].startswith("unterminated quote") and rejected[0][4] == "assault with"


def test_a_quote_that_closes_rows_later_is_still_caught(tmp_path: Path, tiny_model) -> None:
    # the stray quote pairs with one three rows down: strict CSV parsing alone accepts this
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"theft of a car\n2,assault\n3,""\n4,robbery\n', encoding="utf-8")
    summary = run_bulk(job(source, tmp_path / "out.csv"), LocalSuggester(tiny_model))
    assert summary.rows == 4 and summary.rejected == 2
    assert [r["id"] for r in read_csv(tmp_path / "out.csv")] == ["1", "2", "3", "4"]
    reasons = [row[2] for row in read_rejects(tmp_path / "out.csv.rejects.csv")[1:]]
    assert reasons[0].startswith("unterminated quote") and reasons[1] == "missing text"


def test_a_quoted_text_over_several_lines_stays_one_row(tmp_path: Path, tiny_model) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        'id,text\n1,"stole a bicycle\nred,blue\nat night"\n2,common assault\n',
        encoding="utf-8",
    )
    summary = run_bulk(job(source, tmp_path / "out.csv"), LocalSuggester(tiny_model))
    assert summary.rows == 2 and summary.rejected == 0
    rows = read_csv(tmp_path / "out.csv")
    assert rows[0]["text"] == "stole a bicycle\nred,blue\nat night"  # "red" is no id like "1"


def test_the_reject_file_holds_the_start_of_a_long_text(tmp_path: Path, tiny_model) -> None:
    long_text = "x" * 20_000
    source = tmp_path / "in.csv"
    source.write_text(f"id,text\n1,{long_text}\n2,common assault\n", encoding="utf-8")
    run_bulk(job(source, tmp_path / "out.jsonl", max_text_length=5000), LocalSuggester(tiny_model))
    header, row = read_rejects(tmp_path / "out.jsonl.rejects.csv")
    assert header[3:] == ["text_length", f"text (first {REJECT_TEXT_CHARS} characters)"]
    assert row[:4] == ["1", "1", "text longer than 5000 characters", "20000"]
    assert row[4] == long_text[:REJECT_TEXT_CHARS]


def test_a_huge_line_is_rejected_without_being_parsed(
    tmp_path: Path, tiny_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_records, "MAX_LINE_CHARS", 1000)
    source = tmp_path / "in.csv"
    source.write_text(
        f'id,text\n1,"theft\n2,{"y" * 5000}\n3,assault\n4,robbery\n', encoding="utf-8"
    )
    summary = run_bulk(job(source, tmp_path / "out.csv"), LocalSuggester(tiny_model))
    assert summary.rows == 4 and summary.rejected == 2
    assert [r["id"] for r in read_csv(tmp_path / "out.csv")] == ["1", "2", "3", "4"]
    rejected = {row[1]: row for row in read_rejects(tmp_path / "out.csv.rejects.csv")[1:]}
    assert rejected["1"][2].startswith("unterminated quote")
    assert rejected["2"][2] == "line longer than 1,000 characters"
    assert rejected["2"][4] == "y" * 998  # its start: the line was cut before it was parsed


def test_a_folder_as_input_or_output_is_a_clear_error(tmp_path: Path, tiny_bundle: Path) -> None:
    folder = tmp_path / "cases.csv"
    folder.mkdir()
    result = runner.invoke(app, ["classify", str(folder), "-o", str(tmp_path / "o.csv")], env=ENV)
    assert result.exit_code == 2 and "is a folder; give the input file itself" in result.output
    source = excel_csv(tmp_path / "in.csv")
    result = runner.invoke(app, ["classify", str(source), "-o", str(tmp_path)], env=ENV)
    assert result.exit_code == 2 and "is a folder; give the output file" in result.output


def test_the_summary_shows_whole_section_names(tmp_path: Path, tiny_bundle: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,common assault\n2,stole a bicycle\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["classify", str(source), "-o", str(out), "--model", str(tiny_bundle)]
    )
    assert result.exit_code == 0, result.output
    section = read_csv(out)[0]["iccs_code_1"][:2]
    from iccs.taxonomy import load_taxonomy

    title = load_taxonomy().get(section).title_en
    assert len(title) > 44 and title in result.output.replace("\n", "")
