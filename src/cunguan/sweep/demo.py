"""Demo and test fixtures: one customer with accounts at our bank and at two other banks (simulated)."""

from __future__ import annotations

from dataclasses import dataclass

from cunguan.db.tx import run_in_transaction
from cunguan.interbank.simulator import InterbankSimulator
from cunguan.money import yuan
from cunguan.retail import store as retail
from cunguan.retail.store import AccountKind

OTHER_BANK_NO = "102100099996"  # ICBC-style CNAPS number (simulated)
OTHER_BANK_NAME = "工商银行"
SECOND_BANK_NO = "103100000026"
SECOND_BANK_NAME = "农业银行"


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    customer: retail.Customer
    card: retail.Account
    passbook: retail.Account
    other_account_no: str
    second_account_no: str


def seed(engine, sim: InterbankSimulator, *, suffix: str = "0001", password: str = "demo-pass-1",
         other_balance_fen: int = yuan(200_000)) -> DemoCustomer:
    def work(conn):
        cust = retail.create_customer(conn, customer_no=f"C{suffix}", name="张三", login_name=f"zhang{suffix}",
                                      password=password, mobile="13800138000")
        card = retail.open_account(conn, cust, account_no=f"62220210{suffix}0001", kind=AccountKind.DEBIT_CARD)
        book = retail.open_account(conn, cust, account_no=f"60010010{suffix}0002", kind=AccountKind.PASSBOOK)
        return cust, card, book

    cust, card, book = run_in_transaction(engine, work)
    sim.open_bank(OTHER_BANK_NO, OTHER_BANK_NAME)
    sim.open_bank(SECOND_BANK_NO, SECOND_BANK_NAME)
    other = f"955880{suffix}00001"
    second = f"622848{suffix}00002"
    sim.open_account(OTHER_BANK_NO, other, "张三", other_balance_fen)
    sim.open_account(SECOND_BANK_NO, second, "张三", yuan(30_000))
    return DemoCustomer(cust, card, book, other, second)
