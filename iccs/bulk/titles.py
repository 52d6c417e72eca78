"""Code titles for bulk output (`--titles en|es|ko`), so a results file reads without a lookup.

English and Spanish titles come from the taxonomy; Korean ones from the project's unofficial
translation (`iccs_v1_ko.csv` beside the taxonomy), which has a title for every code.
"""

from __future__ import annotations

import csv
from typing import Literal, get_args

from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.paths import taxonomy_dir
from iccs.taxonomy import load_taxonomy

TitleLanguage = Literal["en", "es", "ko"]
TITLE_LANGUAGES: tuple[str, ...] = get_args(TitleLanguage)
_NONE_TITLES = {"en": NONE_TITLE, "es": "No es un delito", "ko": "범죄 아님"}


def code_titles(language: str) -> dict[str, str]:
    """Every ICCS code's title in `language`, `NONE` included."""
    if language not in TITLE_LANGUAGES:
        raise ValueError(f"no titles in {language!r}; one of {', '.join(TITLE_LANGUAGES)}")
    if language == "ko":
        path = taxonomy_dir() / "iccs_v1_ko.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            titles = {row["code"]: row["title_ko"] for row in csv.DictReader(handle)}
    else:
        titles = {c.code: c.title("es" if language == "es" else "en") for c in load_taxonomy()}
    titles[NONE_CODE] = _NONE_TITLES[language]
    return titles
