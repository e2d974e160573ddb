"""SYNC_TRANSACTION and USER_AUTO_PRE_TRANSACTION requests that arrive together are answered each
exactly as alone, through the event-loop batch of `router.ServiceFastPath` (one call of the batched
executor on both engines; the group commit of the requests that meet across threads is
`tests/integration/ledger/test_group_commit.py`'s). Refused and duplicate requests among them leave no trace; the money and the audit
end as after one at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
import pytest
from sqlalchemy import func, select, text
from wire_calls import fen, ok

from cunguan.api.lanmao import pipeline
from cunguan.client import form as form_codec
from cunguan.custody import trade_batch
from cunguan.db.tables.custody_trades import custody_trades

pytestmark = pytest.mark.db


def _establish(client) -> None:
    ok(client, "ESTABLISH_PROJECT", {
        "requestNo": "EST-GC-1", "platformUserNo": "B", "projectNo": "GC-1", "projectAmount": "10000.00",
        "projectName": "group commit", "projectType": "STANDARDPOWDER", "projectPeriod": 30,
        "annnualInterestRate": "0.15", "repaymentWay": "ONE_TIME_SERVICING"})


def _bid(client, no: str, investor: str) -> None:
    ok(client, "USER_AUTO_PRE_TRANSACTION", {"requestNo": no, "platformUserNo": investor, "bizType": "TENDER",
                                             "amount": "100.00", "projectNo": "GC-1"})


def _release(no: str, bid: str, investor: str, yuan: str) -> dict:
    return {"requestNo": no, "tradeType": "TENDER", "projectNo": "GC-1", "details": [
        {"bizType": "TENDER", "freezeRequestNo": bid, "sourcePlatformUserNo": investor, "targetPlatformUserNo": "B",
         "amount": yuan}]}


async def _post_all(app, client, requests_: list[dict], service: str = "SYNC_TRANSACTION") -> list[httpx.Response]:
    path = f"{app.state.settings.lanmao_prefix}/service"
    bodies = [form_codec.encode(client.build_form(service, data).items()) for data in requests_]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as http:
        return await asyncio.gather(*(http.post(path, content=b, headers={
            "Content-Type": "application/x-www-form-urlencoded"}) for b in bodies))


def _answers(client, responses: list[httpx.Response]) -> list[tuple[str, str | None]]:
    out = []
    for response in responses:
        result = client.read_result(response)
        assert response.status_code == 200 and result.signature_valid, response.content
        out.append((result.data["status"], result.data.get("errorCode")))
    return out


def _run(coro_factory):
    # A loop of its own on a thread of its own (a browser test may leave Playwright's loop on this one).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_factory()).result()


def _meet(client, app, service: str, lead: dict, others: list[dict]) -> list:
    """Post `lead` and `others` together; the answers in that order. They arrive in one event-loop
    batch and run as ONE call of the batch executor (asserted): on SQLite in a savepoint of the batch's
    shared transaction, on PostgreSQL in a transaction of its own on a service thread."""
    groups: list[int] = []
    real = pipeline.call_together

    def spy(calls):
        groups.append(len(calls))
        return real(calls)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "call_together", spy)
        answers = _answers(client, _run(lambda: _post_all(app, client, [lead, *others], service)))
    assert groups == [1 + len(others)], groups
    return answers


def test_bids_that_meet_are_answered_each_as_alone(engine, world, client, live_server):
    world.register("B", role="BORROWERS")
    for i, funds in enumerate((1000, 1000, 50, 1000)):
        world.register(f"I{i}", auth_list="TENDER", fund=funds)
    _establish(client)
    bid = lambda no, investor, yuan: {"requestNo": no, "platformUserNo": investor, "bizType": "TENDER",  # noqa: E731
                                      "amount": yuan, "projectNo": "GC-1"}
    answers = _meet(client, live_server.app, "USER_AUTO_PRE_TRANSACTION", bid("BID-0", "I0", "100.00"), [
        bid("BID-1", "I1", "200.00"),
        bid("BID-2", "I2", "60.00"),  # more than I2 has: refused, nothing of it stays
        bid("BID-1", "I1", "200.00"),  # a repeat: the duplicate
        bid("BID-3", "I3", "9700.01"),  # 0.01 more than the project still raises
        bid("BID-4", "I3", "300.00"),
        bid("BID-5", "NOBODY", "1.00"),
    ])
    duplicate = sorted([answers[1], answers[3]], key=str)
    assert duplicate == sorted([("SUCCESS", None), ("INIT", "100013")], key=str), answers
    answers[1] = answers[3] = "BID-1"
    assert answers == [("SUCCESS", None), "BID-1", ("INIT", "100014"), "BID-1", ("INIT", "100008"),
                       ("SUCCESS", None), ("INIT", "100009")]
    assert [world.balance(f"I{i}") for i in range(4)] == [
        (fen("1000.00"), fen("100.00")), (fen("1000.00"), fen("200.00")), (fen("50.00"), 0),
        (fen("1000.00"), fen("300.00"))]
    with engine.connect() as conn:
        frozen = conn.execute(text("SELECT tender_frozen_fen FROM custody_projects WHERE project_no = 'GC-1'")).scalar_one()
    assert frozen == fen("600.00")
    world.audit_clean()


@pytest.mark.parametrize("batch_fails", [False, True], ids=["batched", "batch-fails"])
def test_releases_that_meet_are_answered_each_as_alone(engine, world, client, live_server, batch_fails,
                                                       monkeypatch):
    """`batch-fails`: the batch executor breaks (a bug, not a refusal) once the requests met: its
    savepoint or transaction is undone and each request runs alone, with the same answers."""
    world.register("B", role="BORROWERS")
    investors = [world.register(f"I{i}", auth_list="TENDER", fund=1000) for i in range(5)]
    _establish(client)
    for i, investor in enumerate(investors):
        _bid(client, f"BID-{i}", investor)
    lead = _release("REL-0", "BID-0", "I0", "100.00")
    others = [
        _release("REL-1", "BID-1", "I1", "100.00"),
        _release("REL-2", "BID-2", "I2", "60.00"),  # part of its bid: 40.00 stays frozen
        _release("REL-3", "BID-3", "I3", "150.00"),  # more than its bid: refused, nothing of it stays
        _release("REL-1", "BID-1", "I1", "100.00"),  # a repeat of REL-1: the duplicate
        _release("REL-4", "BID-4", "I4", "100.00"),
    ]
    if batch_fails:
        real = trade_batch.execute_trades

        def broken(conn, clock, platform_no, items, **kw):
            if len(items) > 1:
                real(conn, clock, platform_no, items, **kw)  # its writes are made, then undone
                raise RuntimeError("the batch executor broke")
            return real(conn, clock, platform_no, items, **kw)

        monkeypatch.setattr(trade_batch, "execute_trades", broken)
    answers = _meet(client, live_server.app, "SYNC_TRANSACTION", lead, others)
    duplicate = sorted([answers[1], answers[4]], key=str)
    assert duplicate == sorted([("SUCCESS", None), ("INIT", "100013")], key=str), answers
    answers[1] = answers[4] = "REL-1"
    assert answers == [("SUCCESS", None), "REL-1", ("SUCCESS", None), ("INIT", "100014"), "REL-1", ("SUCCESS", None)]
    assert world.balance("B") == (fen("360.00"), 0)
    assert world.balance("I2") == (fen("940.00"), fen("40.00"))
    assert world.balance("I3") == (fen("1000.00"), fen("100.00"))  # the refused release left its bid frozen
    with engine.connect() as conn:
        trade_rows = conn.execute(select(func.count()).select_from(custody_trades)).scalar_one()
    assert trade_rows == 4
    world.audit_clean()
