"""Batch uploads as statisticians have them: Excel-style CSV and .xlsx in, CSV and .xlsx out."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook, load_workbook

from iccs.bulk.titles import code_titles
from tests.service.conftest import Service
from tests.service.test_batches import worker

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXTS = ["stole a bicycle from the shed", "common assault by beating", "Robo con violencia"]


def upload(svc: Service, name: str, content: bytes, media_type: str) -> dict:
    response = svc.client.post(
        "/v1/batches",
        files={"file": (name, content, media_type)},
        data={"id_column": "case_id", "text_column": "offence"},
        headers=svc.headers("submitter"),
    )
    assert response.status_code == 202, response.text
    return response.json()


def finished(svc: Service, batch: dict) -> dict:
    assert worker(svc).run_once() == "succeeded"
    response = svc.client.get(f"/v1/batches/{batch['id']}", headers=svc.headers())
    return response.json()


def test_an_excel_csv_upload_is_sniffed(svc: Service) -> None:
    lines = ["case_id;offence;station"] + [f"K{i};{t};s{i}" for i, t in enumerate(TEXTS)]
    content = b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n"
    body = finished(svc, upload(svc, "export.csv", content, "text/csv"))
    assert body["rows_done"] == 3 and body["rows_rejected"] == 0
    response = svc.client.get(
        f"/v1/batches/{body['id']}/results",
        params={"format": "csv", "titles": "en"},
        headers=svc.headers(),
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == ["K0", "K1", "K2"]
    titles = code_titles("en")
    assert all(r["iccs_title_1"] == titles[r["iccs_code_1"]] for r in rows)


def test_an_xlsx_upload_gives_xlsx_results(svc: Service) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["case_id", "offence"])
    for i, text in enumerate(TEXTS):
        sheet.append([1000 + i, text])
    sheet.append([1003, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = upload(svc, "backlog.xlsx", buffer.getvalue(), XLSX)
    assert batch["input_format"] == "xlsx"
    body = finished(svc, batch)
    assert body["rows_done"] == 4 and body["reject_reasons"] == {"missing text": 1}

    response = svc.client.get(
        f"/v1/batches/{body['id']}/results",
        params={"format": "xlsx", "titles": "es"},
        headers=svc.headers(),
    )
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    assert "backlog.iccs.xlsx" in response.headers["content-disposition"]
    header, *rows = (
        load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)
    )
    assert header[:4] == ("id", "iccs_code_1", "iccs_title_1", "confidence_1")
    assert [r[0] for r in rows] == ["1000", "1001", "1002", "1003"]
    assert rows[0][2] == code_titles("es")[rows[0][1]] and isinstance(rows[0][3], int | float)
    assert rows[3][-1] == "missing text"
    leftovers = sorted(p.name for p in (svc.settings.batches_dir / body["id"]).iterdir())
    assert leftovers == ["results.jsonl"]  # the workbook went once it was sent


def test_a_broken_xlsx_upload_is_refused(svc: Service) -> None:
    response = svc.client.post(
        "/v1/batches",
        files={"file": ("backlog.xlsx", b"not a workbook", XLSX)},
        data={"id_column": "case_id", "text_column": "offence"},
        headers=svc.headers("submitter"),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "not a readable .xlsx workbook" in error["message"]


def test_a_cp1252_upload_is_read_with_the_encoding_given(svc: Service) -> None:
    content = "case_id,offence\nW1,Robo de vehículo\nW2,daño a la propiedad\n".encode("cp1252")

    def send(**form: str) -> dict:
        response = svc.client.post(
            "/v1/batches",
            files={"file": ("windows.csv", content, "text/csv")},
            data={"id_column": "case_id", "text_column": "offence", **form},
            headers=svc.headers("submitter"),
        )
        assert response.status_code in (202, 400), response.text
        return response.json()

    body = finished(svc, send(encoding="cp1252"))
    assert body["rows_done"] == 2 and body["rows_rejected"] == 0
    body = finished(svc, send())  # read as UTF-8: the accented rows are refused, with the hint
    assert body["rows_rejected"] == 2
    (reason,) = body["reject_reasons"]
    assert reason == "undecodable bytes (not UTF-8; name the encoding, e.g. cp1252)"
    error = send(encoding="klingon")["error"]
    assert error["code"] == "invalid_input" and "unknown encoding 'klingon'" in error["message"]
