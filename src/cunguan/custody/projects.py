"""Projects (标的): ESTABLISH_PROJECT, MODIFY_PROJECT, QUERY_PROJECT_INFORMATION (protocol §2.4, §2.7,
§3.11, §3.11b, §5.3).

Decisions where the spec is silent:
- The borrower (`platformUserNo`) must exist and be active (100009 / 100010); `projectNo` is unique per
  platform (a second one is refused 100008). Rate, period and repayment way are recorded only. Both
  spellings of the rate are accepted on input (`annnualInterestRate` first) and returned on query.
- A project starts COLLECTING. Status machine (MODIFY_PROJECT):
    COLLECTING → FINISH (截标), REPAYING, MISCARRY
    FINISH     → REPAYING, MISCARRY
    REPAYING   → FINISH, only when every lent principal is back (repaid + directly compensated = loan:
                 custody.md §6 "when a project is finished the principal repaid equals the principal
                 invested")
    MISCARRY   → nothing (final)
  → REPAYING needs a released loan (loan > 0); → MISCARRY needs none (loan = 0). MISCARRY cancels
  nothing by itself: the platform cancels the bids with CANCEL_PRE_TRANSACTION, and red packets are
  never spent because no TENDER trade is accepted on a MISCARRY project (100015). Any refused change,
  including the current status again, answers "标的当前不能变更为:X" (100008, observed as P).
- Exchange assets (scenario 13): `extend.exchangeAsset` = true (or "true"/"Y"/"1") marks the project as
  a claim made offline; it then requires `extend.originalContractNo` (original loan contract number)
  and `extend.disbursementRecordNo` (the disbursement record), both text ≤ 50. Such a project reports
  `projectProperties` STOCK (存量), every other NEW. The whole `extend` object is stored (≤ 4000 chars).
- Migrated projects (存量迁移, custody.md "Migration of existing platforms"): `import_project`, called
  only by the migration importer, creates a project whose money was lent before custody: status
  REPAYING (ever_repaying), `project_properties` STOCK with `exchange_asset` false (that pair is what
  marks a migrated project; an exchange asset is STOCK with `exchange_asset` true), `loan_fen` = the
  principal its holders still hold (Σ imported shares, so that REPAYING → FINISH works once it is all
  repaid), `projectAmount` as the platform declared it, type STANDARDPOWDER, and `request_no`
  `MIGP{run}-{line}` (not a platform requestNo: it is not claimed in the request register). No money
  moves: the borrower's and holders' money came with balances.csv. From then on REPAYMENT,
  COMPENSATORY, DEBENTURE_SALE and CREDIT_ASSIGNMENT treat it like any released project.
- Accumulators of QUERY_PROJECT_INFORMATION: `loanAmount` = released to the borrower by TENDER trades;
  `repaymentAmount` = principal repaid to holders by REPAYMENT details (amount − income);
  `income` = interest (income) repaid to holders; `tenderAmount` = what has been raised: bids still
  frozen (not released, not cancelled) plus the released loan — the number that may never exceed
  `projectAmount`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import requests
from cunguan.custody.fields import opt, opt_text, req_enum, req_text
from cunguan.custody.trade_common import amount_fen, get_party, yuan
from cunguan.custody.trade_errors import (
    BusinessRefused,
    InvalidField,
    ProjectNotFound,
    ProjectStatusNotAllowed,
)
from cunguan.db.prepared import Prepared, Write, run_together
from cunguan.db.tables.custody_trades import custody_projects

PROJECT_TYPES = ("STANDARDPOWDER", "ENTRUST_PAY")
REPAYMENT_WAYS = ("ONE_TIME_SERVICING", "FIRSEINTREST_LASTPRICIPAL", "FIXED_PAYMENT_MORTGAGE", "FIXED_BASIS_MORTGAGE")
STATUSES = ("COLLECTING", "REPAYING", "FINISH", "MISCARRY")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "COLLECTING": ("FINISH", "REPAYING", "MISCARRY"),
    "FINISH": ("REPAYING", "MISCARRY"),
    "REPAYING": ("FINISH",),
    "MISCARRY": (),
}
EXCHANGE_REQUIRED_KEYS = ("originalContractNo", "disbursementRecordNo")
MAX_EXTEND_CHARS = 4000
MAX_PERIOD_DAYS = 36_500
MAX_RATE = Decimal(10)


# ---------------------------------------------------------------- loading


_BY_NO = (custody_projects.c.platform_no == bindparam("platform_no")) & \
    (custody_projects.c.project_no == bindparam("project_no"))
_FIND = Prepared(select(custody_projects).where(_BY_NO))
_FIND_LOCKED = Prepared({"sqlite": select(custody_projects).where(_BY_NO),
                         "postgresql": select(custody_projects).where(_BY_NO).with_for_update()})
_BOOLEANS = ("exchange_asset", "ever_repaying")


def find_project(conn: Connection, platform_no: str, project_no: str, *, lock: bool = False) -> dict | None:
    """The project row; `lock` takes its row lock on PostgreSQL (SQLite's writer already serialises):
    every writer that changes a project's accumulators locks it first, before any ledger lock."""
    row = (_FIND_LOCKED if lock else _FIND).first_dict(conn, {"platform_no": platform_no, "project_no": project_no})
    if row is not None:
        for name in _BOOLEANS:  # the driver's 0/1 on SQLite
            row[name] = bool(row[name])
    return row


def get_project(conn: Connection, platform_no: str, project_no: str, *, lock: bool = False,
                field: str = "projectNo") -> dict:
    row = find_project(conn, platform_no, project_no, lock=lock)
    if row is None:
        raise not_found(project_no, field)
    return row


def not_found(project_no: str, field: str = "projectNo") -> ProjectNotFound:
    return ProjectNotFound(f"{field}: project {project_no[:50]!r} does not exist", field=field)


ACCUMULATORS = ("loan_fen", "tender_frozen_fen", "repaid_principal_fen", "income_fen", "compensated_fen",
                 "compensation_repaid_fen")
_BUMP = Prepared(update(custody_projects).where(custody_projects.c.id == bindparam("b_id")).values(
    updated_us=bindparam("b_now"), **{n: getattr(custody_projects.c, n) + bindparam(f"d_{n}") for n in ACCUMULATORS}))


def bump(conn: Connection, project_id: int, now_us: int, **deltas: int) -> None:
    """Add to accumulators (`loan_fen=+x`, `tender_frozen_fen=-y`...); the table's CHECKs hold the line."""
    run_together(conn, [bump_write(project_id, now_us, **deltas)])


def bump_write(project_id: int, now_us: int, **deltas: int) -> Write | None:
    """`bump` as a write to send with others (`db.prepared.run_together`); None when nothing changes."""
    assert set(deltas) <= set(ACCUMULATORS), deltas
    if not any(deltas.values()):
        return None
    return Write(_BUMP, {"b_id": project_id, "b_now": now_us, **{f"d_{n}": deltas.get(n, 0) for n in ACCUMULATORS}},
                 rows=1)


# ---------------------------------------------------------------- parsing


def parse_rate(value: object, field: str = "annnualInterestRate") -> Decimal:
    if opt(value) is None:
        raise InvalidField(f"{field} is required", field=field)
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, int | str | Decimal):
        raise InvalidField(f"{field} must be a decimal number", field=field)
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidField(f"{field} must be a decimal number", field=field) from None
    if not rate.is_finite() or rate < 0 or rate > MAX_RATE or len(str(value)) > 20:
        raise InvalidField(f"{field} must be a rate between 0 and {MAX_RATE}", field=field)
    return rate


def parse_period(value: object) -> int | None:
    if opt(value) is None:
        return None
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= MAX_PERIOD_DAYS:
        raise InvalidField(f"projectPeriod must be a whole number of days 1..{MAX_PERIOD_DAYS}", field="projectPeriod")
    return int(text)


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().upper() in ("TRUE", "Y", "YES", "1")) \
        or (isinstance(value, int) and not isinstance(value, bool) and value == 1)


def parse_extend(value: object) -> tuple[dict[str, Any] | None, bool]:
    """(extend object, is exchange asset)."""
    if opt(value) is None:
        return None, False
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidField("extend must be a JSON object", field="extend") from None
    if not isinstance(value, dict):
        raise InvalidField("extend must be a JSON object", field="extend")
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_EXTEND_CHARS:
        raise InvalidField(f"extend is longer than {MAX_EXTEND_CHARS} characters", field="extend")
    exchange = _truthy(value.get("exchangeAsset"))
    if exchange:
        for key in EXCHANGE_REQUIRED_KEYS:
            v = value.get(key)
            if not isinstance(v, str | int) or isinstance(v, bool):
                raise InvalidField(f"extend.{key} is required for an exchange asset (exchangeAsset=true)",
                                   field=f"extend.{key}")
            req_text(str(v), f"extend.{key}")
    return value, exchange


# ---------------------------------------------------------------- ESTABLISH_PROJECT


def establish_project(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    borrower_no = req_text(req.get("platformUserNo"), "platformUserNo")
    project_no = req_text(req.get("projectNo"), "projectNo")
    project_amount = amount_fen(req.get("projectAmount"), "projectAmount")
    name = req_text(req.get("projectName"), "projectName", max_len=300)
    description = opt_text(req.get("projectDescription"), "projectDescription", max_len=300)
    project_type = req_enum(req.get("projectType"), "projectType", PROJECT_TYPES)
    period = parse_period(req.get("projectPeriod"))
    rate_raw = req.get("annnualInterestRate")
    rate = parse_rate(rate_raw if opt(rate_raw) is not None else req.get("annualInterestRate"))
    way = req_enum(req.get("repaymentWay"), "repaymentWay", REPAYMENT_WAYS)
    extend, exchange = parse_extend(req.get("extend"))
    now = requests.clock_us(clock)
    requests.claim(conn, clock, platform_no, request_no, "ESTABLISH_PROJECT", borrower_no)
    borrower = get_party(conn, platform_no, borrower_no, "platformUserNo")
    if borrower.system:
        raise BusinessRefused("platformUserNo: a system account cannot borrow", field="platformUserNo")
    if find_project(conn, platform_no, project_no) is not None:
        raise BusinessRefused(f"projectNo {project_no!r} already exists on this platform", field="projectNo")
    values = dict(
        platform_no=platform_no, project_no=project_no, borrower_user_no=borrower_no, project_name=name,
        project_description=description, project_type=project_type, project_period=period,
        annual_interest_rate=str(rate), repayment_way=way, project_properties="STOCK" if exchange else "NEW",
        exchange_asset=exchange, extend_json=json.dumps(extend, ensure_ascii=False, default=str) if extend else None,
        status="COLLECTING", ever_repaying=False, project_amount_fen=project_amount, loan_fen=0,
        tender_frozen_fen=0, repaid_principal_fen=0, income_fen=0, compensated_fen=0, compensation_repaid_fen=0,
        request_no=request_no, created_us=now, updated_us=now)
    # A concurrent twin on PostgreSQL fails on the unique pair (23505): run_in_transaction retries, and
    # the retry finds the committed project above.
    conn.execute(custody_projects.insert().values(**values))
    out = {"requestNo": request_no, "projectNo": project_no, "projectStatus": "COLLECTING"}
    requests.record(conn, platform_no, request_no, borrower_no, out)
    return out


# ---------------------------------------------------------------- migrated projects

MIGRATED_PROJECT_TYPE = "STANDARDPOWDER"


def import_project(conn: Connection, now_us: int, *, platform_no: str, project_no: str, borrower_user_no: str,
                   project_name: str, project_amount_fen: int, loan_fen: int, annual_interest_rate: str,
                   repayment_way: str, project_period: int | None, request_no: str) -> int:
    """Create a migrated project (see the module docstring), REPAYING with `loan_fen` already lent.
    The caller (the migration importer) checked the borrower and the shares; the table's CHECKs hold
    `0 < loan_fen <= project_amount_fen`. Returns the project id."""
    assert 0 < loan_fen <= project_amount_fen, "a migrated project lends its holders' principal, within its amount"
    assert repayment_way in REPAYMENT_WAYS, repayment_way
    parse_rate(annual_interest_rate)
    values = dict(
        platform_no=platform_no, project_no=project_no, borrower_user_no=borrower_user_no,
        project_name=project_name[:300], project_description=None, project_type=MIGRATED_PROJECT_TYPE,
        project_period=project_period, annual_interest_rate=annual_interest_rate, repayment_way=repayment_way,
        project_properties="STOCK", exchange_asset=False, extend_json=None, status="REPAYING", ever_repaying=True,
        project_amount_fen=project_amount_fen, loan_fen=loan_fen, tender_frozen_fen=0, repaid_principal_fen=0,
        income_fen=0, compensated_fen=0, compensation_repaid_fen=0, request_no=request_no, created_us=now_us,
        updated_us=now_us)
    return int(conn.execute(custody_projects.insert().values(**values)).inserted_primary_key[0])


def is_migrated(project: Mapping[str, Any]) -> bool:
    return project["project_properties"] == "STOCK" and not project["exchange_asset"]


# ---------------------------------------------------------------- MODIFY_PROJECT


def transition_refusal(project: Mapping[str, Any], target: str) -> str | None:
    """Why the project may not move to `target`, or None (pure: the machine in one place)."""
    current = project["status"]
    if target == current:
        return f"the project is already {current}"
    if target not in TRANSITIONS[current]:
        return f"{current} cannot change to {target}"
    if target == "REPAYING" and project["loan_fen"] <= 0:
        return "nothing has been released to the borrower yet"
    if target == "MISCARRY" and project["loan_fen"] > 0:
        return "the loan has already been released"
    if current == "REPAYING" and target == "FINISH" and \
            project["repaid_principal_fen"] + project["compensated_fen"] != project["loan_fen"]:
        return "principal is still outstanding"
    return None


def modify_project(conn: Connection, clock: Clock, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    request_no = requests.request_no(req.get("requestNo"))
    project_no = req_text(req.get("projectNo"), "projectNo")
    target = req_enum(req.get("status"), "status", STATUSES)
    requests.claim(conn, clock, platform_no, request_no, "MODIFY_PROJECT", None)
    project = get_project(conn, platform_no, project_no, lock=True)
    why = transition_refusal(project, target)
    if why is not None:
        raise ProjectStatusNotAllowed(target, why)
    now = requests.clock_us(clock)
    values: dict[str, Any] = {"status": target, "updated_us": now}
    if target == "REPAYING":
        values["ever_repaying"] = True
    conn.execute(update(custody_projects).where(custody_projects.c.id == project["id"]).values(**values))
    out = {"requestNo": request_no, "projectNo": project_no, "projectStatus": target}
    requests.record(conn, platform_no, request_no, project["borrower_user_no"], out)
    return out


# ---------------------------------------------------------------- QUERY_PROJECT_INFORMATION


def project_fields(project: Mapping[str, Any]) -> dict[str, Any]:
    rate = Decimal(project["annual_interest_rate"])
    out: dict[str, Any] = {
        "platformUserNo": project["borrower_user_no"], "projectNo": project["project_no"],
        "projectAmount": yuan(project["project_amount_fen"]), "projectName": project["project_name"],
        "projectDescription": project["project_description"], "projectType": project["project_type"],
        "projectPeriod": project["project_period"], "projectProperties": project["project_properties"],
        "annualInterestRate": rate, "annnualInterestRate": rate, "repaymentWay": project["repayment_way"],
        "projectStatus": project["status"], "loanAmount": yuan(project["loan_fen"]),
        "repaymentAmount": yuan(project["repaid_principal_fen"]), "income": yuan(project["income_fen"]),
        "tenderAmount": yuan(project["loan_fen"] + project["tender_frozen_fen"]),
    }
    if project["extend_json"]:
        out["extend"] = json.loads(project["extend_json"])
    return {k: v for k, v in out.items() if v is not None}


def query_project_information(conn: Connection, platform_no: str, req: Mapping[str, Any]) -> dict[str, Any]:
    project_no = req_text(req.get("projectNo"), "projectNo")
    return project_fields(get_project(conn, platform_no, project_no))
