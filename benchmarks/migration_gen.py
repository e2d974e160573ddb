"""Generate a large migration directory and (optionally) import it, reporting time and peak RSS.

    python benchmarks/migration_gen.py DIR --users 1000000                 # write users.csv + balances.csv
    python benchmarks/migration_gen.py DIR --users 200000 --run [--db URL] # … then import into a fresh DB
    python benchmarks/migration_gen.py DIR --users 20000 --projects 10000 --run  # … with projects + shares

Every user is valid (PRC ID of an adult, debit card on a quick-pay BIN, mobile), with a balance of
1.00-100.00 yuan; the transfer amount is printed (and used by --run). Rows are written as they are
made: generating a million users takes constant memory, like the import.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

PLATFORM_NO = "6000000001"
_BASE = dt.date(1950, 1, 1)
_DAYS = 365 * 50  # birth dates 1950-1999: all adults


def person(i: int) -> tuple[str, str, str]:
    """(ID number, card number, mobile) unique for i < 18,250,000."""
    born = _BASE + dt.timedelta(days=i % _DAYS)
    body = f"110105{born:%Y%m%d}{i // _DAYS % 1000:03d}"
    id_no = body + ric.calc_check_digit(body + "0")
    card_body = f"622202{i:012d}"
    return id_no, card_body + luhn.calc_check_digit(card_body), f"13{i % 1_000_000_000:09d}"


def generate(directory: Path, users: int) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    with open(directory / "users.csv", "w", encoding="utf-8", newline="") as uf, \
            open(directory / "balances.csv", "w", encoding="utf-8", newline="") as bf:
        uw, bw = csv.writer(uf, lineterminator="\n"), csv.writer(bf, lineterminator="\n")
        uw.writerow(["platformUserNo", "userType", "userRole", "name", "idCardType", "idCardNo", "bankcardNo",
                     "bankcode", "mobile"])
        bw.writerow(["platformUserNo", "balance"])
        for i in range(users):
            id_no, card, mobile = person(i)
            user_no = f"M{i:08d}"
            uw.writerow([user_no, "PERSONAL", "INVESTOR", "测试用户", "PRC_ID", id_no, card, "ICBK", mobile])
            fen = 100 + (i * 7919) % 9901
            total += fen
            bw.writerow([user_no, f"{fen // 100}.{fen % 100:02d}"])
    return total


HOLDERS_PER_PROJECT = 10


def generate_projects(directory: Path, projects: int, users: int) -> None:
    """projects.csv + shares.csv: project j is borrowed by user j and held by the next ten users, 100.00
    yuan each (amount 1000.00), so every project is created in custody."""
    assert users > HOLDERS_PER_PROJECT, "need more users than holders per project"
    with open(directory / "projects.csv", "w", encoding="utf-8", newline="") as pf, \
            open(directory / "shares.csv", "w", encoding="utf-8", newline="") as sf:
        pw, sw = csv.writer(pf, lineterminator="\n"), csv.writer(sf, lineterminator="\n")
        pw.writerow(["projectNo", "borrowerPlatformUserNo", "projectName", "projectAmount", "annualInterestRate",
                     "repaymentWay", "projectPeriod"])
        sw.writerow(["projectNo", "platformUserNo", "share"])
        for j in range(projects):
            project_no = f"MP{j:08d}"
            pw.writerow([project_no, f"M{j % users:08d}", "存量标的", "1000.00", "0.08", "ONE_TIME_SERVICING", "365"])
            for k in range(1, HOLDERS_PER_PROJECT + 1):
                sw.writerow([project_no, f"M{(j + k) % users:08d}", "100.00"])


def run(directory: Path, db: str | None, transfer_fen: int) -> dict:
    from cunguan.client import signing
    from cunguan.clock import Clock
    from cunguan.custody import platforms
    from cunguan.db.engine import create_engine
    from cunguan.db.migrate import upgrade
    from cunguan.db.tx import run_in_transaction
    from cunguan.migration import importer

    url = db or f"sqlite:///{directory / 'bench.sqlite3'}"
    engine = create_engine(url)
    upgrade(engine)
    pem = signing.public_key_pem(signing.generate_private_key())
    run_in_transaction(engine, lambda conn: platforms.create_platform(
        conn, 0, platform_no=PLATFORM_NO, name="bench", notify_url="http://127.0.0.1:9/n", public_key_pem=pem))
    started = time.perf_counter()
    marks: dict[str, float] = {}

    def progress(name: str, line: int, done: int, size: int) -> None:
        marks[name] = time.perf_counter() - started

    result = importer.import_directory(engine, Clock(), directory, PLATFORM_NO, transfer_fen=transfer_fen,
                                       report_path=directory / "report.csv", progress=progress)
    elapsed = time.perf_counter() - started
    return {"files": [(f.file_name, f.status, f.accepted, f.rejected) for f in result.files],
            "seconds": round(elapsed, 1), "users_done_s": round(marks.get("users.csv", 0), 1),
            "balances_done_s": round(marks.get("balances.csv", 0), 1),
            "projects_staged_s": round(marks.get("projects.csv", 0), 1),
            "shares_staged_s": round(marks.get("shares.csv", 0), 1),
            "projects_created_s": round(marks.get(importer.CUSTODY_PROJECTS, 0), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=0, help="also write projects.csv + shares.csv "
                        f"({HOLDERS_PER_PROJECT} holders each)")
    parser.add_argument("--run", action="store_true", help="import the generated files into a fresh database")
    parser.add_argument("--db", help="database URL for --run (default: DIR/bench.sqlite3)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    total = generate(args.directory, args.users)
    if args.projects:
        generate_projects(args.directory, args.projects, args.users)
    print(json.dumps({"generated_users": args.users, "transfer_yuan": f"{total // 100}.{total % 100:02d}",
                      "generate_s": round(time.perf_counter() - t0, 1)}), flush=True)
    if args.run:
        print(json.dumps(run(args.directory, args.db, total)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
