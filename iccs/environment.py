"""The core library's settings: the few `ICCS_*` variables `iccs/` reads itself.

The service's settings live in `service/config.py`; `iccs` never imports `service`, so its data
paths and thread count are read here, fresh on each call: `iccs serve` sets
ICCS_EMBEDDER_THREADS for its workers and tests point the paths elsewhere at run time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EMBEDDER_THREADS = 2


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ICCS_", extra="ignore", env_ignore_empty=True)

    taxonomy_dir: Path = Field(
        default=PROJECT_ROOT / "datasets" / "iccs",
        description="Folder of the ICCS taxonomy files.",
        examples=["datasets/iccs"],
    )
    corpus: Path = Field(
        default=PROJECT_ROOT / "datasets" / "corpus" / "iccs_corpus.csv",
        description="The labelled corpus (training, and the taxonomy search's examples).",
        examples=["datasets/corpus/iccs_corpus.csv"],
    )
    models_dir: Path = Field(
        default=PROJECT_ROOT / "models",
        description="Where bundles and their CHAMPION pointers live.",
        examples=["models"],
    )
    model_path: Path | None = Field(
        default=None,
        description="A bundle that overrides the champion.",
        examples=["models/iccs-classifier/20261206-134009"],
    )
    embedder_threads: int | None = Field(
        default=None,
        ge=1,
        description="Threads of each process's embedders; unset: DEFAULT_EMBEDDER_THREADS, "
        "or under `iccs serve` the cores divided among its workers.",
        examples=[2],
    )


def core_settings() -> CoreSettings:
    return CoreSettings()
