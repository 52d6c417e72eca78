"""Draw the sample of real England & Wales titles that the coders labelled (`uk_sample.csv`).

    python -m training.data_prep.sample_uk SOURCE_DIR OUT.csv

Common offence families (theft, assault, burglary, damage, drugs, driving, fraud, public order,
weapons, sexual offences...) are over-represented so the sample is not only the regulatory long
tail; the court wording and the upper-case police wording of one offence stay together.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

SEED = 20261126
COMMON_OFFENCES = 2800
OTHER_OFFENCES = 1250
COMMON = re.compile(
    r"\b(theft|steal|stole|stolen|shoplift|assault|wound|grievous|actual bodily|abh|gbh|battery|"
    r"burglar|damage|arson|destroy|drug|controlled|cannabis|heroin|cocaine|class [abc]|driv|"
    r"vehicle|motor|fraud|false|forg|counterfeit|deception|public order|affray|riot|"
    r"violent disorder|threat|harass|stalk|weapon|knife|blade|firearm|pistol|shotgun|ammunition|"
    r"offensive|sexual|rape|indecent|prostitut|robbery|rob|kill|murder|manslaughter|kidnap|"
    r"blackmail|handl|bribe|launder|computer|child|obscene|explosive|trespass|breach|bail|"
    r"obstruct|resist|dwelling|premises|property|taking|excise|evade|smuggl|alcohol|drunk|liquor|"
    r"cigarette|tobacco|immigra|passport|cruelty|animal|fish|waste|pollut|poach|wildlife)",
    re.IGNORECASE,
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sample(source: Path, out: Path) -> int:
    rng = random.Random(SEED)
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for r in _read(source / "uk_cjs_offence_titles.csv"):
        groups[r["cjs_code"]].append(
            ("uk_cjs", r["offence_title"].strip(), r["offence_category_desc"])
        )
    for r in _read(source / "uk_pnc_offence_titles.csv"):
        groups[r["cjs_code"]].append(("uk_pnc", r["offence_title"].strip(), ""))
    codes = sorted(groups)
    common = [c for c in codes if any(COMMON.search(t) for _, t, _ in groups[c])]
    common_set = set(common)
    rest = [c for c in codes if c not in common_set]
    rng.shuffle(common)
    rng.shuffle(rest)
    rows: list[dict[str, str]] = []
    for code in common[:COMMON_OFFENCES] + rest[:OTHER_OFFENCES]:
        seen: set[str] = set()
        for src, text, category in groups[code]:
            if text and text.lower() not in seen:
                seen.add(text.lower())
                rows.append({"group": code, "source": src, "text": text, "category": category})
    for r in _read(source / "uk_home_office_offence_codes_ons_2017_18.csv"):
        rows.append(
            {
                "group": "HO" + r["ho_offence_code"],
                "source": "uk_home_office",
                "text": r["offence_title"].strip(),
                "category": r["ons_offence_group"],
            }
        )
    order = sorted({r["group"] for r in rows})
    rng.shuffle(order)
    rank = {g: i for i, g in enumerate(order)}
    rows.sort(key=lambda r: (rank[r["group"]], r["source"]))
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["item", "group", "source", "category", "text"])
        writer.writeheader()
        for i, r in enumerate(rows):
            writer.writerow({"item": f"uk{i:05d}", **r})
    return len(rows)


if __name__ == "__main__":
    print(sample(Path(sys.argv[1]), Path(sys.argv[2])))
