"""The database itself refuses what must never happen, whatever code path tries it."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from cunguan.custody import debentures
from cunguan.db.tables.custody_trades import custody_debenture_sales, custody_projects, custody_shares

from .conftest import fen


@pytest.mark.parametrize("table, values", [
    (custody_projects, {"tender_frozen_fen": fen(1)}),  # loan 1000 + 1 > amount 1000: oversubscribed
    (custody_projects, {"repaid_principal_fen": fen(1001)}),  # more principal back than lent
    (custody_shares, {"locked_fen": fen(601)}),  # more locked on sale than held
    (custody_shares, {"principal_fen": -1}),
    (custody_debenture_sales, {"sold_fen": fen(301)}),  # sold more than offered
])
def test_checks_hold_the_line(raised, table, values):
    env = raised
    env.run(debentures.debenture_sale, {"requestNo": "S", "platformUserNo": "I1", "projectNo": "R1",
                                        "saleShare": "300"})
    stmt = update(table).values(**values)
    if table is custody_shares:
        stmt = stmt.where(custody_shares.c.holder_user_no == "I1")
    with pytest.raises(IntegrityError), env.engine.begin() as conn:
        conn.execute(stmt)
