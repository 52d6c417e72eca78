"""Print the corpus count tables (markdown) for the dataset card.

python -m training.data_prep.corpus_stats [CORPUS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from iccs.paths import corpus_path
from iccs.taxonomy import LEVEL_NAMES, load_taxonomy
from training.corpus import load_corpus
from training.corpus_tags import TAG_VALUES, TAGS_FILE, load_tags


def table(frame: pd.DataFrame, rows: str, cols: str) -> str:
    pivot = pd.crosstab(frame[rows], frame[cols], margins=True, margins_name="total")
    header = f"| {rows} | " + " | ".join(map(str, pivot.columns)) + " |"
    rule = "|" + "---|" * (len(pivot.columns) + 1)
    body = [f"| {i} | " + " | ".join(str(v) for v in r) + " |" for i, r in pivot.iterrows()]
    return "\n".join([header, rule, *body])


def main(path: Path) -> None:
    taxonomy = load_taxonomy()
    frame = load_corpus(path)
    frame["section"] = [
        "NONE" if c == "NONE" else f"{c[:2]} {taxonomy.get(c[:2]).title_en[:40]}"
        for c in frame["iccs_code"]
    ]
    frame["level"] = [
        "none" if c == "NONE" else LEVEL_NAMES[taxonomy.get(c).level] for c in frame["iccs_code"]
    ]
    frame["lang_origin"] = frame["language"] + "/" + frame["origin"]
    frame["jurisdiction_language"] = frame["jurisdiction"] + " " + frame["language"]
    for rows, cols in (
        ("jurisdiction_language", "origin"),
        ("fold", "split"),
        ("section", "lang_origin"),
        ("level", "origin"),
        ("lang_origin", "split"),
    ):
        print(table(frame, rows, cols), end="\n\n")
    if (path.parent / TAGS_FILE).is_file():
        print_tag_tables(frame, load_tags(path.parent / TAGS_FILE))


def print_tag_tables(frame: pd.DataFrame, tags: pd.DataFrame) -> None:
    """Each tag's values by language and origin, then who labelled the tags."""
    tagged = tags.merge(frame[["id", "lang_origin", "language"]], on="id")
    for tag in TAG_VALUES:
        print(table(tagged.rename(columns={tag: f"{tag} (tag)"}), f"{tag} (tag)", "lang_origin"))
        print()
    print(table(tagged, "tag_labeller", "language"), end="\n\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else corpus_path())
