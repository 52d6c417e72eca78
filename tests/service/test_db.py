"""Migrations match the models, and the service works the same on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

import service.db.models  # noqa: F401
from service.app import create_app
from service.db import Base, Database
from service.db.migrate import current_heads, is_up_to_date
from tests.service.conftest import create_keys, make_settings


def assert_schema_matches_models(database: Database) -> None:
    database.upgrade()
    assert is_up_to_date(database.engine)
    assert current_heads(database.engine)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    database.upgrade()  # idempotent


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'sub' / 'iccs.db'}")
    assert_schema_matches_models(database)
    assert (tmp_path / "sub" / "iccs.db").is_file()


def test_default_database_is_sqlite_under_the_data_dir(tmp_path: Path, tiny_bundle) -> None:
    settings = make_settings(tmp_path, tiny_bundle)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'iccs.db'}"


@pytest.mark.postgres
def test_postgres_migrations_match_the_models(postgres_url: str) -> None:
    database = Database(postgres_url)
    assert database.backend == "postgresql"
    assert_schema_matches_models(database)
    database.dispose()


@pytest.mark.postgres
def test_service_on_postgres(postgres_url: str, tmp_path: Path, tiny_bundle: Path) -> None:
    settings = make_settings(tmp_path, tiny_bundle, database_url=postgres_url)
    keys = create_keys(settings, ("submitter", "admin"))
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.db.backend == "postgresql"
        headers = {"Authorization": f"Bearer {keys['submitter']}"}
        assert client.post("/v1/classify", json={"text": "drink driving"}).status_code == 401
        single = client.post(
            "/v1/classify", json={"text": "drink driving", "case_id": "PG-1"}, headers=headers
        )
        assert single.status_code == 200, single.text
        items = [{"id": str(i), "text": f"theft of bicycle number {i}"} for i in range(50)]
        batch = client.post("/v1/classify", json={"items": items}, headers=headers)
        assert batch.status_code == 200 and len(batch.json()["results"]) == 50
        assert client.get("/readyz").status_code == 200
        forbidden = client.post("/v1/models/reload", headers=headers)
        assert forbidden.status_code == 403

        from uuid import UUID

        from sqlalchemy import func, select

        from service.db.models import Classification

        with app.state.db.session() as session:
            # the schema is shared by the session's PostgreSQL tests: count this test's rows only
            ids = [single.json()["classification_id"]] + [
                r["classification_id"] for r in batch.json()["results"]
            ]
            stored = select(func.count()).where(Classification.id.in_([UUID(i) for i in ids]))
            assert session.scalar(stored) == 51
            row = session.scalar(select(Classification).where(Classification.case_id == "PG-1"))
            assert row is not None and row.suggestions == single.json()["suggestions"]
            assert row.created_at.tzinfo is not None
