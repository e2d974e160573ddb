"""The shared MetaData, with a naming convention so constraint names are stable on both engines."""

from sqlalchemy import BigInteger, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A 64-bit key that is still SQLite's rowid alias (INTEGER PRIMARY KEY) so inserts append cheaply.
Id64 = BigInteger().with_variant(Integer(), "sqlite")
