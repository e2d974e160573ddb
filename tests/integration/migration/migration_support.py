"""Helpers of the migration integration tests (row counts, balances, the ledger audit, CSV files)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from cunguan.custody import platforms, user_store
from cunguan.db import ledger_audit, ledger_store
from cunguan.db.tables.custody_users import custody_requests, custody_users
from cunguan.db.tables.ledger import postings
from cunguan.db.tables.migration import migration_balances, migration_issues, migration_runs, migration_users

P1 = "6000000001"
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "migration"
SAMPLE_TRANSFER_FEN = 5_258_395  # 52,583.95 yuan: the total of samples/migration/balances.csv


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (custody_users, migration_users, migration_issues, migration_runs, migration_balances,
                          postings, custody_requests)}


def user(engine, user_no: str, platform_no: str = P1) -> user_store.User:
    with engine.connect() as conn:
        return user_store.get_user(conn, platform_no, user_no)


def balance(engine, user_no: str, platform_no: str = P1) -> int:
    u = user(engine, user_no, platform_no)
    with engine.connect() as conn:
        return ledger_store.get_balance(conn, u.ledger_account_id)[0]


def custody_balance(engine, platform_no: str = P1) -> int:
    with engine.connect() as conn:
        return int(ledger_store.find_account(conn, platforms.custody_account_code(platform_no))["balance_fen"])


def audit_clean(engine) -> None:
    with engine.connect() as conn:
        found = list(ledger_audit.violations(conn))
    assert found == [], found


def write_csv(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join((header, *lines)) + "\n", encoding="utf-8")
    return path


def generate(directory: Path, users: int) -> int:
    """users.csv + balances.csv of `users` valid people (benchmarks/migration_gen.py); returns the total fen."""
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "migration_gen.py"
    spec = importlib.util.spec_from_file_location("migration_gen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(directory, users)


def sample_people() -> dict[str, dict[str, str]]:
    """samples/migration/users.csv by platformUserNo (first line of each number)."""
    import csv

    with open(SAMPLES / "users.csv", encoding="utf-8", newline="") as fh:
        out: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(fh):
            out.setdefault(row["platformUserNo"], row)
    return out


def enrol(bank, *user_nos: str) -> None:
    """Tell the simulated card bank about the sample people's imported cards (as their banks know them)."""
    people = sample_people()
    for no in user_nos:
        p = people[no]
        bank.add_card(p["bankcardNo"], real_name=p["name"], id_card_no=p["idCardNo"], mobile=p["mobile"])
