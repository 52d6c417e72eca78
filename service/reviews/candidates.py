"""What an analyst needs beside each candidate code: its definition, inclusions, exclusions."""

from __future__ import annotations

from typing import Any

from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import Language, load_taxonomy


def display_language(language: str | None) -> Language:
    return "es" if language == "es" else "en"


def describe(code: str, language: Language) -> dict[str, Any]:
    """Title, level, path and the manual's text for one code (NONE has no definition)."""
    if code == NONE_CODE:
        return {
            "code": NONE_CODE,
            "title": NONE_TITLE,
            "level": "none",
            "path": [],
            "definition": "No criminal offence is described (lost property, welfare checks, "
            "missing persons, civil matters).",
            "inclusions": [],
            "exclusions": [],
        }
    taxonomy = load_taxonomy()
    category = taxonomy.get(code)
    spanish = language == "es"
    return {
        "code": category.code,
        "title": category.title(language),
        "level": category.level_name,
        "path": [{"code": c.code, "title": c.title(language)} for c in taxonomy.path(code)],
        "definition": category.description_es if spanish else category.description_en,
        "inclusions": list(category.inclusions_es if spanish else category.inclusions_en),
        "exclusions": list(category.exclusions_es if spanish else category.exclusions_en),
    }


def candidates(suggestions: list[dict[str, Any]], language: Language) -> list[dict[str, Any]]:
    """The model's suggestions, best first, each with its taxonomy text."""
    taxonomy = load_taxonomy()
    out = []
    for suggestion in suggestions:
        code = suggestion["code"]
        if code == NONE_CODE or code in taxonomy:
            described = describe(code, language)
        else:  # a code this taxonomy version does not have
            described = {
                "code": code,
                "title": suggestion.get("title", code),
                "level": suggestion.get("level", ""),
                "path": [],
                "definition": "",
                "inclusions": [],
                "exclusions": [],
            }
        out.append({**described, "confidence": suggestion["confidence"]})
    return out
