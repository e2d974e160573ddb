"""Our bank's retail side, only what collection needs: customers (with online-banking login and the
transaction phone) and their accounts at our bank, each backed by a ledger account."""

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, String, Table

from cunguan.db.tables.base import Id64, metadata

retail_customers = Table(
    "retail_customers",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_no", String(20), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("login_name", String(40), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("mobile", String(20), nullable=False),  # the online-banking transaction phone (SMS)
    Column("last_manual_run_us", BigInteger, nullable=True),  # manual-collection cooldown
    Column("created_us", BigInteger, nullable=False),
)

retail_accounts = Table(
    "retail_accounts",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("customer_id", Id64, ForeignKey("retail_customers.id"), nullable=False),
    Column("account_no", String(40), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("online_banking", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("ledger_account_id", Id64, ForeignKey("accounts.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    CheckConstraint("kind IN ('DEBIT_CARD', 'PASSBOOK', 'CURRENT')", name="kind_known"),
    CheckConstraint("status IN ('NORMAL', 'CLOSED')", name="status_known"),
)

retail_sessions = Table(
    "retail_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the token; the token itself is never stored
    Column("customer_id", Id64, ForeignKey("retail_customers.id"), nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)
