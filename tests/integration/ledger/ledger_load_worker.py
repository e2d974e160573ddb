"""Workers for the ledger concurrency and crash tests (not a test module: imported by them, and run as
a script by the crash test).

Operations travel as plain tuples so that results can cross process boundaries:
  ("T", debit, credit, amount, freeze_key, key)   a transfer (consuming `freeze_key` when set)
  ("H", account, amount, key)                     a hold
  ("R", freeze_key, amount_or_None, key)          a release
A worker returns one record per batch: ("ok", atomic, ops, results) with results as
(ok, error_code, amount_fen, replayed) per op, ("refused", atomic, ops, code, index), or
("unexpected", repr) for anything that is neither success nor a typed ledger error.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

from sqlalchemy.engine import Engine

from cunguan.db import ledger_store as L
from cunguan.db.engine import create_engine
from cunguan.db.tx import run_in_transaction
from cunguan.ledger import Hold, LedgerError, Release, Transfer

SHARED_TRANSFER_KEYS = 4
SHARED_HOLD_KEYS = 3


def to_op(t: tuple):
    if t[0] == "T":
        return Transfer(t[1], t[2], t[3], "LOAD", "load", key=t[5], freeze_key=t[4])
    if t[0] == "H":
        return Hold(t[1], t[2], t[3], "load")
    return Release(t[1], t[2], key=t[3])


def setup_accounts(engine: Engine, users: int, funding_fen: int) -> dict[str, int]:
    """bank (may overdraw), a hot user account and `users` more, each user funded from the bank."""

    def work(c):
        ids = {"bank": L.open_account(c, "bank", owner_type="SYSTEM", owner_ref="bank", allow_overdraw=True)}
        for name in ["hot", *[f"u{i}" for i in range(users)]]:
            ids[name] = L.open_account(c, name, owner_type="USER", owner_ref=name)
        L.apply(c, [Transfer(ids["bank"], ids[n], funding_fen, "FUND", "fund", key=f"fund-{n}")
                    for n in ids if n != "bank"])
        return ids

    return run_in_transaction(engine, work)


def _choose(rng: random.Random, wid: int, i: int, ids: dict[str, int], freezes: list[tuple[str, int]]):
    """One random batch: (ops, atomic). The hot account is on one side of most transfers."""
    users = [v for k, v in ids.items() if k != "bank"]
    hot, bank = ids["hot"], ids["bank"]

    def pair() -> tuple[int, int]:
        other = rng.choice([a for a in users + [bank] if a != hot])
        return (hot, other) if rng.random() < 0.5 else (other, hot)

    def one(j: int) -> tuple:
        r = rng.random()
        key = f"w{wid}-{i}-{j}"
        if r < 0.35:
            debit, credit = pair() if rng.random() < 0.7 else tuple(rng.sample(users + [bank], 2))
            return ("T", debit, credit, rng.randint(1, 800), None, key if rng.random() < 0.7 else None)
        if r < 0.55:
            acc = rng.choice(users)
            freezes.append((key, acc))
            return ("H", acc, rng.randint(1, 600), key)
        if r < 0.7 and freezes:
            fkey, acc = rng.choice(freezes)
            return ("T", acc, rng.choice([a for a in users + [bank] if a != acc]), rng.randint(1, 300), fkey, key)
        if r < 0.85 and freezes:
            fkey, _ = rng.choice(freezes)
            return ("R", fkey, None if rng.random() < 0.5 else rng.randint(1, 300), key)
        if r < 0.93:
            return ("T", bank, hot, 1, None, f"shared-t{rng.randrange(SHARED_TRANSFER_KEYS)}")
        return ("H", hot, 7, f"shared-h{rng.randrange(SHARED_HOLD_KEYS)}")

    size = 1 if rng.random() < 0.6 else rng.randint(2, 5)
    return [one(j) for j in range(size)], rng.random() < 0.5


def run_worker(engine: Engine, wid: int, ids: dict[str, int], batches: int, seed: int,
               start: Callable[[], object] | None = None) -> list[tuple]:
    rng = random.Random(seed)
    freezes: list[tuple[str, int]] = []
    records: list[tuple] = []
    if start is not None:
        start()
    for i in range(batches):
        ops, atomic = _choose(rng, wid, i, ids, freezes)
        if rng.random() < 0.1 and records and records[-1][0] == "ok":
            ops, atomic = records[-1][2], records[-1][1]  # resend the previous batch: it must replay
        try:
            results = run_in_transaction(engine, lambda c, ops=ops, atomic=atomic: L.apply(
                c, [to_op(t) for t in ops], atomic=atomic))
            records.append(("ok", atomic, ops, [(r.ok, r.error.code if r.error else None, r.amount_fen, r.replayed)
                                                for r in results]))
        except LedgerError as err:
            records.append(("refused", atomic, ops, err.code, err.index))
        except Exception as exc:  # noqa: BLE001 - the test asserts that none arrive here
            records.append(("unexpected", f"{type(exc).__name__}: {exc}"))
    return records


def process_main(url: str, wid: int, ids: dict[str, int], batches: int, seed: int, barrier, queue) -> None:
    """Entry point of a spawned worker process: its own engine from the URL."""
    engine = create_engine(url, pool_size=2)
    try:
        records = run_worker(engine, wid, ids, batches, seed, start=lambda: barrier.wait(timeout=120))
    except Exception as exc:  # noqa: BLE001
        records = [("unexpected", f"{type(exc).__name__}: {exc}")]
    finally:
        engine.dispose()
    queue.put((wid, records))


# ---------------------------------------------------------------- crash test writer


def crash_writer(url: str, bank: int, users: list[int], batch_size: int, first: int, limit: int) -> None:
    """Stream atomic batches `first`, `first + 1`, ... (at most `limit`): batch b's postings carry ref
    "b{b}" and keys "b{b}-{j}"; print "b{b}" and flush right after its commit returned."""
    engine = create_engine(url)
    for b in range(first, first + limit):
        ops = [Transfer(bank, users[0], 10 * batch_size, "CRASH", f"b{b}", key=f"b{b}-0")]
        ops += [Transfer(users[(j - 1) % len(users)], users[j % len(users)], 1, "CRASH", f"b{b}", key=f"b{b}-{j}")
                for j in range(1, batch_size)]
        run_in_transaction(engine, lambda c, ops=ops: L.apply(c, ops, atomic=True))
        sys.stdout.write(f"b{b}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _url, _bank, _users, _size, _first, _limit = sys.argv[1:7]
    crash_writer(_url, int(_bank), [int(u) for u in _users.split(",")], int(_size), int(_first), int(_limit))
