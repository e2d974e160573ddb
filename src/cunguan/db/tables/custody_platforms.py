"""Platforms (the bank's custody customers), their request-signing public keys, and the bank's own
signing key.

- `custody_platforms`: one row per platform number; `custody_account_id` is the ledger account that
  mirrors the real custody account (the asset side: it may overdraw, its balance is minus what the
  bank owes the platform's users).
- `custody_platform_keys`: public keys by (platform_no, key_serial). Rotation adds a serial; every
  ACTIVE serial verifies, so a platform can switch keys without a flag day.
- `custody_bank_keys`: the bank's response/notification signing key pair, generated on first use.
  The private key lives here (PKCS#8 PEM) so every server process on one database signs with the same
  key; `CUNGUAN_BANK_PRIVATE_KEY_FILE` overrides it with a file (see custody/platforms.py).
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, String, Table, Text

from cunguan.db.tables.base import Id64, metadata

custody_platforms = Table(
    "custody_platforms",
    metadata,
    Column("platform_no", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("notify_url", String(500), nullable=False),
    Column("status", String(12), nullable=False),
    Column("custody_account_id", Id64, ForeignKey("accounts.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("status IN ('ACTIVE', 'DISABLED')", name="status_known"),
)

custody_platform_keys = Table(
    "custody_platform_keys",
    metadata,
    Column("platform_no", String(32), ForeignKey("custody_platforms.platform_no"), primary_key=True),
    Column("key_serial", String(32), primary_key=True),
    Column("public_key_pem", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("status IN ('ACTIVE', 'REVOKED')", name="status_known"),
)

custody_bank_keys = Table(
    "custody_bank_keys",
    metadata,
    Column("key_serial", String(32), primary_key=True),
    Column("public_key_pem", Text, nullable=False),
    Column("private_key_pem", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)
