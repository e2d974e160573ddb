"""All tables on one MetaData, one module per room, so Alembic sees the whole schema.

Importing a room's module registers its tables: ledger; custody platforms and users; the NOTIFY outbox;
bank-hosted page sessions; the payment-company and payout simulators; cross-bank collection (interbank,
retail, sms, sweep); the operator console.
"""

from cunguan.db.tables import (  # noqa: F401
    console,
    custody_async,
    custody_fees,
    custody_money,
    custody_plans,
    custody_platforms,
    custody_trades,
    custody_users,
    interbank,
    ledger,
    migration,
    notify,
    page_sessions,
    payments,
    reconcile,
    retail,
    sms,
    sweep,
)
from cunguan.db.tables.base import metadata

__all__ = ["metadata"]
