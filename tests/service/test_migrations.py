"""Migrations go up to head, down to base and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from service.db import Database
from service.db.migrate import alembic_config, current_heads, is_up_to_date


def up_down_up(database: Database) -> None:
    database.upgrade()
    assert is_up_to_date(database.engine)
    tables = set(inspect(database.engine).get_table_names())
    assert {"api_keys", "classifications", "batches", "review_items", "store_probe"} <= tables
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_heads(database.engine) == ()
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    database.upgrade()
    assert is_up_to_date(database.engine)
    assert set(inspect(database.engine).get_table_names()) == tables


def test_sqlite_migrations_up_down_up(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'iccs.db'}")
    up_down_up(database)
    database.dispose()


@pytest.mark.postgres
def test_postgres_migrations_up_down_up(postgres_url: str) -> None:
    # A schema of its own: going down to base must not empty the one other tests share.
    from sqlalchemy.engine import make_url

    schema = f"iccs_migrations_{uuid.uuid4().hex[:8]}"
    shared = Database(postgres_url)
    with shared.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    own = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    database = Database(own.render_as_string(hide_password=False))
    try:
        up_down_up(database)
    finally:
        database.dispose()
        with shared.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        shared.dispose()


def test_the_development_key_made_before_0004_is_marked(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'iccs.db'}")
    database.upgrade("0003_reviews")
    with database.engine.begin() as connection:
        for name in ("development", "ops team"):
            connection.execute(
                text(
                    "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) "
                    "VALUES (:name, 'admin', 'iccs_x', :hash, CURRENT_TIMESTAMP)"
                ),
                {"name": name, "hash": name.ljust(64, "0")},
            )
    database.upgrade()
    with database.engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT name, environment FROM api_keys")).all())
    assert rows == {"development": "development", "ops team": None}
    database.dispose()


def test_existing_keys_and_rows_go_to_the_default_agency(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'iccs.db'}")
    database.upgrade("0007_correspondence")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) "
                "VALUES ('ops', 'admin', 'iccs_x', :hash, CURRENT_TIMESTAMP)"
            ),
            {"hash": "0" * 64},
        )
        connection.execute(
            text(
                "INSERT INTO batches (id, state, filename, input_format, id_column, text_column, "
                "top_k, rows_done, rows_rejected, rows_need_review, distinct_texts, "
                "reject_reasons, seconds, attempts, cancel_requested, created_at, updated_at) "
                "VALUES ('b1', 'queued', 'f.csv', 'csv', 'id', 'text', 3, 0, 0, 0, 0, '{}', 0, "
                "0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    database.upgrade()
    with database.engine.connect() as connection:
        keys = connection.execute(text("SELECT agency, cross_agency FROM api_keys")).all()
        batches = connection.execute(text("SELECT agency FROM batches")).all()
    assert [tuple(k) for k in keys] == [("default", 0)]
    assert [tuple(b) for b in batches] == [("default",)]
    database.dispose()
