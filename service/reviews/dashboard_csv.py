"""Each dashboard chart's table as CSV, so the figures people cite can be checked and reused.

Long format (one row per bar segment or point) with codes and titles, rates with their n.
"""

from __future__ import annotations

import csv
import io
from typing import Any

TABLES = ("by_batch", "by_day", "autocoding", "backlog", "agreement")


def _by_batch(figures: dict[str, Any], titles: dict[str, str]) -> list[list[Any]]:
    rows: list[list[Any]] = [["batch", "label", "code", "title", "records", "batch_records"]]
    for batch in figures["by_batch"]:
        for code, title in titles.items():
            if batch["categories"].get(code):
                n = batch["categories"][code]
                rows.append([batch["batch"], batch["label"], code, title, n, batch["records"]])
    return rows


def _by_day(figures: dict[str, Any], titles: dict[str, str]) -> list[list[Any]]:
    rows: list[list[Any]] = [["date", "code", "title", "records", "day_records"]]
    for day in figures["by_day"]:
        for code, title in titles.items():
            if day["categories"].get(code):
                rows.append([day["date"], code, title, day["categories"][code], day["records"]])
    return rows


def _autocoding(figures: dict[str, Any], _titles: dict[str, str]) -> list[list[Any]]:
    rows: list[list[Any]] = [["date", "records", "auto_coded", "autocoding_rate"]]
    for day in figures["autocoding"]:
        rate = "" if day["rate"] is None else day["rate"]
        rows.append([day["date"], day["records"], day["auto_coded"], rate])
    return rows


def _backlog(figures: dict[str, Any], _titles: dict[str, str]) -> list[list[Any]]:
    return [["date", "open_items"], *([d["date"], d["open"]] for d in figures["backlog"])]


def _agreement(figures: dict[str, Any], _titles: dict[str, str]) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["code", "title", "decided", "texts", "exact_agreement", "category_agreement"]
    ]
    for c in figures["agreement"]["by_category"]:
        rows.append(
            [
                c["code"],
                c["title"],
                c["n"],
                c["texts"],
                c["exact_agreement"],
                c["category_agreement"],
            ]
        )
    return rows


_BUILDERS = {
    "by_batch": _by_batch,
    "by_day": _by_day,
    "autocoding": _autocoding,
    "backlog": _backlog,
    "agreement": _agreement,
}


def table_csv(figures: dict[str, Any], table: str) -> str:
    """One table of `service.reviews.dashboard.dashboard(...)` as CSV text."""
    titles = {c["code"]: c["title"] for c in figures["categories"]}
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_BUILDERS[table](figures, titles))
    return buffer.getvalue()
