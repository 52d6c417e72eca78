"""Service fixtures: an app per test on its own SQLite file or PostgreSQL schema, tiny model."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api_keys import create_api_key
from service.app import create_app
from service.config import Settings
from service.db import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "ICCS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    settings: Settings
    keys: dict[str, str]  # role -> plaintext key

    def headers(self, role: str = "submitter") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def db(self) -> Database:
        database: Database = self.app.state.db
        return database


ServiceFactory = Callable[..., AbstractContextManager[Service]]


def make_settings(tmp_path: Path, tiny_bundle: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": tmp_path,
        "model_path": tiny_bundle,
        "rate_limit_per_minute": 0,
        "auth_cache_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy instead of migrating from scratch (~0.3 s each)."""
    path = tmp_path_factory.mktemp("template") / "iccs.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


_template: list[Path] = []


@pytest.fixture(autouse=True)
def _sqlite_template(migrated_sqlite: Path) -> Iterator[None]:
    _template[:] = [migrated_sqlite]
    yield
    _template.clear()


def create_keys(settings: Settings, roles: tuple[str, ...]) -> dict[str, str]:
    target = settings.data_dir / "iccs.db"
    if settings.database_url is None and _template and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_template[0], target)
    database = Database(settings.sqlalchemy_url)
    database.upgrade()  # a no-op on the copy
    keys = {}
    with database.session() as session:
        for role in roles:
            keys[role] = create_api_key(session, role, f"test {role}")[1]
    database.dispose()
    return keys


@pytest.fixture
def service_factory(tmp_path: Path, tiny_bundle: Path) -> ServiceFactory:
    """`with service_factory(max_items=3) as svc:` a started app with one key per role."""

    @contextmanager
    def factory(
        roles: tuple[str, ...] = ("submitter", "analyst", "admin"), **overrides: Any
    ) -> Iterator[Service]:
        settings = make_settings(tmp_path, tiny_bundle, **overrides)
        keys = create_keys(settings, roles)
        app = create_app(settings)
        with TestClient(app) as client:
            yield Service(app, client, settings, keys)

    return factory


@pytest.fixture
def svc(service_factory: ServiceFactory) -> Iterator[Service]:
    with service_factory() as service:
        yield service


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private schema on the local PostgreSQL server; skips when it is unreachable."""
    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = psycopg.connect(conninfo, connect_timeout=2, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {admin.host}:{admin.port}: {exc}")
    schema = f"iccs_test_{uuid.uuid4().hex[:10]}"
    connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield admin.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()
