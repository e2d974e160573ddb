"""`cunguan notify list | show | resend` on a real database."""

from __future__ import annotations

from sqlalchemy import update
from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.clock import Clock
from cunguan.db.tables.notify import notify_outbox
from cunguan.db.tx import run_in_transaction
from cunguan.notify import outbox
from cunguan.notify.delivery import run_once

from .conftest import PLATFORM


def _cli(*args: str):
    return CliRunner().invoke(app, ["notify", *args])


def test_list_show_and_resend(engine, db_url, clock, receiver, sender):
    receiver.default = ("reply", 500, "down")
    ids = run_in_transaction(engine, lambda c: [outbox.enqueue(
        c, platform_no=p, service_name="WITHDRAW", notify_url=receiver.url, resp_data={"requestNo": r},
        key_serial="1", biz_ref=r, clock=clock) for p, r in ((PLATFORM, "W-1"), ("6000000002", "W-2"))])
    assert run_once(engine, sender, clock, 10).retrying == 2
    with engine.begin() as conn:
        conn.execute(update(notify_outbox).where(notify_outbox.c.id == ids[0]).values(status="FAILED"))

    res = _cli("list", "--db", db_url)
    assert res.exit_code == 0, res.output
    assert "W-1" in res.output and "W-2" in res.output and "HTTP 500: down" in res.output
    res = _cli("list", "--db", db_url, "--platform-no", PLATFORM, "--status", "FAILED")
    assert res.exit_code == 0 and "W-1" in res.output and "W-2" not in res.output
    res = _cli("list", "--db", db_url, "--status", "DELIVERED")
    assert res.exit_code == 0 and "W-1" not in res.output and "W-2" not in res.output
    assert _cli("list", "--db", db_url, "--status", "LOST").exit_code != 0

    res = _cli("show", str(ids[0]), "--db", db_url)
    assert res.exit_code == 0 and "HTTP 500" in res.output and "down" in res.output and "#1" in res.output
    assert _cli("show", "424242", "--db", db_url).exit_code == 1

    res = _cli("resend", str(ids[0]), "--db", db_url)
    assert res.exit_code == 0 and "re-queued" in res.output
    with engine.connect() as conn:
        assert outbox.get(conn, ids[0]).status == "PENDING"
    # The CLI used the wall clock: the row is due at the real now, which is after the fixed test clock,
    # so a worker on the wall clock picks it at once.
    receiver.default = ("reply", 200, "SUCCESS")
    assert run_once(engine, sender, Clock(), 10).delivered >= 1
    with engine.connect() as conn:
        assert outbox.get(conn, ids[0]).status == "DELIVERED"
    res = _cli("resend", str(ids[0]), "--db", db_url)
    assert res.exit_code == 1 and "already delivered" in res.output
    assert _cli("resend", "424242", "--db", db_url).exit_code == 1
