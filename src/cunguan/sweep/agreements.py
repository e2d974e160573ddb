"""Other-bank accounts and their agreements: add (signs the query and the payment agreement over IBPS),
renew, re-sign (for agreements that name no payee), cancel.

The interbank call happens outside our transaction (the other bank is a separate system); our row is
written after it answers, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cunguan.db.tables.sweep import sweep_other_accounts, sweep_rules
from cunguan.db.tx import run_in_transaction
from cunguan.interbank.connector import SignRequest
from cunguan.retail import store as retail
from cunguan.retail.store import mask_account
from cunguan.sweep.context import SweepContext
from cunguan.sweep.errors import AccountInUse, AccountNotEligible, AgreementRefused, InvalidInput, NotFound

LIVE_RULE_STATUSES = ("ACTIVE",)


@dataclass(frozen=True, slots=True)
class OtherAccount:
    id: int
    customer_id: int
    bank_no: str
    bank_name: str
    account_no: str
    holder_name: str
    payee_account_id: int
    query_agreement_no: str
    payment_agreement_no: str | None
    names_payee: bool
    start_date: dt.date | None
    end_date: dt.date | None
    reminded_end_date: dt.date | None
    status: str

    @property
    def masked(self) -> str:
        return mask_account(self.account_no)


def _row(r) -> OtherAccount:
    return OtherAccount(int(r.id), int(r.customer_id), r.bank_no, r.bank_name, r.account_no, r.holder_name,
                        int(r.payee_account_id), r.query_agreement_no, r.payment_agreement_no, bool(r.names_payee),
                        r.start_date, r.end_date, r.reminded_end_date, r.status)


def get_other_account(conn: Connection, customer_id: int, other_id: int) -> OtherAccount:
    row = conn.execute(select(sweep_other_accounts).where(
        sweep_other_accounts.c.id == other_id, sweep_other_accounts.c.customer_id == customer_id)).first()
    if row is None:
        raise NotFound("no such other-bank account")
    return _row(row)


def other_accounts_of(conn: Connection, customer_id: int, *, active_only: bool = True) -> list[OtherAccount]:
    stmt = select(sweep_other_accounts).where(sweep_other_accounts.c.customer_id == customer_id)
    if active_only:
        stmt = stmt.where(sweep_other_accounts.c.status == "ACTIVE")
    return [_row(r) for r in conn.execute(stmt.order_by(sweep_other_accounts.c.id))]


def eligible_collecting_account(conn: Connection, customer_id: int, account_id: int) -> retail.Account:
    """A collecting account: the customer's own, open, signed up for online banking (all three kinds qualify)."""
    acct = retail.get_account(conn, account_id)
    if acct.customer_id != customer_id:
        raise NotFound("no such account")
    if acct.status != "NORMAL":
        raise AccountNotEligible("the collecting account is not open")
    if not acct.online_banking:
        raise AccountNotEligible("the collecting account is not signed up for online banking")
    return acct


def _validate(bank_no: str, account_no: str, holder_name: str) -> None:
    if not (bank_no.isdigit() and len(bank_no) == 12):
        raise InvalidInput("bank_no must be the 12-digit CNAPS bank number")
    if not (account_no.isdigit() and 8 <= len(account_no) <= 32):
        raise InvalidInput("account_no must be 8-32 digits")
    if not holder_name.strip() or len(holder_name) > 100:
        raise InvalidInput("holder_name is required")


def add_other_account(ctx: SweepContext, customer_id: int, *, bank_no: str, bank_name: str, account_no: str,
                      holder_name: str, payee_account_id: int) -> OtherAccount:
    """Add an other-bank account: signs the query and the payment agreement (naming our payee account)."""
    _validate(bank_no, account_no, holder_name)
    with ctx.engine.connect() as conn:
        customer = retail.get_customer(conn, customer_id)
        payee = eligible_collecting_account(conn, customer_id, payee_account_id)
        existing = conn.execute(select(sweep_other_accounts).where(
            sweep_other_accounts.c.customer_id == customer_id, sweep_other_accounts.c.bank_no == bank_no,
            sweep_other_accounts.c.account_no == account_no)).first()
    if existing is not None and existing.status == "ACTIVE":
        raise InvalidInput("this other-bank account is already added")
    if holder_name != customer.name:
        raise AccountNotEligible("only the customer's own accounts can be collected (holder name differs)")
    today = ctx.today()
    signed = ctx.connector.sign_agreements(SignRequest(
        bank_no=bank_no, account_no=account_no, holder_name=holder_name, payee_account_no=payee.account_no,
        payee_name=customer.name, start=today, end=today + dt.timedelta(days=ctx.config.agreement_days)))
    if not signed.ok:
        raise AgreementRefused(f"the other bank refused the agreement: {signed.code} {signed.message}", signed.code)
    values = dict(customer_id=customer_id, bank_no=bank_no, bank_name=bank_name[:60] or bank_no,
                  account_no=account_no, holder_name=holder_name, payee_account_id=payee.id,
                  query_agreement_no=signed.query_agreement_no, payment_agreement_no=signed.payment_agreement_no,
                  names_payee=1 if signed.names_payee else 0, start_date=signed.start, end_date=signed.end,
                  reminded_end_date=None, status="ACTIVE", created_us=ctx.now_us())

    def work(conn: Connection) -> OtherAccount:
        if existing is not None:
            conn.execute(sweep_other_accounts.update().where(sweep_other_accounts.c.id == existing.id).values(**values))
            oid = existing.id
        else:
            oid = conn.execute(sweep_other_accounts.insert().values(**values)).inserted_primary_key[0]
        return get_other_account(conn, customer_id, int(oid))

    return run_in_transaction(ctx.engine, work)


def renew_agreement(ctx: SweepContext, customer_id: int, other_id: int) -> OtherAccount:
    """Extend the payment agreement by `agreement_days` from its end (or today, if later). Allowed until
    the end of the grace period; a rule already INVALID is not revived."""
    with ctx.engine.connect() as conn:
        acct = get_other_account(conn, customer_id, other_id)
    if acct.status != "ACTIVE" or acct.payment_agreement_no is None:
        raise AgreementRefused("no payment agreement to renew")
    if not acct.names_payee:
        raise AgreementRefused("this payment agreement names no payee: sign a new one instead of renewing")
    today = ctx.today()
    assert acct.end_date is not None
    if today > acct.end_date + dt.timedelta(days=ctx.config.grace_days):
        raise AgreementRefused("the renewal period has ended: sign a new agreement")
    new_end = max(acct.end_date, today) + dt.timedelta(days=ctx.config.agreement_days)
    res = ctx.connector.renew_payment_agreement(acct.payment_agreement_no, new_end)
    if not res.ok:
        raise AgreementRefused(f"the other bank refused the renewal: {res.code} {res.message}", res.code)

    def work(conn: Connection) -> OtherAccount:
        conn.execute(sweep_other_accounts.update().where(sweep_other_accounts.c.id == other_id).values(
            end_date=new_end, reminded_end_date=None))
        return get_other_account(conn, customer_id, other_id)

    return run_in_transaction(ctx.engine, work)


def resign_payment_agreement(ctx: SweepContext, customer_id: int, other_id: int) -> OtherAccount:
    """Replace an agreement that names no payee: cancel it at the other bank and sign a new one."""
    with ctx.engine.connect() as conn:
        acct = get_other_account(conn, customer_id, other_id)
    if acct.names_payee:
        raise InvalidInput("the payment agreement already names the payee")
    if acct.payment_agreement_no:
        ctx.connector.cancel_agreement(acct.payment_agreement_no)
    ctx.connector.cancel_agreement(acct.query_agreement_no)
    run_in_transaction(ctx.engine, lambda c: c.execute(sweep_other_accounts.update().where(
        sweep_other_accounts.c.id == other_id).values(status="CANCELLED")))
    return add_other_account(ctx, customer_id, bank_no=acct.bank_no, bank_name=acct.bank_name,
                             account_no=acct.account_no, holder_name=acct.holder_name,
                             payee_account_id=acct.payee_account_id)


def cancel_other_account(ctx: SweepContext, customer_id: int, other_id: int) -> None:
    """Cancel both agreements; refused while a live rule still collects from the account."""
    with ctx.engine.connect() as conn:
        acct = get_other_account(conn, customer_id, other_id)
        live = conn.execute(select(sweep_rules.c.id).where(sweep_rules.c.live_other_account_id == other_id)).first()
    if live is not None:
        raise AccountInUse("delete the collection rule of this account first")
    if acct.status != "ACTIVE":
        return
    for no in (acct.payment_agreement_no, acct.query_agreement_no):
        if no:
            ctx.connector.cancel_agreement(no)
    run_in_transaction(ctx.engine, lambda c: c.execute(sweep_other_accounts.update().where(
        sweep_other_accounts.c.id == other_id).values(status="CANCELLED")))
