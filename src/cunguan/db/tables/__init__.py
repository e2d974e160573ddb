"""All tables on one MetaData, one module per room, so Alembic sees the whole schema."""

from cunguan.db.tables.base import metadata
from cunguan.db.tables import ledger  # noqa: F401  (registers the ledger tables)

__all__ = ["metadata"]
