"""Schema fuzzing: every operation, generated from the OpenAPI document (valid and invalid
requests), with an admin's and a submitter's key, under every schemathesis check.

Bounded and seeded, so it is the same run each time and takes seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.python import asgi

from service.app import create_app
from tests.service.conftest import create_keys, make_settings

EXAMPLES = 30
ROLES = ("admin", "submitter")
# What OpenAPI cannot say is no failure when refused with its documented status: a file's
# content (columns, format: 400 for batches, 422 for correspondence tables), a national code
# sent without a scheme on the item or the request, an ICCS code the taxonomy does not know, a
# period whose start is not before its end.
_ACCEPTED = '"2xx", "3xx", "401", "403", "404", "409", "429", "5xx"'
_REFUSALS = {
    "POST /v1/batches": "400",
    "POST /v1/correspondences/{scheme}/draft": "422",
    "POST /v1/correspondences/{scheme}/import": "422",
    "POST /v1/classify": "422",
    "GET /v1/reviews/dashboard": "422",
    "GET /v1/reviews/dashboard/{table}.csv": "422",
    "GET /v1/reports/counts": "422",
}
CONFIG = schemathesis.Config.from_str(
    "\n".join(
        f'[[operations]]\ninclude-name = "{name}"\n'
        f'checks.positive_data_acceptance.expected-statuses = [{_ACCEPTED}, "{status}"]\n'
        for name, status in _REFUSALS.items()
    )
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzzed_app(
    request: pytest.FixtureRequest, tmp_path: Path, tiny_bundle: Path
) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """An app on each backend that schemathesis starts (its lifespan) and stops afterwards."""
    overrides = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = make_settings(tmp_path, tiny_bundle, **overrides)
    keys = create_keys(settings, ROLES)
    yield create_app(settings), keys
    asgi.shutdown_lifespans()


def test_every_operation_answers_as_documented(
    fuzzed_app: tuple[FastAPI, dict[str, str]],
) -> None:
    app, keys = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )

        @seed(16)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            for role in ROLES:
                case.call_and_validate(headers={"Authorization": f"Bearer {keys[role]}"})

        try:
            run()
        except BaseException as exc:  # hypothesis raises a group of every distinct failure
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    if failures:
        pytest.fail("\n\n".join(f"{label}\n{text}" for label, text in failures.items()))
