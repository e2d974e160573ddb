"""Storage: SQLAlchemy Core tables, the engine factory (SQLite default, PostgreSQL), transactions with
bounded retries, and Alembic migrations."""
