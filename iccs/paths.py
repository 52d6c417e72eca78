"""Where the project's data lives; every path can be overridden (see `iccs/environment.py`)."""

from __future__ import annotations

from pathlib import Path

from iccs.environment import PROJECT_ROOT, core_settings

__all__ = ["PROJECT_ROOT", "corpus_path", "models_dir", "taxonomy_dir"]


def taxonomy_dir() -> Path:
    return core_settings().taxonomy_dir


def corpus_path() -> Path:
    return core_settings().corpus


def models_dir() -> Path:
    return core_settings().models_dir
