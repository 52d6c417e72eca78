"""The ICCS v1.0 structure as an immutable, typed object loaded once from `datasets/iccs/`.

Codes are strings with leading zeros. Input codes are normalised so that the forms that turn up
in real exports resolve: "020111", "ICCS020111" (Eurostat style), "20111" (a spreadsheet dropped
the leading zero), "0201.11" or "20111.0".
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from iccs.paths import taxonomy_dir

TAXONOMY_VERSION = "ICCS-1.0-2015"
LevelName = Literal["section", "division", "group", "class"]
LEVEL_NAMES: dict[int, LevelName] = {1: "section", 2: "division", 3: "group", 4: "class"}
Language = Literal["en", "es"]


class CodeError(ValueError):
    """A code that cannot be resolved to exactly one ICCS category."""

    def __init__(self, code: object, reason: str) -> None:
        self.code = code
        super().__init__(f"{reason}: {code!r}")


class UnknownCodeError(CodeError, KeyError):
    def __init__(self, code: object) -> None:
        super().__init__(code, "unknown ICCS code")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class AmbiguousCodeError(CodeError):
    def __init__(self, code: object, candidates: list[str]) -> None:
        super().__init__(code, f"ambiguous ICCS code (could be {', '.join(candidates)})")


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


@dataclass(frozen=True, slots=True)
class Category:
    """One ICCS category (section, division, group or class) with its text in both languages."""

    code: str
    level: int
    parent: str | None
    title_en: str
    title_es: str
    description_en: str = ""
    description_es: str = ""
    inclusions_en: tuple[str, ...] = ()
    inclusions_es: tuple[str, ...] = ()
    exclusions_en: tuple[str, ...] = ()
    exclusions_es: tuple[str, ...] = ()

    @property
    def level_name(self) -> LevelName:
        return LEVEL_NAMES[self.level]

    @property
    def section(self) -> str:
        return self.code[:2]

    def title(self, language: Language = "en") -> str:
        return self.title_es if language == "es" else self.title_en


@dataclass(frozen=True, slots=True)
class IndexTerm:
    """An entry of the manual's alphabetical index; `printed_code` is what the manual printed."""

    term: str
    code: str
    printed_code: str
    code_in_structure: bool


class Taxonomy:
    """Immutable view of the ICCS tree with code normalisation (search: `iccs.search`)."""

    def __init__(
        self,
        categories: list[Category],
        index_terms: list[IndexTerm] | None = None,
        version: str = TAXONOMY_VERSION,
    ) -> None:
        self.version = version
        self._by_code: dict[str, Category] = {c.code: c for c in categories}
        children: dict[str | None, list[str]] = defaultdict(list)
        for c in categories:
            children[c.parent].append(c.code)
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self.index_terms: tuple[IndexTerm, ...] = tuple(index_terms or ())

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_directory(cls, directory: Path) -> Taxonomy:
        categories = []
        with (directory / "iccs_v1.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                categories.append(
                    Category(
                        code=row["code"],
                        level=int(row["level"]),
                        parent=row["parent"] or None,
                        title_en=row["title_en"],
                        title_es=row["title_es"],
                        description_en=row["description_en"],
                        description_es=row["description_es"],
                        inclusions_en=_split_list(row["inclusions_en"]),
                        inclusions_es=_split_list(row["inclusions_es"]),
                        exclusions_en=_split_list(row["exclusions_en"]),
                        exclusions_es=_split_list(row["exclusions_es"]),
                    )
                )
        terms = []
        index_path = directory / "iccs_v1_index.csv"
        if index_path.exists():
            with index_path.open(encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    terms.append(
                        IndexTerm(
                            term=row["term"],
                            code=row["code"],
                            printed_code=row["printed_code"],
                            code_in_structure=row["code_in_structure"] == "true",
                        )
                    )
        return cls(categories, terms)

    # ---- codes ----------------------------------------------------------------------------
    def normalize(self, code: object) -> str:
        """Resolve any accepted spelling of a code to the canonical one, or raise CodeError."""
        raw = str(code).strip().upper()
        raw = re.sub(r"^ICCS[\s_\-:]*", "", raw)
        raw = re.sub(r"\.0+$", "", raw)  # 20111.0 from a float column
        raw = re.sub(r"[\s.\-_]", "", raw)
        if not raw.isdigit():
            raise UnknownCodeError(code)
        candidates = [c for c in dict.fromkeys([raw, "0" + raw]) if c in self._by_code]
        if not candidates:
            raise UnknownCodeError(code)
        if len(candidates) > 1:
            raise AmbiguousCodeError(code, candidates)
        return candidates[0]

    def get(self, code: object) -> Category:
        return self._by_code[self.normalize(code)]

    def __contains__(self, code: object) -> bool:
        try:
            self.normalize(code)
        except CodeError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_code.values())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def parent(self, code: object) -> Category | None:
        category = self.get(code)
        return self._by_code[category.parent] if category.parent else None

    def path(self, code: object) -> tuple[Category, ...]:
        """Section down to the code itself."""
        chain = [self.get(code)]
        while chain[-1].parent:
            chain.append(self._by_code[chain[-1].parent])
        return tuple(reversed(chain))

    def ancestors(self, code: object) -> tuple[str, ...]:
        return tuple(c.code for c in self.path(code)[:-1])

    def children(self, code: object | None = None) -> tuple[Category, ...]:
        key = None if code is None else self.normalize(code)
        return tuple(self._by_code[c] for c in self._children.get(key, ()))

    def sections(self) -> tuple[Category, ...]:
        return self.children(None)

    def is_leaf(self, code: object) -> bool:
        return not self._children.get(self.normalize(code))

    def leaves(self) -> tuple[Category, ...]:
        return tuple(c for c in self._by_code.values() if not self._children.get(c.code))

    def level(self, code: object) -> LevelName:
        return self.get(code).level_name


@lru_cache(maxsize=4)
def load_taxonomy(directory: str | None = None) -> Taxonomy:
    """The shared taxonomy; cached because it is immutable and read on every request."""
    return Taxonomy.from_directory(Path(directory) if directory else taxonomy_dir())
