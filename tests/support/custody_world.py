"""A custody world for e2e tests over the wire: users registered through the business layer (trade
password, authorizations, a card the simulated card bank knows), funded from the platform's custody
cash account (test-only; Σ virtual accounts still equals the custody liability), balances read off
the ledger, the audit and the sums checked."""

from __future__ import annotations

import datetime as dt
import itertools

from cunguan.clock import BEIJING, Clock
from cunguan.custody import platforms, user_store, users
from cunguan.custody.sample_identities import make_card, make_prc_id
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction
from cunguan.ledger.ops import Transfer
from cunguan.money import parse_yuan

PLATFORM_NO = "6000000001"
PASSWORD = "abc12345"


class World:
    def __init__(self, engine, bank) -> None:
        self.engine, self.bank = engine, bank
        self.seq = itertools.count(1)
        self.funded_fen = 0

    def register(self, user_no: str, *, role: str = "INVESTOR", auth_list: str | None = None,
                 fund: str | int | None = None) -> str:
        n = next(self.seq)
        name, id_no, mobile = "赵六", make_prc_id(dt.date(1986, 7, 8), seq=300 + n), f"137{n:08d}"
        card = make_card(serial=7000 + n)
        self.bank.add_card(card, real_name=name, id_card_no=id_no, mobile=mobile)
        req = users.PersonalRegisterRequest(
            request_no=f"SEED-{user_no}", platform_user_no=user_no, user_role=role, real_name=name, id_card_no=id_no,
            bankcard_no=card, mobile=mobile, password=PASSWORD, auth_list=auth_list,
            fail_time="20291231" if auth_list else None)
        run_in_transaction(self.engine, lambda c: users.personal_register(c, Clock(), PLATFORM_NO, req))
        if fund is not None:
            self.fund(user_no, fund)
        return user_no

    def account(self, user_no: str) -> int:
        code = platforms.system_account_code(PLATFORM_NO, user_no) if user_no.startswith("SYS_GENERATE_") \
            else user_store.ledger_code(PLATFORM_NO, user_no)
        with self.engine.connect() as conn:
            return ledger_store.account_ids(conn, [code])[code]

    def fund(self, user_no: str, yuan: str | int) -> None:
        n = next(self.seq)
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(PLATFORM_NO)
            cash = ledger_store.account_ids(conn, [code])[code]
        op = Transfer(cash, self.account(user_no), parse_yuan(str(yuan)), "TEST_FUND", f"e2e-fund-{n}")
        run_in_transaction(self.engine, lambda conn: ledger_store.apply(conn, [op]))
        self.funded_fen += parse_yuan(str(yuan))

    def balance(self, user_no: str) -> tuple[int, int]:
        with self.engine.connect() as conn:
            return ledger_store.get_balance(conn, self.account(user_no))

    def audit_clean(self) -> None:
        assert ledger_audit.audit(self.engine) == []

    @staticmethod
    def expired_in(minutes: int) -> str:
        return (dt.datetime.now(BEIJING) + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M%S")

    def sums_consistent(self) -> None:
        """Σ of every account but the custody cash account = what was funded; 0 ≤ frozen ≤ balance."""
        with self.engine.connect() as conn:
            code = platforms.custody_account_code(PLATFORM_NO)
            cash = ledger_store.account_ids(conn, [code])[code]
            rows = conn.execute(accounts.select()).mappings().all()
        assert sum(r["balance_fen"] for r in rows if r["id"] != cash) == self.funded_fen
        assert sum(r["balance_fen"] for r in rows) == 0
        assert all(0 <= r["frozen_fen"] <= r["balance_fen"] for r in rows if r["id"] != cash)
