"""Agreement validity on a date: valid through the end date, then 30 days of grace, then expired."""

from __future__ import annotations

import datetime as dt

from cunguan.sweep.agreements import OtherAccount
from cunguan.sweep.context import SweepConfig
from cunguan.sweep.rules import AgreementState, agreement_state

D = dt.date


def _acct(**kw) -> OtherAccount:
    base = dict(id=1, customer_id=1, bank_no="102100099996", bank_name="x", account_no="12345678", holder_name="张三",
                payee_account_id=1, query_agreement_no="Q", payment_agreement_no="P", names_payee=True,
                start_date=D(2026, 1, 1), end_date=D(2026, 6, 30), reminded_end_date=None, status="ACTIVE")
    base.update(kw)
    return OtherAccount(**base)


def test_sweep_agreement_state_timeline() -> None:
    cfg = SweepConfig()
    acct = _acct()
    assert agreement_state(acct, D(2025, 12, 31), cfg) is AgreementState.NOT_STARTED
    assert agreement_state(acct, D(2026, 1, 1), cfg) is AgreementState.VALID
    assert agreement_state(acct, D(2026, 6, 30), cfg) is AgreementState.VALID
    assert agreement_state(acct, D(2026, 7, 1), cfg) is AgreementState.EXPIRED_IN_GRACE
    assert agreement_state(acct, D(2026, 7, 30), cfg) is AgreementState.EXPIRED_IN_GRACE
    assert agreement_state(acct, D(2026, 7, 31), cfg) is AgreementState.EXPIRED
    assert agreement_state(_acct(names_payee=False), D(2026, 3, 1), cfg) is AgreementState.NO_PAYEE
    assert agreement_state(_acct(status="CANCELLED"), D(2026, 3, 1), cfg) is AgreementState.CANCELLED
    assert _acct().masked == "****5678"
