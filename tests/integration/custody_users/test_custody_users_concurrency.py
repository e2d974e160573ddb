"""Races the database must settle: one ID number, one requestNo, one authorization cap."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cunguan.custody import authorizations, users
from cunguan.custody.user_errors import CustodyUserError
from cunguan.db.tx import run_in_transaction

from .conftest import P1, PASSWORD


def _race(jobs: list[Callable[[], object]]) -> list[object]:
    outcomes: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(len(jobs))

    def worker(job):
        start.wait()
        try:
            out: object = job() and "ok"
        except CustodyUserError as exc:
            out = exc.reason
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == len(jobs)
    return sorted(outcomes, key=str)


def test_one_id_number_many_pages_one_account(svc):
    person = svc.new_person("a")
    reqs = [svc.register_request(person, request_no=f"REG-{n}", platform_user_no=f"user-{n}") for n in range(4)]
    outcomes = _race([lambda r=r: svc(users.personal_register, r) for r in reqs])
    assert outcomes == ["ID_CARD_NO_NOT_UNIQUE"] * 3 + ["ok"]


def test_one_request_no_many_users_one_registration(svc):
    people = [svc.new_person(f"user-{n}") for n in range(4)]
    reqs = [svc.register_request(p, request_no="REG-SAME") for p in people]
    outcomes = _race([lambda r=r: svc(users.personal_register, r) for r in reqs])
    assert outcomes == ["DUPLICATE_REQUEST_NO"] * 3 + ["ok"]


def test_authorization_cap_holds_under_concurrent_use(svc):
    svc.register("u1")
    svc(authorizations.user_authorization, authorizations.UserAuthorizationRequest(
        "AUTH-1", "u1", "TENDER", amount="1.00", password=PASSWORD))

    def consume():
        return run_in_transaction(svc.engine, lambda c: authorizations.require_authorization(
            c, P1, "u1", "TENDER", 20, svc.clock.now(), consume=True)) or True

    outcomes = _race([consume for _ in range(8)])
    assert outcomes == ["NOT_AUTHORIZED"] * 3 + ["ok"] * 5
