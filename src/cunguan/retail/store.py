"""Retail customers and their accounts at our bank. Each account is a ledger account (owner_type
RETAIL) on the same ledger as everything else, so collected money lands in real balances."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db import ledger_store
from cunguan.db.ledger_store import now_us
from cunguan.db.tables.retail import retail_accounts, retail_customers
from cunguan.retail.auth import hash_password
from cunguan.retail.errors import Duplicate, UnknownAccount, UnknownCustomer


class AccountKind(StrEnum):
    DEBIT_CARD = "DEBIT_CARD"  # 借记卡
    PASSBOOK = "PASSBOOK"  # 活期一本通
    CURRENT = "CURRENT"  # 普通活期


KIND_LABEL = {AccountKind.DEBIT_CARD: "借记卡", AccountKind.PASSBOOK: "活期一本通", AccountKind.CURRENT: "普通活期"}


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    customer_no: str
    name: str
    login_name: str
    mobile: str


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    customer_id: int
    account_no: str
    kind: AccountKind
    online_banking: bool
    status: str
    ledger_account_id: int

    @property
    def masked(self) -> str:
        return mask_account(self.account_no)


def mask_account(account_no: str) -> str:
    """Only the last four digits leave the bank's pages and logs."""
    return "****" + account_no[-4:] if len(account_no) > 4 else "****"


def create_customer(conn: Connection, *, customer_no: str, name: str, login_name: str, password: str,
                    mobile: str) -> Customer:
    if conn.execute(select(retail_customers.c.id).where(
            (retail_customers.c.customer_no == customer_no) | (retail_customers.c.login_name == login_name))).first():
        raise Duplicate("customer number or login name already exists")
    cid = conn.execute(retail_customers.insert().values(
        customer_no=customer_no, name=name, login_name=login_name, password_hash=hash_password(password),
        mobile=mobile, created_us=now_us())).inserted_primary_key[0]
    return Customer(int(cid), customer_no, name, login_name, mobile)


def open_account(conn: Connection, customer: Customer, *, account_no: str, kind: AccountKind,
                 online_banking: bool = True) -> Account:
    if conn.execute(select(retail_accounts.c.id).where(retail_accounts.c.account_no == account_no)).first():
        raise Duplicate("account number already exists")
    ledger_id = ledger_store.open_account(conn, f"retail:{account_no}", owner_type="RETAIL",
                                          owner_ref=customer.customer_no)
    aid = conn.execute(retail_accounts.insert().values(
        customer_id=customer.id, account_no=account_no, kind=kind.value, online_banking=online_banking,
        status="NORMAL", ledger_account_id=ledger_id, created_us=now_us())).inserted_primary_key[0]
    return Account(int(aid), customer.id, account_no, kind, online_banking, "NORMAL", ledger_id)


def _customer(row) -> Customer:
    return Customer(int(row.id), row.customer_no, row.name, row.login_name, row.mobile)


def get_customer(conn: Connection, customer_id: int) -> Customer:
    row = conn.execute(select(retail_customers).where(retail_customers.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomer("no such customer")
    return _customer(row)


def find_customer(conn: Connection, ref: str) -> Customer:
    """By customer number or login name (operators' CLI)."""
    row = conn.execute(select(retail_customers).where(
        (retail_customers.c.customer_no == ref) | (retail_customers.c.login_name == ref))).first()
    if row is None:
        raise UnknownCustomer(f"no customer {ref!r}")
    return _customer(row)


def _account(row) -> Account:
    return Account(int(row.id), int(row.customer_id), row.account_no, AccountKind(row.kind), bool(row.online_banking),
                   row.status, int(row.ledger_account_id))


def accounts_of(conn: Connection, customer_id: int) -> list[Account]:
    rows = conn.execute(select(retail_accounts).where(retail_accounts.c.customer_id == customer_id)
                        .order_by(retail_accounts.c.id))
    return [_account(r) for r in rows]


def get_account(conn: Connection, account_id: int) -> Account:
    row = conn.execute(select(retail_accounts).where(retail_accounts.c.id == account_id)).first()
    if row is None:
        raise UnknownAccount("no such account")
    return _account(row)


def balance_fen(conn: Connection, account: Account) -> int:
    return ledger_store.get_balance(conn, account.ledger_account_id)[0]
