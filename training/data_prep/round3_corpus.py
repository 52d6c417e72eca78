"""Corpus rows from the round-3 real texts: coded statute, charge and police texts of 13
jurisdictions, and the publisher-coded rows (Philippines, Ecuador, Colombia).

Every row gets a `jurisdiction` (ISO 3166, e.g. `KR`, `MX-CHH`) and a `fold` naming the
jurisdiction and the source it came from (`KR:court_charge_names`), so training can hold out one
jurisdiction's source at a time. A labelled offence with a usable legal description becomes three
texts (title, description, "title. description") that share one group, hence one split and fold.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from iccs.paths import PROJECT_ROOT
from iccs.text import normalize

SOURCES_DIR = PROJECT_ROOT / "datasets" / "sources" / "real_texts"
WORK = PROJECT_ROOT / "datasets" / "labelling" / "round3"
MAX_TEXT_CHARS = 1_000  # longer legal texts are cut at a sentence end: what a user would paste

# source file stem -> the source name in the fold (one fold per jurisdiction and source)
FOLD_SOURCES = {
    "ko_kr_court_charge_names": "court_charge_names",
    "ko_kr_criminal_act_headings": "criminal_act",
    "es_ar_codigo_penal": "codigo_penal",
    "es_ar_leyes_penales_especiales": "leyes_penales_especiales",
    "es_uy_leyes_penales": "leyes_penales",
    "es_mx_chihuahua_codigo_penal": "codigo_penal",
    "es_mx_sesnsp_incidencia_delictiva": "sesnsp_incidencia",
    "es_pe_fiscalia_delitos": "fiscalia_delitos",
    "es_pe_codigo_penal_headings": "codigo_penal",
    "es_pe_leyes_penales_especiales": "leyes_penales_especiales",
    "es_co_policia_delitos": "policia",
    "es_co_policia_2026": "policia",
    "es_ec_policia_categorias": "policia",
    "es_ec_detenidos_2024": "policia",
    "en_in_ipc_offences": "ipc",
    "en_in_bns_section_titles": "bns",
    "en_us_nibrs_offences": "nibrs",
    "en_ph_psccs_2018": "psccs",
}

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LEADING_JUNK = re.compile(r"^[\s.*\-–—:]+")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Strip the markup of scraped statutes (links, emphasis, leading '.** -') and cap length."""
    text = _LINK.sub(r"\1", text).replace("*", " ")
    text = _SPACE.sub(" ", _LEADING_JUNK.sub("", text)).strip()
    if len(text) > MAX_TEXT_CHARS:
        cut = text[:MAX_TEXT_CHARS]
        end = max(cut.rfind(". "), cut.rfind("; "))
        text = cut[: end + 1] if end > MAX_TEXT_CHARS // 2 else cut.rsplit(" ", 1)[0]
    return text.strip()


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        print(f"warning: {path} missing, skipped")
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class SourceRow:
    item: str
    stem: str
    text: str
    description: str
    language: str
    jurisdiction: str
    publisher_code: str

    @property
    def fold(self) -> str:
        return f"{self.jurisdiction}:{FOLD_SOURCES[self.stem]}"


def source_rows(kind: str) -> dict[str, SourceRow]:
    """Every row of the `labelled` or `unlabelled` source files, by item id."""
    rows: dict[str, SourceRow] = {}
    for path in sorted((SOURCES_DIR / kind).glob("*.csv")):
        stem = path.stem
        for i, r in enumerate(read_rows(path)):
            item = f"{stem}:{i:05d}"
            rows[item] = SourceRow(
                item=item,
                stem=stem,
                text=r["text"],
                description=r.get("description", ""),
                language=r["language"],
                jurisdiction=r["jurisdiction"],
                publisher_code=r.get("iccs_code", "").strip(),
            )
    return rows


def labels(paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path in paths:
        for r in read_rows(path):
            out[r["item"]] = {k: (v or "").strip() for k, v in r.items()}
    return out


def _key(text: str) -> str:
    return "".join(normalize(text).split())


def _variants(source: SourceRow, use_description: bool) -> list[tuple[str, str]]:
    """(id suffix, text) for a coded source row: the title, and with a usable description the
    description and "title. description" too."""
    title = clean_text(source.text)
    out = [("t", title)] if title else []
    description = clean_text(source.description) if use_description else ""
    if description and description != title:
        out.append(("d", description))
        joined = title.rstrip(".") + ". " + description if title else description
        out.append(("td", clean_text(joined)))
    return out


def _row(source: SourceRow, suffix: str, text: str, code: str, labeller: str) -> dict[str, str]:
    return {
        "id": f"r3-{source.item.replace(':', '-')}-{suffix}",
        "text": text,
        "language": source.language,
        "iccs_code": code,
        "origin": "real",
        "source": source.stem,
        "labeller": labeller,
        "jurisdiction": source.jurisdiction,
        "fold": source.fold,
    }


def coded_rows(work: Path = WORK) -> tuple[list[dict[str, str]], dict[str, str], dict[str, int]]:
    """Corpus rows from the project's round-3 labels (adjudicated where coders disagreed).

    Returns the rows, each row id's group (variants of one offence), and counts of what was left
    out and why.
    """
    sources = source_rows("unlabelled")
    first = labels(sorted((work / "labels").glob("*.csv")))
    adjudicated = {r["item"]: r["final_code"].strip() for r in read_rows(work / "adjudication.csv")}
    rows: list[dict[str, str]] = []
    groups: dict[str, str] = {}
    left_out: dict[str, int] = {}
    for item, label in sorted(first.items()):
        source = sources.get(item)
        if source is None:
            continue
        code = adjudicated.get(item, label.get("iccs_code", ""))
        if label.get("exclude") and item not in adjudicated:
            reason = label["exclude"]
            left_out[reason] = left_out.get(reason, 0) + 1
            continue
        if not code or code.lower() == "exclude":
            left_out["excluded at adjudication"] = left_out.get("excluded at adjudication", 0) + 1
            continue
        labeller = "adjudicated" if item in adjudicated else "agent-coder-r3"
        for suffix, text in _variants(source, label.get("use_description") == "1"):
            row = _row(source, suffix, text, code, labeller)
            rows.append(row)
            groups[row["id"]] = item
    return rows, groups, left_out


def publisher_rows(work: Path = WORK) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Rows coded by their publisher, less those whose code contradicts the ICCS definitions.

    `publisher_review.csv` (item, verdict, iccs_code, note) records the project's check of each
    publisher code: `contradicts` rows are kept out of training and listed in the card, and rows
    the publisher left uncoded take the project's code.
    """
    review = {r["item"]: r for r in read_rows(work / "publisher_review.csv")}
    rows: list[dict[str, str]] = []
    contradicted: list[dict[str, str]] = []
    for item, source in sorted(source_rows("labelled").items()):
        check = review.get(item, {})
        verdict = check.get("verdict", "ok")
        # "090111|09061": the publisher's records split over codes; the first is the majority
        code, labeller = source.publisher_code.split("|")[0], "publisher"
        if verdict == "contradicts":
            contradicted.append(
                {
                    "item": item,
                    "text": source.text,
                    "publisher_code": code,
                    "project_code": check.get("iccs_code", ""),
                    "note": check.get("note", ""),
                }
            )
            continue
        if not code:
            code, labeller = check.get("iccs_code", ""), "agent-coder-r3"
        if not code or verdict == "exclude":
            continue
        text = clean_text(source.text)
        if text:
            rows.append(_row(source, "t", text, code, labeller))
    return rows, contradicted


def round3_agreement(work: Path = WORK) -> dict[str, dict[str, object]]:
    """Per-language agreement of the blind second coding with the first labels.

    Leaving a row out is a decision too: it counts as the label `EXCLUDE`, so every
    double-coded row is in the figures; `coded_by_both` gives the kappa over rows both coded.
    """
    from sklearn.metrics import cohen_kappa_score

    def decision(row: dict[str, str]) -> str:
        return row.get("iccs_code") or "EXCLUDE"

    first = labels(sorted((work / "labels").glob("*.csv")))
    out: dict[str, dict[str, object]] = {}
    for path in sorted((work / "second_coder").glob("labels_*.csv")):
        language = path.stem.removeprefix("labels_")
        second = labels([path])
        items = [i for i in sorted(second) if i in first]
        if not items:
            continue
        a = [decision(first[i]) for i in items]
        b = [decision(second[i]) for i in items]
        both = [(x, y) for x, y in zip(a, b, strict=True) if "EXCLUDE" not in (x, y)]
        n = len(items)

        def share(depth: int, a: list[str] = a, b: list[str] = b, n: int = n) -> float:
            return round(sum(x[:depth] == y[:depth] for x, y in zip(a, b, strict=True)) / n, 4)

        out[language] = {
            "items": n,
            "exact_agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / n, 4),
            "division_agreement": share(4),
            "section_agreement": share(2),
            "cohen_kappa": round(float(cohen_kappa_score(a, b)), 4),
            "cohen_kappa_section": round(
                float(cohen_kappa_score([x[:2] for x in a], [y[:2] for y in b])), 4
            ),
            "disagreements": sum(x != y for x, y in zip(a, b, strict=True)),
            "coded_by_both": {
                "items": len(both),
                "exact_agreement": round(sum(x == y for x, y in both) / max(len(both), 1), 4),
                "cohen_kappa": round(
                    float(cohen_kappa_score([x for x, _ in both], [y for _, y in both])), 4
                ),
            },
        }
    return out
