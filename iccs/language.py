"""A cheap language guess (en, es, ko or other) for choosing the blend of experts.

The lexical expert only knows the languages of its training texts; for others the semantic
(multilingual) expert should carry the decision. Scripts decide Korean; function words decide
English and Spanish; anything else is "other".
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "es", "ko", "other")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
_SPANISH_MARKS = re.compile(r"[ñáéíóúü¿¡]", re.IGNORECASE)
_WORD = re.compile(r"[a-záéíóúüñ]+", re.IGNORECASE)
_SPANISH = frozenset(
    [
        "de",
        "la",
        "el",
        "en",
        "con",
        "por",
        "del",
        "los",
        "las",
        "que",
        "y",
        "sin",
        "para",
        "se",
        "su",
        "al",
        "un",
        "una",
        "lo",
        "le",
        "fue",
        "sus",
        "como",
        "contra",
        "robo",
        "hurto",
        "lesiones",
        "delito",
        "victima",
        "víctima",
        "denunciante",
        "sujeto",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "of",
        "with",
        "to",
        "and",
        "for",
        "by",
        "in",
        "on",
        "without",
        "a",
        "an",
        "or",
        "from",
        "at",
        "his",
        "her",
        "was",
        "were",
        "is",
        "be",
        "being",
        "not",
        "any",
        "other",
        "fail",
        "failing",
        "person",
        "vehicle",
        "theft",
        "assault",
        "offence",
    ]
)


def guess_language(text: str) -> str:
    letters = _LETTER.findall(text)
    if not letters:
        return "other"
    if len(_HANGUL.findall(text)) >= 0.3 * len(letters):
        return "ko"
    if len(_LATIN.findall(text)) < 0.6 * len(letters):
        return "other"
    words = [w.lower() for w in _WORD.findall(text)]
    spanish = sum(w in _SPANISH for w in words) + 2 * len(_SPANISH_MARKS.findall(text))
    english = sum(w in _ENGLISH for w in words)
    if spanish > english:
        return "es"
    if english > spanish or not spanish:
        return "en"
    return "other"
