"""The one Settings: sections read their documented `ICCS_*` names, old names included."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from iccs.bulk.formats import DEFAULT_MAX_TEXT_LENGTH
from iccs.bundle import champion_path
from iccs.embedders import _threads
from iccs.environment import PROJECT_ROOT
from iccs.paths import corpus_path, models_dir, taxonomy_dir
from iccs.text import MAX_TEXT_CHARS
from service.config import Settings


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a developer's .env must not leak into these tests


def test_sections_read_their_flat_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICCS_MEMORY_ENABLED", "false")
    monkeypatch.setenv("ICCS_MEMORY_REFRESH_SECONDS", "7")
    monkeypatch.setenv("ICCS_LOG_LEVEL", "debug")
    monkeypatch.setenv("ICCS_LOG_FORMAT", "json")
    monkeypatch.setenv("ICCS_BATCH_LEASE_SECONDS", "12")
    monkeypatch.setenv("ICCS_REVIEW_QC_RATE", "0.25")
    monkeypatch.setenv("ICCS_REVIEW_SECTION_THRESHOLDS", '{"01": 0.9}')
    settings = Settings()
    assert settings.memory.enabled is False and settings.memory.refresh_seconds == 7
    assert settings.logging.level == "DEBUG" and settings.logging.format == "json"
    assert settings.jobs.lease_seconds == 12
    assert settings.reviews.qc_rate == 0.25
    assert settings.reviews.section_thresholds == {"01": 0.9}


def test_http_batcher_size_has_its_own_name_and_keeps_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().http.batch_max_texts == 64
    monkeypatch.setenv("ICCS_BATCH_MAX_TEXTS", "16")
    assert Settings().http.batch_max_texts == 16
    monkeypatch.setenv("ICCS_HTTP_BATCH_MAX_TEXTS", "8")
    assert Settings().http.batch_max_texts == 8  # the new name wins


def test_one_text_length_limit_for_http_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_text_chars == MAX_TEXT_CHARS == DEFAULT_MAX_TEXT_LENGTH
    monkeypatch.setenv("ICCS_BATCH_MAX_TEXT_LENGTH", "500")  # the old batch-only name
    assert Settings().max_text_chars == 500
    monkeypatch.setenv("ICCS_MAX_TEXT_CHARS", "700")
    assert Settings().max_text_chars == 700


def test_bad_section_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICCS_REVIEW_SECTION_THRESHOLDS", '{"99": 0.9}')
    with pytest.raises(ValidationError, match="unknown ICCS section"):
        Settings()
    monkeypatch.delenv("ICCS_REVIEW_SECTION_THRESHOLDS")
    monkeypatch.setenv("ICCS_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError):
        Settings()


def test_settings_read_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICCS_ENV", raising=False)
    monkeypatch.delenv("ICCS_REVIEW_QC_RATE", raising=False)
    (tmp_path / ".env").write_text("ICCS_ENV=development\nICCS_REVIEW_QC_RATE=0.5\n")
    settings = Settings()
    assert settings.is_development and settings.reviews.qc_rate == 0.5
    assert settings.batches_dir == settings.data_dir / "batches"


def test_core_settings_are_read_fresh_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TAXONOMY_DIR", "CORPUS", "MODELS_DIR", "MODEL_PATH", "EMBEDDER_THREADS"):
        monkeypatch.delenv(f"ICCS_{name}", raising=False)
    assert models_dir() == PROJECT_ROOT / "models" and _threads() == 2
    monkeypatch.setenv("ICCS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("ICCS_TAXONOMY_DIR", str(tmp_path / "iccs"))
    monkeypatch.setenv("ICCS_CORPUS", str(tmp_path / "corpus.csv"))
    monkeypatch.setenv("ICCS_EMBEDDER_THREADS", "3")
    assert models_dir() == tmp_path / "models" and taxonomy_dir() == tmp_path / "iccs"
    assert corpus_path() == tmp_path / "corpus.csv" and _threads() == 3
    assert champion_path() is None  # no CHAMPION under the new folder
    monkeypatch.setenv("ICCS_MODEL_PATH", "")  # empty counts as unset
    assert champion_path() is None
    monkeypatch.setenv("ICCS_MODEL_PATH", str(tmp_path / "pinned"))
    assert champion_path() == tmp_path / "pinned"
