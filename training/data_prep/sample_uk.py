"""Draw the real English sample for labelling: common offences over-represented, the long tail kept."""
import csv, random, re, json, sys
from collections import defaultdict
SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/offence_texts"
random.seed(20261126)
cjs = list(csv.DictReader(open(f"{SRC}/uk_cjs_offence_titles.csv", encoding="utf-8")))
pnc = list(csv.DictReader(open(f"{SRC}/uk_pnc_offence_titles.csv", encoding="utf-8")))
ho = list(csv.DictReader(open(f"{SRC}/uk_home_office_offence_codes_ons_2017_18.csv", encoding="utf-8")))
groups = defaultdict(list)  # cjs_code -> [(source, text)]
for r in cjs:
    groups[r["cjs_code"]].append(("uk_cjs", r["offence_title"].strip(), r["offence_category_desc"]))
for r in pnc:
    groups[r["cjs_code"]].append(("uk_pnc", r["offence_title"].strip(), ""))
COMMON = re.compile(r"\b(theft|steal|stole|stolen|shoplift|assault|wound|grievous|actual bodily|abh|gbh|battery|burglar|damage|arson|destroy|drug|controlled|cannabis|heroin|cocaine|class [abc]|driv|vehicle|motor|fraud|false|forg|counterfeit|deception|public order|affray|riot|violent disorder|threat|harass|stalk|weapon|knife|blade|firearm|pistol|shotgun|ammunition|offensive|sexual|rape|indecent|prostitut|robbery|rob|kill|murder|manslaughter|kidnap|blackmail|handl|bribe|launder|computer|child|obscene|explosive|trespass|breach|bail|obstruct|resist|dwelling|premises|property|taking|excise|evade|smuggl|alcohol|drunk|liquor|cigarette|tobacco|immigra|passport|cruelty|animal|fish|waste|pollut|poach|wildlife)", re.I)
codes = sorted(groups)
common = [c for c in codes if any(COMMON.search(t) for _, t, _ in groups[c])]
rest = [c for c in codes if c not in set(common)]
random.shuffle(common); random.shuffle(rest)
pick = common[:2800] + rest[:1250]
rows = []
for c in pick:
    seen = set()
    for src, t, cat in groups[c]:
        k = t.lower()
        if k in seen or not t:
            continue
        seen.add(k)
        rows.append({"item": "", "group": c, "source": src, "text": t, "category": cat})
for r in ho:
    rows.append({"item": "", "group": "HO" + r["ho_offence_code"], "source": "uk_home_office", "text": r["offence_title"].strip(), "category": r["ons_offence_group"]})
# shuffle by group so a chunk keeps both renderings of one offence together
order = sorted({r["group"] for r in rows}); random.shuffle(order)
rank = {g: i for i, g in enumerate(order)}
rows.sort(key=lambda r: (rank[r["group"]], r["source"]))
for i, r in enumerate(rows):
    r["item"] = f"uk{i:05d}"
with open("uk_sample.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=["item", "group", "source", "category", "text"]); w.writeheader(); w.writerows(rows)
print(len(rows), len(common), len(rest))
