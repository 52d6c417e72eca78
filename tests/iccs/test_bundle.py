from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iccs.bundle import BundleError, champion_path, load_bundle, save_bundle
from iccs.classifier import ICCSClassifier

TEXTS = ["punched the victim", "possession of cannabis", "Robo con violencia", "음주운전"]


def test_round_trip_gives_identical_probabilities(
    tiny_model: ICCSClassifier, tmp_path: Path
) -> None:
    save_bundle(tiny_model, tmp_path / "b", {"name": "x", "version": "1"})
    loaded, metadata = load_bundle(tmp_path / "b")
    assert metadata["version"] == "1"
    assert loaded.classes_ == tiny_model.classes_
    np.testing.assert_allclose(
        loaded.predict_proba(TEXTS), tiny_model.predict_proba(TEXTS), rtol=1e-5, atol=1e-6
    )


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no model bundle"):
        load_bundle(tmp_path / "nothing")


def test_champion_pointer(tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICCS_MODEL_PATH", raising=False)
    assert champion_path(tiny_bundle.parent.parent) == tiny_bundle
    monkeypatch.setenv("ICCS_MODEL_PATH", "/somewhere/else")
    assert champion_path(tiny_bundle.parent.parent) == Path("/somewhere/else")
