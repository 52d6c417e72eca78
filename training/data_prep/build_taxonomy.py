"""Build `datasets/iccs/` from the UNODC reference exports.

Run once by a maintainer (`python -m training.data_prep.build_taxonomy SOURCE_DIR`); the service
and the tests only read the files this writes, so nothing outside the project is read at run time.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[2] / "datasets" / "iccs"
_FOOTNOTE = re.compile(r"\*\d+")
_SPACES = re.compile(r"\s+")

# Index entries whose printed code is not in the structure: the code the term belongs to.
INDEX_CORRECTIONS = {
    "Causing death through breach of traffic safety rules": "010321",
    "Counterfeiting means of non-cash payment": "070212",
    "Drug pushing": "060121",
    "Drug trafficking": "060121",
    "Fraudulently making or altering non-cash forms of payment": "070212",
    "Import, export, transport, receiving or obtaining of counterfeit non-cash payment "
    "with the knowledge that it is counterfeit": "070212",
    "Offering for sale, distribution, purchase, of controlled drugs or precursors": "06012",
    "Other acts against the natural environment": "10099",
    "Other robbery of valuables or goods in transit": "040129",
    "Other unlawful acts involving alcohol, tobacco or other controlled substances": "06029",
    "Piracy": "11012",
    "Retail selling of drugs through use of the internet": "060121",
    "Robbery of cargo on highways": "040129",
    "Selling, offering to sale, distributing, marketing, advertising of illicit drugs "
    "or precursors": "060121",
    "Smuggling ozone depletion substances (ODS)": "10099",
    "Unlawful use of ozone depletion substances": "10099",
}

COLUMNS = [
    "code",
    "level",
    "level_name",
    "parent",
    "title_en",
    "title_es",
    "description_en",
    "description_es",
    "inclusions_en",
    "inclusions_es",
    "exclusions_en",
    "exclusions_es",
]


def clean(text: str) -> str:
    """Drop footnote markers (`Murder*1`) and collapse whitespace; keep the wording."""
    text = _FOOTNOTE.sub("", text or "")
    text = _SPACES.sub(" ", text).strip()
    return "" if text == "-" else text.rstrip(".").strip()


def build(source: Path) -> None:
    en = list(csv.DictReader((source / "iccs_v1_en.csv").open(encoding="utf-8")))
    es = {r["code"]: r for r in csv.DictReader((source / "iccs_v1_es.csv").open(encoding="utf-8"))}
    rows = []
    for r in en:
        s = es[r["code"]]
        rows.append(
            {
                "code": r["code"],
                "level": r["level"],
                "level_name": r["level_name"],
                "parent": r["parent"],
                "title_en": clean(r["title"]).replace("’", "'"),
                "title_es": clean(s["title_es"]),
                "description_en": clean(r["unodc_csv_description"] or r["description"]),
                "description_es": clean(s["description_es"]),
                # The export expands "apply all inclusions listed in X"; fall back to Table I.
                "inclusions_en": clean(r["unodc_csv_inclusions"] or r["inclusions"]),
                "inclusions_es": clean(s["inclusions_es"]),
                "exclusions_en": clean(r["unodc_csv_exclusions"] or r["exclusions"]),
                "exclusions_es": clean(s["exclusions_es"]),
            }
        )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / "iccs_v1.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    known = {r["code"] for r in rows}
    with (OUT_DIR / "iccs_v1_index.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["term", "printed_code", "code", "code_in_structure"])
        writer.writeheader()
        for r in csv.DictReader((source / "iccs_alphabetical_index.csv").open(encoding="utf-8")):
            printed = r["iccs_code"].strip()
            in_structure = printed in known
            code = printed if in_structure else INDEX_CORRECTIONS[r["term"]]
            writer.writerow(
                {
                    "term": r["term"].strip(),
                    "printed_code": printed,
                    "code": code,
                    "code_in_structure": str(in_structure).lower(),
                }
            )
    print(f"wrote {len(rows)} codes to {OUT_DIR}")


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/iccs"))
