"""What is derived from an ICCS code alone: its title, level and section, NONE included.

The one place these are worked out, for suggestions, records, bulk summaries, metrics and the
review queue alike.
"""

from __future__ import annotations

from iccs.hierarchy import NONE_CODE, NONE_TITLE
from iccs.taxonomy import Language, Taxonomy

NO_SECTION = NONE_CODE  # the "section" of a text that is no criminal offence


def code_title(taxonomy: Taxonomy, code: str, language: Language = "en") -> str:
    """A code's title in English or Spanish; NONE has its own."""
    if code == NONE_CODE:
        return NONE_TITLE
    return taxonomy.get(code).title(language)


def code_level(taxonomy: Taxonomy, code: str) -> str:
    """section, division, group, class, or none for NONE."""
    return "none" if code == NONE_CODE else taxonomy.level(code)


def code_section(code: str | None) -> str:
    """The ICCS section (two digits) a code lies in; NONE for NONE or no code."""
    return code[:2] if code and code != NONE_CODE else NO_SECTION
