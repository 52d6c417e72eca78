"""Relevance search over the ICCS: BM25F over each code's titles, inclusions, index and legal
terms, definitions and the labelled corpus's texts, in English, Spanish and Korean.

A code's fields are weighted (a title match counts more than a word in a definition), and each
term's weight is its rarity across codes, so "robo con violencia" is ranked by "robo" (rare:
robbery and theft) rather than "con" or "violencia" (everywhere). Words are case- and
accent-folded with police abbreviations expanded (`iccs.text.tokens`), with a light plural
strip for English and Spanish; Korean, which attaches particles to words, is indexed as
character bigrams. The index is built once per process (about a second) and cached.
"""

from __future__ import annotations

import bisect
import csv
import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from iccs.paths import corpus_path, taxonomy_dir
from iccs.taxonomy import Taxonomy, load_taxonomy
from iccs.text import tokens

logger = logging.getLogger(__name__)

SearchLanguage = Literal["en", "es", "ko"]
# How much a match in each field counts; titles and the manual's index name a code best.
FIELD_WEIGHTS = {
    "title": 3.0,
    "term": 2.0,
    "inclusion": 1.5,
    "corpus": 1.0,
    "definition": 0.5,
}
K1 = 1.2
B = 0.75
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True, slots=True)
class SearchHit:
    code: str
    title: str
    score: float
    matched: str = field(default="")


def analyze(text: str) -> list[str]:
    """Index terms of a text: folded words (plural stripped), Korean as character bigrams."""
    terms: list[str] = []
    for word in tokens(text):
        if _HANGUL.search(word):
            terms.extend(
                [word] if len(word) < 2 else [word[i : i + 2] for i in range(len(word) - 1)]
            )
        else:
            terms.append(_singular(word))
    return terms


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class SearchIndex:
    """Per term, each code's BM25F weight (idf included); and the texts to show what matched."""

    def __init__(self, taxonomy: Taxonomy, texts: dict[str, dict[str, list[str]]]) -> None:
        self.taxonomy = taxonomy
        self._titles_ko: dict[str, str] = {}
        # code -> its texts with their terms, best fields first (to say what matched)
        self._analyzed: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
        weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for name, weight in FIELD_WEIGHTS.items():
            counts: dict[str, Counter[str]] = {}
            for code, fields in texts.items():
                counts[code] = Counter()
                for text in fields.get(name, []):
                    terms = analyze(text)
                    counts[code].update(terms)
                    self._analyzed[code].append((text, frozenset(terms)))
            lengths = {code: sum(c.values()) for code, c in counts.items() if c}
            average = sum(lengths.values()) / len(lengths) if lengths else 1.0
            for code, term_counts in counts.items():
                if not term_counts:
                    continue
                norm = K1 * (1 - B + B * lengths[code] / average)
                for term, tf in term_counts.items():
                    weights[term][code] += weight * tf * (K1 + 1) / (tf + norm)
        n = max(len(texts), 1)
        self._postings: dict[str, dict[str, float]] = {}
        for term, per_code in weights.items():
            df = len(per_code)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            self._postings[term] = {code: idf * w for code, w in per_code.items()}
        self._vocabulary = sorted(self._postings)

    def set_korean_titles(self, titles: dict[str, str]) -> None:
        self._titles_ko = titles

    def _expand(self, term: str) -> list[tuple[str, float]]:
        """The term itself, or (for 4+ letters not in any code) the words it begins, so that
        'burgl' finds 'burglary'; those count half."""
        if term in self._postings or len(term) < 4:
            return [(term, 1.0)]
        start = bisect.bisect_left(self._vocabulary, term)
        found = []
        for word in self._vocabulary[start : start + 20]:
            if not word.startswith(term):
                break
            found.append((word, 0.5))
        return found

    def _terms(self, query: str) -> dict[str, float]:
        """The index terms a query looks for, with the share of their weight they count with."""
        terms: dict[str, float] = {}
        for term in dict.fromkeys(analyze(query)):
            for found, share in self._expand(term):
                terms[found] = max(share, terms.get(found, 0.0))
        return terms

    def scores(self, query: str) -> dict[str, float]:
        scores: dict[str, float] = defaultdict(float)
        for term, share in self._terms(query).items():
            for code, weight in self._postings.get(term, {}).items():
                scores[code] += share * weight
        return scores

    def _idf(self, term: str) -> float:
        return max(self._postings.get(term, {}).values(), default=0.0)

    def _matched(self, code: str, query_terms: set[str]) -> str:
        """The text of the code that shares most of the query's rare terms."""
        best, best_score = "", 0.0
        for text, terms in self._analyzed.get(code, []):
            overlap = sum(self._idf(t) for t in query_terms & terms)
            if overlap > best_score:
                best, best_score = text, overlap
        return best

    def title(self, code: str, language: SearchLanguage) -> str:
        if language == "ko":
            return self._titles_ko.get(code) or self.taxonomy.get(code).title_en
        return self.taxonomy.get(code).title(language)

    def search(
        self, query: str, limit: int = 10, language: SearchLanguage = "en"
    ) -> list[SearchHit]:
        """Codes by relevance; a code typed in finds itself first."""
        if not analyze(query):
            return []
        scores = self.scores(query)
        if query in self.taxonomy:
            scores[self.taxonomy.normalize(query)] = math.inf
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[:limit]
        terms = set(self._terms(query))
        top = max((s for _, s in ranked if s != math.inf), default=1.0) or 1.0
        return [
            SearchHit(
                code=code,
                title=self.title(code, language),
                score=1.0 if score == math.inf else round(score / top, 4),
                matched=code if score == math.inf else self._matched(code, terms),
            )
            for code, score in ranked
        ]


def _taxonomy_texts(taxonomy: Taxonomy) -> dict[str, dict[str, list[str]]]:
    texts: dict[str, dict[str, list[str]]] = {c.code: defaultdict(list) for c in taxonomy}
    for c in taxonomy:
        fields = texts[c.code]
        fields["title"] += [c.title_en, c.title_es]
        fields["inclusion"] += [*c.inclusions_en, *c.inclusions_es]
        fields["definition"] += [t for t in (c.description_en, c.description_es) if t]
    for term in taxonomy.index_terms:
        if term.code in texts:
            texts[term.code]["term"].append(term.term)
    return texts


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_index(taxonomy: Taxonomy, directory: Path, corpus: Path | None) -> SearchIndex:
    """The index from the taxonomy, its Korean and legal-term files, and the corpus's texts
    (training and development rows only: the test split stays unseen)."""
    texts = _taxonomy_texts(taxonomy)
    titles_ko = {}
    for row in _read_rows(directory / "iccs_v1_ko.csv"):
        if row["code"] in texts:
            fields = texts[row["code"]]
            fields["title"].append(row["title_ko"])
            fields["inclusion"] += [t.strip() for t in row["inclusions_ko"].split(";") if t.strip()]
            if row["description_ko"]:
                fields["definition"].append(row["description_ko"])
            titles_ko[row["code"]] = row["title_ko"]
    for row in _read_rows(directory / "legal_terms.csv"):
        if row["iccs_code"] in texts:
            texts[row["iccs_code"]]["term"].append(row["term"])
    corpus_rows = _read_rows(corpus) if corpus is not None else []
    for row in corpus_rows:
        if row.get("split") != "test" and row.get("iccs_code") in texts:
            texts[row["iccs_code"]]["corpus"].append(row["text"])
    if corpus is not None and not corpus_rows:
        logger.info("no corpus at %s: the search uses the taxonomy's own texts only", corpus)
    index = SearchIndex(taxonomy, {code: dict(fields) for code, fields in texts.items()})
    index.set_korean_titles(titles_ko)
    return index


@lru_cache(maxsize=2)
def load_search_index(directory: str | None = None, corpus: str | None = None) -> SearchIndex:
    """The shared index (built on first use, then cached: the data never changes at run time)."""
    folder = Path(directory) if directory else taxonomy_dir()
    return build_index(load_taxonomy(directory), folder, Path(corpus) if corpus else corpus_path())


def search(query: str, limit: int = 10, language: SearchLanguage = "en") -> list[SearchHit]:
    return load_search_index().search(query, limit=limit, language=language)
