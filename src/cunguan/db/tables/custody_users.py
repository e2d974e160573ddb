"""Custody users and what hangs off them: cards, trade passwords, authorizations, entrust-pay grants,
enterprise documents and reviews, and the processed-request register (requestNo idempotency).

Every row carries a plain `platform_no` and every lookup is keyed by (platform_no, platform_user_no):
a platform never reaches another platform's users. The database enforces uniqueness where a race
could otherwise break a rule: one user per (platform, platformUserNo), one personal ID number per
platform (`personal_id_key`, NULL for users it does not apply to), one requestNo per platform.

Times are integer microseconds since the epoch, UTC (`*_us`); authorization expiry is a Beijing date
kept as `yyyyMMdd` text (the wire's own form, so it sorts and compares as a date).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cunguan.db.tables.base import Id64, metadata

custody_users = Table(
    "custody_users",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("platform_user_no", String(50), nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("user_role", String(32), nullable=False),
    Column("name", String(100), nullable=True),
    Column("id_card_type", String(24), nullable=True),
    Column("id_card_no", String(50), nullable=True),
    # Set to id_card_no for personal users only, so the unique index below enforces ID_CARD_NO_UNIQUE.
    Column("personal_id_key", String(50), nullable=True),
    Column("mobile", String(20), nullable=True),
    Column("bankcard_no", String(50), nullable=True),
    Column("bankcode", String(8), nullable=True),
    Column("access_type", String(16), nullable=False),
    Column("audit_status", String(8), nullable=False),
    Column("active_status", String(12), nullable=False),
    Column("is_import_user_activate", Boolean, nullable=False, server_default="1"),
    Column("ledger_account_id", Id64, ForeignKey("accounts.id"), nullable=False),
    Column("request_no", String(50), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "platform_user_no", name="uq_custody_users_platform_user"),
    UniqueConstraint("platform_no", "personal_id_key", name="uq_custody_users_platform_id"),
    CheckConstraint("user_type IN ('PERSONAL', 'ORGANIZATION')", name="user_type_known"),
    CheckConstraint("audit_status IN ('AUDIT', 'PASSED', 'BACK', 'REFUSED')", name="audit_status_known"),
    CheckConstraint("active_status IN ('ACTIVATED', 'DEACTIVATED')", name="active_status_known"),
    CheckConstraint("access_type IN ('FULL_CHECKED', 'NOT_AUTH', 'AUDIT_AUTH', 'PART_CHECKED')",
                    name="access_type_known"),
)

custody_enterprises = Table(
    "custody_enterprises",
    metadata,
    Column("user_id", Id64, ForeignKey("custody_users.id"), primary_key=True, autoincrement=False),
    Column("enterprise_name", String(100), nullable=False),
    Column("bank_license", String(50), nullable=False),
    Column("org_no", String(50), nullable=True),
    Column("business_license", String(50), nullable=True),
    Column("tax_no", String(50), nullable=True),
    Column("unified_code", String(50), nullable=True),
    Column("credit_code", String(50), nullable=True),
    Column("legal", String(50), nullable=False),
    Column("legal_id_card_type", String(24), nullable=False),
    Column("legal_id_card_no", String(50), nullable=False),
    Column("contact", String(50), nullable=False),
    Column("contact_phone", String(20), nullable=False),
    Column("remark", String(200), nullable=True),
    Column("updated_us", BigInteger, nullable=False),
)

custody_user_reviews = Table(
    "custody_user_reviews",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("user_id", Id64, ForeignKey("custody_users.id"), nullable=False),
    Column("operator_id", String(50), nullable=False),
    Column("from_status", String(8), nullable=False),
    Column("to_status", String(8), nullable=False),
    Column("remark", String(200), nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_custody_user_reviews_user", "user_id", "id"),
)

custody_card_changes = Table(
    "custody_card_changes",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("user_id", Id64, ForeignKey("custody_users.id"), nullable=False),
    Column("service_name", String(40), nullable=False),
    Column("bankcard_no", String(50), nullable=False),
    Column("bankcode", String(8), nullable=False),
    Column("mobile", String(20), nullable=True),
    # AUDIT: waiting for AUDIT_BIND_CARD; PASSED: bound; REFUSED; CANCELLED: superseded or unbound.
    Column("status", String(12), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("decided_us", BigInteger, nullable=True),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_card_changes_request"),
    CheckConstraint("status IN ('AUDIT', 'PASSED', 'REFUSED', 'CANCELLED')", name="status_known"),
    Index("ix_custody_card_changes_user", "user_id", "status"),
)

custody_passwords = Table(
    "custody_passwords",
    metadata,
    Column("user_id", Id64, ForeignKey("custody_users.id"), primary_key=True, autoincrement=False),
    Column("password_hash", String(200), nullable=False),
    Column("failed_count", Integer, nullable=False, server_default="0"),
    Column("locked", Boolean, nullable=False, server_default="0"),
    Column("locked_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    CheckConstraint("failed_count >= 0", name="failed_nonneg"),
)

custody_authorizations = Table(
    "custody_authorizations",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("user_id", Id64, ForeignKey("custody_users.id"), nullable=False),
    Column("auth_type", String(24), nullable=False),
    Column("fail_date", String(8), nullable=True),  # yyyyMMdd Beijing, last valid day; NULL = no expiry
    Column("amount_cap_fen", BigInteger, nullable=True),  # NULL = no cap
    Column("used_fen", BigInteger, nullable=False, server_default="0"),
    Column("status", String(12), nullable=False),  # ACTIVE / CANCELLED / REPLACED
    Column("request_no", String(50), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("ended_us", BigInteger, nullable=True),
    CheckConstraint("amount_cap_fen IS NULL OR amount_cap_fen > 0", name="cap_positive"),
    CheckConstraint("used_fen >= 0 AND (amount_cap_fen IS NULL OR used_fen <= amount_cap_fen)",
                    name="used_within_cap"),
    CheckConstraint("status IN ('ACTIVE', 'CANCELLED', 'REPLACED')", name="status_known"),
    Index("ix_custody_authorizations_user", "user_id", "auth_type", "status"),
)

custody_entrust_pay = Table(
    "custody_entrust_pay",
    metadata,
    Column("id", Id64, primary_key=True, autoincrement=True),
    Column("platform_no", String(32), nullable=False),
    Column("request_no", String(50), nullable=False),
    Column("borrow_user_id", Id64, ForeignKey("custody_users.id"), nullable=False),
    Column("project_no", String(50), nullable=False),
    Column("entrusted_type", String(12), nullable=False),
    Column("entrusted_user_id", Id64, ForeignKey("custody_users.id"), nullable=False),
    Column("authorize_status", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("platform_no", "request_no", name="uq_custody_entrust_pay_request"),
    UniqueConstraint("platform_no", "project_no", name="uq_custody_entrust_pay_project"),
)

custody_requests = Table(
    "custody_requests",
    metadata,
    Column("platform_no", String(32), primary_key=True),
    Column("request_no", String(50), primary_key=True),
    Column("service_name", String(40), nullable=False),
    Column("platform_user_no", String(50), nullable=True),
    Column("outcome", Text, nullable=False),  # JSON of the result's wire-relevant fields
    Column("created_us", BigInteger, nullable=False),
)
