"""The review domain stays free of the web layer: `service.api` depends on it, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import service.reviews

REVIEWS = Path(service.reviews.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_review_module_imports_the_api_layer() -> None:
    modules = sorted(REVIEWS.rglob("*.py"))
    assert len(modules) > 5  # the folder was found
    offenders = {
        str(path.relative_to(REVIEWS)): sorted(
            name for name in _imported_modules(path) if name.split(".")[:2] == ["service", "api"]
        )
        for path in modules
    }
    assert {path: names for path, names in offenders.items() if names} == {}
