from __future__ import annotations

from collections import Counter

import pytest

from iccs.taxonomy import AmbiguousCodeError, Taxonomy, UnknownCodeError


def test_counts_by_level(taxonomy: Taxonomy) -> None:
    assert len(taxonomy) == 320
    levels = Counter(c.level_name for c in taxonomy)
    assert levels == {"section": 11, "division": 63, "group": 148, "class": 98}


def test_every_parent_exists_and_is_the_prefix(taxonomy: Taxonomy) -> None:
    for category in taxonomy:
        if category.parent is None:
            assert len(category.code) == 2
            continue
        assert category.parent in taxonomy.codes
        assert category.code.startswith(category.parent)
        assert taxonomy.get(category.parent).level == category.level - 1


def test_both_languages_present(taxonomy: Taxonomy) -> None:
    assert all(c.title_en and c.title_es for c in taxonomy)
    assert taxonomy.get("0101").inclusions_en[0] == "Murder"
    assert taxonomy.get("0101").inclusions_es[0] == "Asesinato"


@pytest.mark.parametrize(
    "raw", ["020111", "ICCS020111", "iccs 020111", "20111", "20111.0", " 020111 "]
)
def test_code_normalisation(taxonomy: Taxonomy, raw: str) -> None:
    assert taxonomy.normalize(raw) == "020111"


def test_unknown_code_names_it(taxonomy: Taxonomy) -> None:
    with pytest.raises(UnknownCodeError, match="999999"):
        taxonomy.get("999999")
    with pytest.raises(UnknownCodeError, match="abc"):
        taxonomy.get("abc")
    assert "999999" not in taxonomy


def test_ambiguous_code_is_refused() -> None:
    from iccs.taxonomy import Category

    toy = Taxonomy(
        [
            Category("01", 1, None, "a", "a"),
            Category("0101", 2, "01", "b", "b"),
            Category("101", 2, None, "c", "c"),
        ]
    )
    with pytest.raises(AmbiguousCodeError, match="0101"):
        toy.normalize("101")


def test_tree_navigation(taxonomy: Taxonomy) -> None:
    assert [c.code for c in taxonomy.path("020111")] == ["02", "0201", "02011", "020111"]
    assert taxonomy.parent("020111").code == "02011"
    assert taxonomy.parent("02") is None
    assert [c.code for c in taxonomy.children("02011")] == ["020111", "020112"]
    assert taxonomy.is_leaf("020111") and not taxonomy.is_leaf("0201")
    assert taxonomy.level("0201") == "division"
    assert len(taxonomy.leaves()) == 231
    assert len(taxonomy.sections()) == 11


def test_index_flags_codes_outside_the_structure(taxonomy: Taxonomy) -> None:
    flagged = [t for t in taxonomy.index_terms if not t.code_in_structure]
    assert len(taxonomy.index_terms) == 968
    assert len(flagged) == 16
    assert all(t.code in taxonomy for t in taxonomy.index_terms)
