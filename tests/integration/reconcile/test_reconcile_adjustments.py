"""Four-eyes adjustments: proposed by one operator, posted only at a second, different operator's approval,
in one transaction with the approval and the resolved difference; once."""

from __future__ import annotations

import checkfiles_builder as builder  # tests/support
import pytest
from sqlalchemy import func, select

from cunguan.console.actions import Conflict
from cunguan.console.errors import Forbidden, InvalidInput, NotFound
from cunguan.db import ledger_audit
from cunguan.db.tables.console import console_actions
from cunguan.db.tables.ledger import postings
from cunguan.db.tables.reconcile import reconcile_adjustments, reconcile_differences
from cunguan.reconcile import adjustments, daily, statements

P1 = builder.P1


def _count(env, table, *where) -> int:
    with env.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


@pytest.fixture
def problems(day_env):
    tue, wed, tampered, payouts = builder.build_problem_days(day_env)
    sims = statements.runtime_settlement_source(day_env.engine, day_env.clock)
    result = daily.reconcile_day(
        day_env.engine, day_env.clock, P1, tue, payouts=payouts,
        settlements=lambda c, d: tampered if (c, d) == ("YEEPAY", tue) else sims(c, d))
    return result, {(x.check, x.kind): x for x in result.differences}


def _difference_id(env, run_id: int, check: str) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(select(reconcile_differences.c.id).where(
            reconcile_differences.c.run_id == run_id, reconcile_differences.c.check_name == check)).scalars().first())


def test_the_proposer_cannot_approve_and_the_posting_happens_once(day_env, staff, problems):
    result, _ = problems
    diff_id = _difference_id(day_env, result.run_id, "LEDGER")
    before_inv3 = day_env.balance("inv-3")
    posts = _count(day_env, postings)
    with pytest.raises(Forbidden):
        adjustments.propose(day_env.engine, day_env.clock, staff["viewer"], difference_id=diff_id,
                            debit_account="SUSPENSE", credit_account="inv-3", amount="5", reason="x")
    adj = adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id,
                              debit_account="SUSPENSE", credit_account="inv-3", amount="5.00",
                              reason="5 元误转出存管，由暂挂户回补")
    assert (adj.status, adj.amount_fen, adj.posting_seq) == ("PROPOSED", 500, None)
    assert _count(day_env, postings) == posts and day_env.balance("inv-3") == before_inv3  # nothing posted yet
    with pytest.raises(Conflict):  # one open proposal per difference
        adjustments.propose(day_env.engine, day_env.clock, staff["rev-b"], difference_id=diff_id,
                            debit_account="SUSPENSE", credit_account="inv-3", amount="5", reason="again")
    with pytest.raises(Forbidden):
        adjustments.approve(day_env.engine, day_env.clock, staff["rev-a"], adj.id)  # four eyes
    with pytest.raises(Forbidden):
        adjustments.approve(day_env.engine, day_env.clock, staff["viewer"], adj.id)
    assert _count(day_env, postings) == posts
    done = adjustments.approve(day_env.engine, day_env.clock, staff["rev-b"], adj.id)
    assert done.status == "APPROVED" and done.decided_by == staff["rev-b"].id and done.posting_seq is not None
    assert _count(day_env, postings) == posts + 1
    assert day_env.balance("inv-3") == (before_inv3[0] + 500, before_inv3[1])
    with day_env.engine.connect() as conn:
        post = conn.execute(select(postings).where(postings.c.seq == done.posting_seq)).mappings().one()
        diff = conn.execute(select(reconcile_differences).where(reconcile_differences.c.id == diff_id)).mappings().one()
    assert (post["biz_type"], post["ref"], post["amount_fen"]) == ("RECONCILE_ADJUSTMENT",
                                                                   f"reconcile-adjustment:{adj.id}", 500)
    assert (diff["status"], diff["adjustment_id"]) == ("RESOLVED", adj.id)
    for who in ("boss", "rev-b"):  # a second approval changes nothing
        with pytest.raises(Conflict):
            adjustments.approve(day_env.engine, day_env.clock, staff[who], adj.id)
    with pytest.raises(Conflict):
        adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id,
                            debit_account="SUSPENSE", credit_account="inv-3", amount="5", reason="again")
    assert _count(day_env, postings) == posts + 1
    assert _count(day_env, console_actions, console_actions.c.action.like("RECONCILE_%")) == 2
    assert ledger_audit.audit(day_env.engine) == []
    # the next day balances again (the adjustment was posted on Wednesday); a rerun of Tuesday keeps the
    # difference resolved by the same adjustment instead of asking for a second one
    day_env.at(day_env.today().replace(day=26), 9)
    wed = daily.reconcile_day(day_env.engine, day_env.clock, P1, day_env.today().replace(day=25))
    assert [x.check for x in wed.differences] == ["ADVANCE"]
    rerun = daily.reconcile_day(day_env.engine, day_env.clock, P1, result.day)
    with day_env.engine.connect() as conn:
        again = conn.execute(select(reconcile_differences).where(
            reconcile_differences.c.run_id == rerun.run_id,
            reconcile_differences.c.check_name == "LEDGER")).mappings().one()
    assert (again["status"], again["adjustment_id"]) == ("RESOLVED", adj.id)


def test_a_payout_return_is_booked_back_to_the_user(day_env, staff, problems):
    result, found = problems
    diff = found[("PAYOUT", "MISSING_THEIRS")]
    with day_env.engine.connect() as conn:
        diff_id = int(conn.execute(select(reconcile_differences.c.id).where(
            reconcile_differences.c.run_id == result.run_id, reconcile_differences.c.ref == diff.ref)).scalar_one())
    before = day_env.balance("inv-1")
    adj = adjustments.propose(day_env.engine, day_env.clock, staff["boss"], difference_id=diff_id,
                              debit_account="CUSTODY_CASH", credit_account="inv-1", amount="99",
                              reason="收款行退汇 RF04，退回用户")
    adjustments.approve(day_env.engine, day_env.clock, staff["rev-a"], adj.id)
    assert day_env.balance("inv-1") == (before[0] + 9_900, before[1])
    assert ledger_audit.audit(day_env.engine) == []


def test_a_rejected_proposal_posts_nothing_and_bad_input_is_refused(day_env, staff, problems):
    result, _ = problems
    diff_id = _difference_id(day_env, result.run_id, "SETTLEMENT")
    posts = _count(day_env, postings)
    for kw in (dict(debit_account="inv-1", credit_account="inv-1", amount="1"),
               dict(debit_account="nobody", credit_account="inv-1", amount="1"),
               dict(debit_account="CUSTODY_CASH", credit_account="inv-1", amount="0"),
               dict(debit_account="CUSTODY_CASH", credit_account="inv-1", amount="1.001"),
               dict(debit_account="CUSTODY_CASH", credit_account="inv-1", amount="abc")):
        with pytest.raises(InvalidInput):
            adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id, reason="r", **kw)
    with pytest.raises(InvalidInput):
        adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id, reason=" ",
                            debit_account="CUSTODY_CASH", credit_account="inv-1", amount="1")
    with pytest.raises(NotFound):
        adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=999_999, reason="r",
                            debit_account="CUSTODY_CASH", credit_account="inv-1", amount="1")
    adj = adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id, reason="r",
                              debit_account="CUSTODY_CASH", credit_account="SYS_GENERATE_006", amount="1")
    with pytest.raises(Forbidden):
        adjustments.reject(day_env.engine, day_env.clock, staff["rev-a"], adj.id)
    assert adjustments.reject(day_env.engine, day_env.clock, staff["rev-b"], adj.id).status == "REJECTED"
    with pytest.raises(Conflict):
        adjustments.approve(day_env.engine, day_env.clock, staff["boss"], adj.id)
    assert _count(day_env, postings) == posts
    with day_env.engine.connect() as conn:
        assert conn.execute(select(reconcile_differences.c.status).where(
            reconcile_differences.c.id == diff_id)).scalar_one() == "OPEN"
        assert conn.execute(select(reconcile_adjustments.c.status)).scalars().all() == ["REJECTED"]
    # an overdrawing adjustment is refused by the ledger at approval: nothing of it is written
    big = adjustments.propose(day_env.engine, day_env.clock, staff["rev-a"], difference_id=diff_id, reason="r",
                              debit_account="inv-3", credit_account="SYS_GENERATE_006", amount="100000")
    with pytest.raises(InvalidInput):
        adjustments.approve(day_env.engine, day_env.clock, staff["rev-b"], big.id)
    with day_env.engine.connect() as conn:
        assert conn.execute(select(reconcile_adjustments.c.status).where(
            reconcile_adjustments.c.id == big.id)).scalar_one() == "PROPOSED"
    assert _count(day_env, postings) == posts
