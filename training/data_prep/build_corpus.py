"""Assemble `datasets/corpus/iccs_corpus.csv` from the labelling work files.

Run by a maintainer after a labelling round:

    python -m training.data_prep.build_corpus --work WORK_DIR

WORK_DIR holds the sampled UK titles (`uk_sample.csv`), each coder's label files and the
adjudication of the double-coded sample (see datasets/README.md). Splits are assigned per
connected group of near-duplicate texts (same normalised text, or the same offence code in the
court and police wordings), so near-duplicates never cross splits. Ids already in the corpus keep
their split: the test split is frozen once made, and `test_split.sha256` records it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from iccs.paths import PROJECT_ROOT
from iccs.taxonomy import Taxonomy, load_taxonomy
from iccs.text import normalize
from training.corpus import COLUMNS, test_split_fingerprint
from training.data_prep import round3_corpus, tagged_sources
from training.data_prep.round3_corpus import read_rows as read_csv

OUT = PROJECT_ROOT / "datasets" / "corpus"
KOREAN_TAXONOMY = PROJECT_ROOT / "datasets" / "iccs" / "iccs_v1_ko.csv"
LEGAL_TERMS = PROJECT_ROOT / "datasets" / "iccs" / "legal_terms.csv"
# Style jurisdictions of the synthetic English titles, as ISO 3166 (plus GB subdivisions).
STYLE_JURISDICTIONS = {"SCO": "GB-SCT"}
# (dev share, test share) by origin; taxonomy rows always train.
SPLIT_SHARES = {"real": (0.12, 0.25), "synthetic": (0.12, 0.17)}
_DIGITS = re.compile(r"\d+")
# (file, language, id prefix) of the texts the project wrote; later rounds add files here.
SYNTHETIC_FILES = (
    ("en_synthetic.csv", "en", "en-syn"),
    ("es_texts.csv", "es", "es-syn"),
    ("ko_texts.csv", "ko", "ko-syn"),
    ("en_other_jurisdictions.csv", "en", "en-oj"),
    ("es_texts_2.csv", "es", "es-syn2"),
    ("ko_texts_2.csv", "ko", "ko-syn2"),
)


def near_duplicate_key(text: str) -> str:
    """Texts equal up to case, accents, punctuation and numbers are one group."""
    return " ".join(_DIGITS.sub("#", w) for w in re.findall(r"[^\W_]+", normalize(text)))


def taxonomy_rows(taxonomy: Taxonomy) -> list[dict[str, str]]:
    """Titles, inclusions, descriptions and index terms, each under the deepest code naming it."""
    candidates: dict[tuple[str, str], tuple[str, str]] = {}  # (lang, key) -> (code, source)
    texts: dict[tuple[str, str], str] = {}

    def offer(text: str, code: str, language: str, source: str) -> None:
        text = text.strip()
        if not text or len(text) > 300:
            return
        key = (language, near_duplicate_key(text))
        previous = candidates.get(key)
        if previous is None or len(code) > len(previous[0]):
            candidates[key] = (code, source)
            texts[key] = text

    for c in taxonomy:
        offer(c.title_en, c.code, "en", "iccs_v1_titles")
        offer(c.title_es, c.code, "es", "iccs_v1_titles")
        for item in c.inclusions_en:
            offer(item, c.code, "en", "iccs_v1_inclusions")
        for item in c.inclusions_es:
            offer(item, c.code, "es", "iccs_v1_inclusions")
        if taxonomy.is_leaf(c.code):
            offer(c.description_en, c.code, "en", "iccs_v1_descriptions")
            offer(c.description_es, c.code, "es", "iccs_v1_descriptions")
    for term in taxonomy.index_terms:
        offer(term.term, term.code, "en", "iccs_v1_index")
    for r in read_csv(KOREAN_TAXONOMY):  # the project's unofficial Korean translation
        offer(r["title_ko"], r["code"], "ko", "iccs_v1_titles_ko")
        for item in r.get("inclusions_ko", "").split(";"):
            offer(item, r["code"], "ko", "iccs_v1_inclusions_ko")
        offer(r.get("description_ko", ""), r["code"], "ko", "iccs_v1_descriptions_ko")
    for r in read_csv(LEGAL_TERMS):
        offer(r["term"], r["iccs_code"], r["language"], "legal_terms")
    rows = []
    for key, (code, source) in sorted(candidates.items()):
        digest = hashlib.sha1(f"{key}".encode()).hexdigest()[:10]
        rows.append(
            {
                "id": f"tax-{code}-{key[0]}-{digest}",
                "text": texts[key],
                "language": key[0],
                "iccs_code": code,
                "origin": "taxonomy",
                "source": source,
                "labeller": "project"
                if source.endswith("_ko") or source == "legal_terms"
                else "unodc",
                "jurisdiction": "none",
                "fold": "",
            }
        )
    return rows


def agreement(work: Path, coder1: dict[str, str], sample: dict[str, dict[str, str]]) -> dict:
    coder2 = {r["item"]: r["iccs_code"].strip() for r in read_csv(work / "agreement_coder2.csv")}
    adjudicated = {
        r["item"]: (r["final_code"].strip(), r.get("note", ""))
        for r in read_csv(work / "adjudication.csv")
    }
    items = sorted(i for i in coder2 if i in coder1)
    if not items:
        return {"summary": {"items": 0}, "rows": []}
    a = [coder1[i] for i in items]
    b = [coder2[i] for i in items]
    rows = []
    for item, x, y in zip(items, a, b, strict=True):
        final, note = adjudicated.get(item, (x, "agreed")) if x != y else (x, "agreed")
        rows.append(
            {
                "item": item,
                "text": sample[item]["text"],
                "coder_1": x,
                "coder_2": y,
                "adjudicated": final,
                "note": note,
            }
        )
    summary = {
        "items": len(items),
        "exact_agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(items), 4),
        "section_agreement": round(
            sum(x[:2] == y[:2] for x, y in zip(a, b, strict=True)) / len(items), 4
        ),
        "division_agreement": round(
            sum(x[:4] == y[:4] for x, y in zip(a, b, strict=True)) / len(items), 4
        ),
        "cohen_kappa": round(float(cohen_kappa_score(a, b)), 4),
        "cohen_kappa_section": round(
            float(cohen_kappa_score([x[:2] for x in a], [y[:2] for y in b])), 4
        ),
        "disagreements": sum(x != y for x, y in zip(a, b, strict=True)),
        "adjudicated": sum(1 for r in rows if r["note"] != "agreed"),
    }
    return {"summary": summary, "rows": rows}


def build(work: Path, out: Path = OUT) -> None:
    taxonomy = load_taxonomy()
    sample = {r["item"]: r for r in read_csv(work / "uk_sample.csv")}
    coder_of: dict[str, str] = {}
    coder1: dict[str, str] = {}
    for n in (1, 2, 3):
        for r in read_csv(work / f"uk_chunk{n}_labels.csv"):
            coder1[r["item"]] = r["iccs_code"].strip()
            coder_of[r["item"]] = f"agent-coder-{n}"
    agreed = agreement(work, coder1, sample)
    final = {r["item"]: r["adjudicated"] for r in agreed["rows"]}
    # Labels changed after adjudication, when a rule it settled applies to them too.
    for r in read_csv(work / "relabels.csv"):
        final[r["item"]] = r["iccs_code"].strip()

    rows: list[dict[str, str]] = []
    groups: dict[str, str] = {}
    for item, s in sample.items():
        if item not in coder1:
            continue
        code = final.get(item, coder1[item])
        rid = f"uk-{s['group']}-{s['source'].removeprefix('uk_')}"
        rows.append(
            {
                "id": rid,
                "text": s["text"],
                "language": "en",
                "iccs_code": code,
                "origin": "real",
                "source": s["source"],
                "labeller": "adjudicated"
                if item in final and final[item] != coder1[item]
                else coder_of[item],
                "jurisdiction": "GB-EWS",
                "fold": "GB-EWS:" + s["source"].removeprefix("uk_"),
            }
        )
        groups[rid] = s["group"]
    for name, language, prefix in SYNTHETIC_FILES:
        for n, r in enumerate(read_csv(work / name), start=1):
            kind = r.get("kind") or ("title" if r.get("jurisdiction") else "narrative")
            where = f"_{r['jurisdiction'].lower()}" if r.get("jurisdiction") else ""
            rows.append(
                {
                    "id": f"{prefix}-{n:05d}",
                    "text": r["text"].strip(),
                    "language": language,
                    "iccs_code": r["iccs_code"].strip(),
                    "origin": "synthetic",
                    "source": f"project_{kind}{where}",
                    "labeller": f"author-agent-{language}",
                    "jurisdiction": STYLE_JURISDICTIONS.get(
                        r.get("jurisdiction", "").upper(), r.get("jurisdiction", "").upper()
                    )
                    or "none",
                    "fold": "",
                }
            )
    source_rows, source_tags = tagged_sources.tagged_rows(work)
    rows += source_rows
    rows += taxonomy_rows(taxonomy)
    r3_rows, r3_groups, r3_left_out = round3_corpus.coded_rows(work / "round3")
    publisher, contradicted = round3_corpus.publisher_rows(work / "round3")
    rows += r3_rows + publisher
    groups.update({rid: f"r3:{item}" for rid, item in r3_groups.items()})
    for r in rows:  # canonical codes: spreadsheets and people drop leading zeros
        if r["iccs_code"] != "NONE":
            r["iccs_code"] = taxonomy.normalize(r["iccs_code"])

    # One label per text: real and synthetic labels win over taxonomy ones; then the majority.
    by_text: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_text[normalize(r["text"])].append(r)
    kept: list[dict[str, str]] = []
    dropped: Counter[str] = Counter()
    previous = {}
    if (out / "iccs_corpus.csv").is_file():
        previous = {r["id"]: r["split"] for r in read_csv(out / "iccs_corpus.csv")}
    for same in by_text.values():
        labelled = [r for r in same if r["origin"] != "taxonomy"] or same
        majority = Counter(r["iccs_code"] for r in labelled).most_common(1)[0][0]
        # a row of an earlier build keeps its place (the test split is frozen), then real
        # wording wins over the project's own
        frozen_rows = [r for r in same if r["id"] in previous]
        ranked = sorted(labelled, key=lambda r: r["origin"] != "real")
        first = (
            frozen_rows[0] if frozen_rows else next(r for r in ranked if r["iccs_code"] == majority)
        )
        kept.append(first)
        dropped["duplicate text"] += len(same) - 1
        dropped["conflicting label"] += sum(1 for r in same if r["iccs_code"] != first["iccs_code"])

    # Splits per connected component of (near-duplicate key, offence group).
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in kept:
        a = "k:" + near_duplicate_key(r["text"])
        find(a)
        if r["id"] in groups:
            parent[find(a)] = find("g:" + groups[r["id"]])
    frozen = (out / "test_split.sha256").is_file()
    component_split: dict[str, str] = {}
    for r in kept:  # frozen assignments first
        if r["id"] in previous:
            component_split.setdefault(
                find("k:" + near_duplicate_key(r["text"])), previous[r["id"]]
            )
    for r in sorted(kept, key=lambda r: r["id"]):
        root = find("k:" + near_duplicate_key(r["text"]))
        if r["origin"] == "taxonomy":
            split = "train"
        elif root in component_split:
            split = component_split[root]
        else:
            dev_share, test_share = SPLIT_SHARES[r["origin"]]
            if frozen:  # the test split is frozen: later rows go to train and dev only
                test_share = 0.0
            u = int(hashlib.sha256(root.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            split = "test" if u < test_share else "dev" if u < test_share + dev_share else "train"
        component_split.setdefault(root, split)
        r["split"] = component_split[root]
    if frozen:  # a new text that near-duplicates a frozen test text would grow the test split
        late = [r for r in kept if r["split"] == "test" and r["id"] not in previous]
        dropped["near-duplicate of a frozen test text"] += len(late)
        kept = [r for r in kept if not (r["split"] == "test" and r["id"] not in previous)]
    _one_fold_per_component(kept, lambda r: find("k:" + near_duplicate_key(r["text"])))

    out.mkdir(parents=True, exist_ok=True)
    kept.sort(key=lambda r: r["id"])
    with (out / "iccs_corpus.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(kept)
    tagged_sources.write_tags(out, kept, source_tags)
    _write_rows(out / "agreement.csv", agreed["rows"])
    summary = {
        **agreed["summary"],
        "dropped": dict(dropped),
        "round3": {
            "left_out": r3_left_out,
            "publisher_contradicted": len(contradicted),
            "by_language": round3_corpus.round3_agreement(work / "round3"),
        },
    }
    _write_rows(out / "publisher_contradictions.csv", contradicted)
    (out / "agreement_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    fingerprint = out / "test_split.sha256"
    if not fingerprint.is_file():
        import pandas as pd

        frame = pd.DataFrame(kept)
        fingerprint.write_text(test_split_fingerprint(frame) + "  test split of iccs_corpus.csv\n")
    print(json.dumps({"rows": len(kept), **summary}, indent=1))


def _one_fold_per_component(kept: list[dict[str, str]], component: Callable[..., str]) -> None:
    """Near-duplicates of one jurisdiction share a fold (the first in id order), so a held-out
    fold never has its own texts in training."""
    chosen: dict[tuple[str, str], str] = {}
    for r in sorted(kept, key=lambda r: r["id"]):
        if r["fold"]:
            key = (component(r), r["jurisdiction"])
            r["fold"] = chosen.setdefault(key, r["fold"])


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    build(args.work, args.out)
