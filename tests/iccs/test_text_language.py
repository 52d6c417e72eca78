"""Normalisation and language guessing: what every expert, the caches and the blend key on."""

from __future__ import annotations

import pytest

from iccs.language import guess_language
from iccs.text import fold, normalize, tokens


@pytest.mark.parametrize(
    ("variants", "canonical"),
    [
        (
            ["THEFT FROM MOTOR VEHICLE", "  theft  from\tmotor vehicle ", "Theft From M/V"],
            "theft from motor vehicle",
        ),
        (["POSS W/I TO SUPPLY", "possess with intent to supply"], "possess with intent to supply"),
        (["Robo C/VIOLENCIA", "robo con violencia", "ROBO CON VIOLENCIA"], "robo con violencia"),
        (["TRÁNSITO", "transito", "Tránsito"], "transito"),
    ],
)
def test_spelling_variants_share_one_normal_form(variants: list[str], canonical: str) -> None:
    assert {normalize(v) for v in variants} == {canonical}


def test_normal_form_is_a_fixed_point_and_keeps_hangul() -> None:
    for text in ["휴대전화 절도", "Lesiones leves en riña", "ＡＢＨ　assault"]:
        once = normalize(text)
        assert normalize(once) == once
    assert normalize("휴대전화 절도") == "휴대전화 절도"  # no decomposition into jamo
    assert normalize("ＡＢＨ　assault") == "actual bodily harm assault"  # NFKC, then expanded
    assert fold("Niño") == "nino"


def test_tokens_are_words_of_the_normal_form() -> None:
    words = ["hurto", "de", "celular", "en", "la", "via", "publica"]
    assert tokens("Hurto de celular, en la vía pública!") == words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("theft of a pedal cycle from outside the station", "en"),
        ("Hurto de celular en la vía pública sin violencia", "es"),
        ("정보통신망이용촉진및정보보호등에관한법률위반(명예훼손)", "ko"),
        ("ลักทรัพย์ในเคหสถาน", "other"),
        ("12345 --", "other"),
    ],
)
def test_language_guess(text: str, language: str) -> None:
    assert guess_language(text) == language
