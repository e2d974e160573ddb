"""Test databases. CUNGUAN_TEST_DB picks the engine: `sqlite` (default) or `postgresql`.

PostgreSQL comes from CUNGUAN_TEST_PG_URL (default postgres@127.0.0.1:5432/test). When it is asked for
and cannot be reached, the run fails: it never silently skips. Each test gets a migrated database in
the state the migrations leave it: on SQLite a copy of a template file migrated once per session; on
PostgreSQL one database per session, migrated once and reset before each test (every table emptied,
tables a test made dropped, the rows the migrations seeded put back, sequences restarted — CREATE DATABASE per test costs ~1 s
here). Either way tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from cunguan.db.engine import create_engine
from cunguan.db.migrate import upgrade

DB_KIND = os.environ.get("CUNGUAN_TEST_DB", "sqlite")
PG_URL = os.environ.get("CUNGUAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

if DB_KIND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"CUNGUAN_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}")


def _pg_admin() -> Engine:
    return sa_create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_url_for(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


class TestDatabases:
    """Makes fresh migrated databases from a session template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.kind = DB_KIND
        self.prefix = f"cunguan_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.count = 0
        if self.kind == "postgresql":
            self.admin = _pg_admin()
            try:
                with self.admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(f"PostgreSQL was asked for (CUNGUAN_TEST_DB=postgresql) but {PG_URL} is unreachable: {exc}") from exc
            self.template = f"{self.prefix}_tpl"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            engine = create_engine(_pg_url_for(self.template))
        else:
            self.template_path = workdir / "template.sqlite3"
            engine = create_engine(f"sqlite:///{self.template_path}")
        upgrade(engine)
        engine.dispose()
        if self.kind == "postgresql":
            self._snapshot_pg()

    def new_url(self) -> str:
        self.count += 1
        if self.kind == "postgresql":
            self._reset_pg()
            return _pg_url_for(self.template)
        path = self.workdir / f"db{self.count}.sqlite3"
        shutil.copyfile(self.template_path, path)
        return f"sqlite:///{path}"

    def _snapshot_pg(self) -> None:
        """Remember the tables, their seeded rows and the sequences, right after migrating."""
        url = _pg_url_for(self.template)
        eng = sa_create_engine(url)
        with eng.connect() as conn:
            self.pg_tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
            self.pg_sequences = [r[0] for r in conn.execute(text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))]
            self.pg_seed: dict[str, list[dict]] = {}
            for table in self.pg_tables:
                rows = [dict(r) for r in conn.execute(text(f'SELECT * FROM "{table}"')).mappings()]  # noqa: S608
                if rows:
                    self.pg_seed[table] = rows
        eng.dispose()

    def _reset_pg(self) -> None:
        with self.admin.connect() as conn:  # nothing of the previous test may hold a lock
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": self.template})
        eng = sa_create_engine(_pg_url_for(self.template), poolclass=NullPool)
        with eng.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK order to follow
            conn.execute(text("SET LOCAL synchronous_commit = off"))  # test scaffolding, not data
            present = {r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))}
            for extra in sorted(present - set(self.pg_tables)):  # made by the previous test itself
                conn.execute(text(f'DROP TABLE "{extra}" CASCADE'))
            for table in self.pg_tables:
                conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608
            for seq in self.pg_sequences:
                conn.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))
            for table, rows in self.pg_seed.items():
                cols = ", ".join(f'"{c}"' for c in rows[0])
                params = ", ".join(f":{c}" for c in rows[0])
                conn.execute(text(f'INSERT INTO "{table}" ({cols}) VALUES ({params})'), rows)  # noqa: S608
        eng.dispose()

    def drop(self, url: str) -> None:
        """Nothing to drop per test: SQLite files go with the temp dir, PostgreSQL is reset on reuse."""

    def close(self) -> None:
        if self.kind == "postgresql":
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    dbs = TestDatabases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.close()


@pytest.fixture
def db_url(test_databases: TestDatabases) -> Iterator[str]:
    """URL of a fresh, migrated, empty database of the engine under test."""
    url = test_databases.new_url()
    yield url
    test_databases.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db_kind() -> str:
    return DB_KIND
