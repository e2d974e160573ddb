"""Requests that arrive together are one batch (SQLite: on the event loop, one shared transaction,
each request in its own savepoint; PostgreSQL: on a service thread, each request in its own
transaction): each is answered exactly as alone, in arrival order, a refused one leaves no trace, and
when the commit fails none of them is reported done."""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from cunguan.api.lanmao import router
from cunguan.client import form as form_codec
from cunguan.db.tables.custody_trades import custody_pre_transactions
from cunguan.db.tables.custody_users import custody_requests
from cunguan.db.tx import SharedTransaction

pytestmark = pytest.mark.db


def _freeze(no: str, yuan: str) -> dict:
    return {"requestNo": no, "platformUserNo": "U", "bizType": "PRETRANSACTION", "amount": yuan}


def _post_together(app, client, requests_: list[dict]) -> list[dict]:
    """POST every request to the ASGI app in the same event-loop turn; the parsed, signature-checked answers."""
    bodies = [form_codec.encode(client.build_form("FREEZE_PRE_TRANSACTION", data).items()) for data in requests_]
    path = f"{app.state.settings.lanmao_prefix}/service"

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            return await asyncio.gather(*(http.post(path, content=b, headers={
                "Content-Type": "application/x-www-form-urlencoded"}) for b in bodies))

    # A loop of its own on a thread of its own: a browser test earlier in the session may leave
    # Playwright's loop running on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        responses = pool.submit(asyncio.run, run()).result()
    answers = []
    for response in responses:
        result = client.read_result(response)
        assert response.status_code == 200 and result.signature_valid, response.content
        answers.append(result.data)
    return answers


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """The sizes of the batches served (SQLite: on the event loop; PostgreSQL: on a service thread)."""
    sizes: list[int] = []
    on_loop, on_thread = router.ServiceFastPath._run_batch, router._serve_batch

    def recording_on_loop(self, rt, batch):
        sizes.append(len(batch))
        return on_loop(self, rt, batch)

    def recording_on_thread(rt, batch):
        sizes.append(len(batch))
        return on_thread(rt, batch)

    monkeypatch.setattr(router.ServiceFastPath, "_run_batch", recording_on_loop)
    monkeypatch.setattr(router, "_serve_batch", recording_on_thread)
    return sizes


def _orders(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(custody_pre_transactions)).scalar_one()


def test_a_batch_answers_each_request_as_alone(engine, world, client, live_server, batches):
    world.register("U", fund="100.00")
    answers = _post_together(live_server.app, client, [
        _freeze("F-1", "10.00"), _freeze("F-2", "20.00"), _freeze("F-1", "30.00"),  # F-1 again: a duplicate
        _freeze("F-3", "500.00"),  # more than the user has: refused, nothing of it stays
        _freeze("F-4", "40.00"),
    ])
    got = [(a["status"], a.get("errorCode")) for a in answers]
    assert batches == [5]  # all five in one batch, run in arrival order (SQLite: one commit)
    assert got == [("SUCCESS", None), ("SUCCESS", None), ("INIT", "100013"), ("INIT", "100014"), ("SUCCESS", None)]
    assert _orders(engine) == 3
    assert world.balance("U") == (10_000, 7_000)  # F-1 (10.00, the first) + 20 + 40 frozen
    with engine.connect() as conn:
        claimed = set(conn.execute(select(custody_requests.c.request_no)).scalars())
    assert {"F-1", "F-2", "F-4"} <= claimed and "F-3" not in claimed  # the refused claim rolled back too
    world.audit_clean()


def test_a_failed_commit_answers_every_joined_request_with_a_system_error(engine, world, client, live_server,
                                                                           batches, db_kind, monkeypatch):
    world.register("U", fund="100.00")
    disk_error = OperationalError("COMMIT", {}, Exception("disk I/O error"))
    if db_kind == "sqlite":  # the batch's one commit fails: it rolls back, nothing is durable
        def failing_commit(self):
            self.rollback(disk_error)
            raise disk_error

        monkeypatch.setattr(SharedTransaction, "commit", failing_commit)
    else:  # each request's own commit fails (its authentication read runs in autocommit: no commit)
        import psycopg

        def failing_pg_commit(self):
            self.rollback()
            raise psycopg.OperationalError("disk I/O error")

        monkeypatch.setattr(psycopg.Connection, "commit", failing_pg_commit)
    answers = _post_together(live_server.app, client, [_freeze("G-1", "10.00"), _freeze("G-2", "500.00")])
    assert [(a["status"], a.get("errorCode")) for a in answers] == [("INIT", "100001"), ("INIT", "100014")]
    monkeypatch.undo()
    assert _orders(engine) == 0 and world.balance("U") == (10_000, 0)
    assert _post_together(live_server.app, client, [_freeze("G-1", "10.00")])[0]["status"] == "SUCCESS"  # retried
    world.audit_clean()


def test_two_event_loops_driving_one_app_each_get_their_own_answers(engine, world, client, live_server, batches):
    """A batch is formed per event loop (a request's future belongs to its loop): two loops posting at
    once never answer each other's requests."""
    world.register("U", fund="100.00")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(_post_together, live_server.app, client, [_freeze(f"{side}-{i}", f"{i}.00")
                                                                      for i in range(1, 6)])
                for side in ("A", "B")]
        answers = [run.result(timeout=60) for run in runs]
    for side, got in zip(("A", "B"), answers, strict=True):
        assert [(a["status"], a["requestNo"]) for a in got] == [("SUCCESS", f"{side}-{i}") for i in range(1, 6)]
    assert sum(batches) == 10 and _orders(engine) == 10
    assert world.balance("U") == (10_000, 3_000)  # (1 + 2 + 3 + 4 + 5) yuan frozen by each loop
    world.audit_clean()
