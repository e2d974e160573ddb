"""The IBPS / other-bank simulator behaves like the real thing: checks, reject codes, timeouts,
repeats, and state that survives a new simulator instance (a restart)."""

from __future__ import annotations

import datetime as dt

import pytest

from cunguan.interbank.connector import AgreementLimits, DebitRequest, DebitStatus, RejectCode, SignRequest
from cunguan.interbank.simulator import Fault, FaultPlan, InterbankSimulator
from cunguan.money import yuan

BANK = "102100099996"
ACCT = "6222000011112222"
PAYEE = "6222021000010001"
D = dt.date


@pytest.fixture
def signed(sim):
    sim.open_bank(BANK, "工商银行")
    sim.open_account(BANK, ACCT, "李四", yuan(100_000))
    res = sim.sign_agreements(SignRequest(BANK, ACCT, "李四", PAYEE, "李四", D(2026, 11, 1), D(2026, 12, 31),
                                          AgreementLimits(per_txn_fen=yuan(50_000), daily_fen=yuan(60_000),
                                                          monthly_fen=yuan(1_000_000), daily_count=3,
                                                          monthly_count=100)))
    assert res.ok and res.names_payee
    return res


def _debit(sim, signed, serial, amount, payee=PAYEE):
    return sim.debit(DebitRequest(serial, signed.payment_agreement_no, amount, payee))


def test_sweep_sim_signing_rejects(sim):
    sim.open_bank(BANK, "工商银行")
    sim.open_account(BANK, ACCT, "李四", 0)
    req = SignRequest(BANK, ACCT, "王五", PAYEE, "王五", D(2026, 11, 1), D(2027, 11, 1))
    assert sim.sign_agreements(req).code == RejectCode.NAME_MISMATCH
    assert sim.sign_agreements(SignRequest(BANK, "1234567890", "李四", PAYEE, "李四", D(2026, 11, 1),
                                           D(2027, 11, 1))).code == RejectCode.NO_ACCOUNT
    sim.set_bank_status(BANK, "CLOSED")
    assert sim.sign_agreements(SignRequest(BANK, ACCT, "李四", PAYEE, "李四", D(2026, 11, 1),
                                           D(2027, 11, 1))).code == RejectCode.PARTICIPANT_CLOSED


def test_sweep_sim_debit_checks(sim, signed, clock):
    assert sim.query_balance(signed.query_agreement_no).balance_fen == yuan(100_000)
    assert _debit(sim, signed, "S1", yuan(50_000) + 1).code == RejectCode.OVER_LIMIT
    assert _debit(sim, signed, "S2", yuan(10), payee="999").code == RejectCode.NO_AGREEMENT
    assert sim.debit(DebitRequest("S3", "NOPE", yuan(10), PAYEE)).code == RejectCode.NO_AGREEMENT
    assert _debit(sim, signed, "S4", yuan(50_000)).status is DebitStatus.SUCCESS
    assert _debit(sim, signed, "S5", yuan(10_001)).code == RejectCode.BEYOND_AGREEMENT  # daily amount cap
    assert _debit(sim, signed, "S6", yuan(10_000)).status is DebitStatus.SUCCESS
    assert _debit(sim, signed, "S7", yuan(1)).code == RejectCode.BEYOND_AGREEMENT  # daily amount cap reached
    clock.advance(dt.timedelta(days=1))
    assert _debit(sim, signed, "S8", yuan(50_000)).code == RejectCode.INSUFFICIENT  # 40,000 left
    sim.set_account_status(BANK, ACCT, "ABNORMAL")
    assert _debit(sim, signed, "S9", yuan(1)).code == RejectCode.ACCOUNT_ABNORMAL
    assert sim.query_balance(signed.query_agreement_no).code == RejectCode.ACCOUNT_ABNORMAL
    sim.set_account_status(BANK, ACCT, "NORMAL")
    sim.set_bank_status(BANK, "CLOSED")
    assert _debit(sim, signed, "S10", yuan(1)).code == RejectCode.PARTICIPANT_CLOSED
    sim.set_bank_status(BANK, "OPEN")
    clock.set(dt.datetime(2027, 1, 1, 10, tzinfo=dt.UTC))
    assert _debit(sim, signed, "S11", yuan(1)).code == RejectCode.BEYOND_AGREEMENT  # after the end date
    assert sim.renew_payment_agreement(signed.payment_agreement_no, D(2027, 12, 31)).ok
    assert _debit(sim, signed, "S12", yuan(1)).status is DebitStatus.SUCCESS
    assert sim.cancel_agreement(signed.payment_agreement_no).ok
    assert _debit(sim, signed, "S13", yuan(1)).code == RejectCode.NO_AGREEMENT


def test_sweep_sim_daily_count_cap(sim, signed):
    for i in range(3):
        assert _debit(sim, signed, f"C{i}", yuan(1)).status is DebitStatus.SUCCESS
    assert _debit(sim, signed, "C3", yuan(1)).code == RejectCode.BEYOND_AGREEMENT


def test_sweep_sim_repeat_never_moves_twice_and_state_survives_restart(sim, signed, engine, clock):
    assert _debit(sim, signed, "R1", yuan(1_000)).status is DebitStatus.SUCCESS
    assert _debit(sim, signed, "R1", yuan(1_000)).status is DebitStatus.SUCCESS
    assert sim.balance(BANK, ACCT) == yuan(99_000)
    assert sim.received_count("R1") == 2
    restarted = InterbankSimulator(engine, clock)
    assert restarted.query_debit("R1").status is DebitStatus.SUCCESS
    assert restarted.query_debit("never-sent").status is DebitStatus.REJECTED


def test_sweep_sim_timeouts_are_decided_and_revealed(engine, clock, signed):
    sim = InterbankSimulator(engine, clock, FaultPlan(by_call={1: Fault.timeout_applied(1),
                                                               2: Fault.timeout_lost()}))
    assert _debit(sim, signed, "T1", yuan(100)).status is DebitStatus.UNKNOWN
    assert _debit(sim, signed, "T2", yuan(100)).status is DebitStatus.UNKNOWN
    assert sim.balance(BANK, ACCT) == yuan(99_900)  # T1 really applied, T2 really not
    assert sim.query_debit("T1").status is DebitStatus.UNKNOWN  # still processing once
    assert sim.query_debit("T1").status is DebitStatus.SUCCESS
    assert sim.query_debit("T2").status is DebitStatus.REJECTED


def test_sweep_sim_seeded_rng_is_reproducible(engine, clock, signed):
    def outcomes(seed: int, prefix: str) -> list[bool]:
        sim = InterbankSimulator(engine, clock, FaultPlan(timeout_rate=0.5, seed=seed))
        return [_debit(sim, signed, f"{prefix}{i}", 1).status is DebitStatus.UNKNOWN for i in range(6)]

    first = outcomes(7, "A")
    assert first == outcomes(7, "B") and any(first) and not all(first)
