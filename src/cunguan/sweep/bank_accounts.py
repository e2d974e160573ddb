"""The bank's own ledger accounts that collection posts to.

- IBPS settlement (our reserve account at the central bank as seen by IBPS): money arrives through it,
  so a collected amount is debit settlement / credit the customer's account; outside-world account,
  may overdraw.
- interbank fee expense: the 1-yuan IBPS fee per debit is debit expense / credit settlement.
- collection fee income: a customer fee (0 by default) is debit customer / credit income.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from cunguan.db import ledger_store

SETTLEMENT = "bank:ibps:settlement"
FEE_EXPENSE = "bank:expense:ibps-fee"
FEE_INCOME = "bank:income:sweep-fee"


@dataclass(frozen=True, slots=True)
class BankAccounts:
    settlement: int
    fee_expense: int
    fee_income: int


def bank_accounts(conn: Connection) -> BankAccounts:
    """Open (first time) or find the bank's accounts; idempotent."""
    return BankAccounts(
        ledger_store.open_account(conn, SETTLEMENT, owner_type="BANK", owner_ref="IBPS", allow_overdraw=True),
        ledger_store.open_account(conn, FEE_EXPENSE, owner_type="BANK", owner_ref="EXPENSE", allow_overdraw=True),
        ledger_store.open_account(conn, FEE_INCOME, owner_type="BANK", owner_ref="INCOME", allow_overdraw=True),
    )
