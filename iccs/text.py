"""Text normalisation shared by training and serving, so both see the same input."""

from __future__ import annotations

import re
import unicodedata

# The longest text any path takes by default (HTTP requests, batch jobs, `iccs classify`):
# one number, so a text accepted over HTTP is never rejected in a batch, or the other way round.
MAX_TEXT_CHARS = 10_000

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")

# Abbreviations of police-system titles (PNC style) written out, so that "POSS W/I TO SUPPLY"
# and "possess with intent to supply" share features. Kept short on purpose: only forms that
# are unambiguous in offence titles.
_ABBREVIATIONS = {
    r"\bw/i\b": "with intent",
    r"\bw/o\b": "without",
    r"\bposs\b": "possess",
    r"\bveh\b": "vehicle",
    r"\bm/v\b": "motor vehicle",
    r"\bmv\b": "motor vehicle",
    r"\bgbh\b": "grievous bodily harm",
    r"\babh\b": "actual bodily harm",
    r"\btwoc\b": "taking without consent",
    r"\bdv\b": "domestic",
    r"\bc/d\b": "controlled drug",
    r"\bsusp\b": "suspect",
    r"\bip\b": "injured party",
    r"\bc/violencia\b": "con violencia",
    r"\bs/violencia\b": "sin violencia",
}
_ABBREVIATION_PATTERNS = [(re.compile(p, re.IGNORECASE), r) for p, r in _ABBREVIATIONS.items()]


def fold(text: str) -> str:
    """Lower-case and strip accents (Latin only): 'Tránsito' and 'TRANSITO' become one word.

    Decomposing and recomposing keeps Hangul syllables intact.
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped).casefold()


def normalize(text: str) -> str:
    """Canonical form fed to every model: NFKC, abbreviations expanded, folded, one space."""
    text = unicodedata.normalize("NFKC", text)
    for pattern, replacement in _ABBREVIATION_PATTERNS:
        text = pattern.sub(replacement, text)
    return _SPACE.sub(" ", fold(text)).strip()


def tokens(text: str) -> list[str]:
    return _WORD.findall(normalize(text))
