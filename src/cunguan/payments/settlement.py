"""T+1 settlement by the payment companies, as data and as files.

A payment company holds no money: what it carried in on Beijing business date D it pays to the custody
account on the next working day (`settlement_date_for(D)`), with a settlement file listing each payment.
Until then a recharge is *unsettled* (scenario 2); only settled money may leave by a NORMAL withdrawal,
and a T0 withdrawal must advance the unsettled part (scenario 10).

The file: UTF-8 CSV, header line first, one payment per line, named `<COMPANY>_<YYYYMMDD>.csv`
(the pay date). Columns: company, date (YYYY-MM-DD, the pay date), our order no, their order no,
amount in fen, fee in fen. A day without payments is a header-only file. The parser is strict: every
bad line is reported with its line number, and nothing of a bad file is used.

Everything below is pure (no database): the recharge service and the reconciliation pass in plain data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cunguan.calendar_cn import is_working_day, next_working_day

HEADER = ("company", "date", "order_no", "company_order_no", "amount_fen", "fee_fen")
MAX_ROWS = 3_000_000
"""Most payment lines one file may hold (the product's daily peak per platform)."""

MAX_ID_LEN = 50
_NAME_RE = re.compile(r"^([A-Z0-9]{2,16})_([0-9]{8})\.csv$")
_DIGITS_RE = re.compile(r"^[0-9]{1,19}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,50}$")


class SettlementNotDue(ValueError):
    """The settlement file for a day is asked for before its settlement day."""


@dataclass(frozen=True, slots=True)
class SettlementRow:
    company: str
    pay_date: dt.date
    order_no: str
    company_order_no: str
    amount_fen: int
    fee_fen: int


@dataclass(frozen=True, slots=True)
class SettlementFile:
    company: str
    pay_date: dt.date
    rows: tuple[SettlementRow, ...]

    @property
    def settle_date(self) -> dt.date:
        return settlement_date_for(self.pay_date)

    @property
    def total_amount_fen(self) -> int:
        return sum(r.amount_fen for r in self.rows)

    @property
    def total_fee_fen(self) -> int:
        return sum(r.fee_fen for r in self.rows)

    @property
    def net_fen(self) -> int:
        """What reaches the custody account on the settlement day."""
        return self.total_amount_fen - self.total_fee_fen


@dataclass(frozen=True, slots=True)
class FileProblem:
    line: int  # 1-based line number in the file; 0 = the file as a whole
    message: str


class SettlementFileError(ValueError):
    """A settlement file that cannot be taken; `problems` lists each bad line with its number."""

    def __init__(self, problems: list[FileProblem]) -> None:
        assert problems
        self.problems = problems
        shown = "; ".join(f"line {p.line}: {p.message}" for p in problems[:5])
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"bad settlement file: {shown}{more}")


# ---------------------------------------------------------------- dates


def settlement_date_for(pay_date: dt.date) -> dt.date:
    """The day the company settles money it carried in on `pay_date`: the next working day."""
    return next_working_day(pay_date)


def settlement_due(pay_date: dt.date, today: dt.date) -> bool:
    """True once the settlement day for `pay_date` has come (the file may be expected)."""
    return today >= settlement_date_for(pay_date)


def pay_dates_settled_on(settle_date: dt.date) -> list[dt.date]:
    """Every pay date whose money settles on `settle_date` (a working day after a holiday settles
    several days at once; a non-working day settles none)."""
    if not is_working_day(settle_date):
        return []
    days: list[dt.date] = []
    day = settle_date - dt.timedelta(days=1)
    while settlement_date_for(day) == settle_date:
        days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


# ---------------------------------------------------------------- files


def file_name(company: str, pay_date: dt.date) -> str:
    return f"{company}_{pay_date:%Y%m%d}.csv"


def render_csv(settlement: SettlementFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in settlement.rows:
        writer.writerow((r.company, r.pay_date.isoformat(), r.order_no, r.company_order_no, r.amount_fen, r.fee_fen))
    return out.getvalue()


def write_file(settlement: SettlementFile, directory: Path) -> Path:
    """Write the file atomically (temp name, then rename) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(settlement.company, settlement.pay_date)
    tmp = path.with_suffix(".csv.part")
    tmp.write_text(render_csv(settlement), encoding="utf-8")
    tmp.replace(path)
    return path


def read_file(path: Path) -> SettlementFile:
    """Read and parse a file; its name must say which company and day it is for."""
    m = _NAME_RE.match(path.name)
    if m is None:
        raise SettlementFileError([FileProblem(0, f"file name {path.name[:60]!r} is not COMPANY_YYYYMMDD.csv")])
    try:
        pay_date = dt.datetime.strptime(m.group(2), "%Y%m%d").date()
    except ValueError:
        raise SettlementFileError([FileProblem(0, "file name has an impossible date")]) from None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError([FileProblem(0, "file is not UTF-8")]) from None
    return parse_csv(text, company=m.group(1), pay_date=pay_date)


def parse_csv(text: str, *, company: str, pay_date: dt.date) -> SettlementFile:
    """Parse a settlement file for `company` and `pay_date`, strictly; raise SettlementFileError with
    every bad line (up to 1,000 problems) if anything is wrong."""
    problems: list[FileProblem] = []
    rows: list[SettlementRow] = []
    seen_ours: dict[str, int] = {}
    seen_theirs: dict[str, int] = {}
    lines = text.splitlines()
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SettlementFileError([FileProblem(1, "empty file: the header line is missing")])
    if len(lines) - 1 > MAX_ROWS:
        raise SettlementFileError([FileProblem(0, f"more than {MAX_ROWS} lines")])
    for line_no, line in enumerate(lines, start=1):
        if len(problems) >= 1_000:
            break
        try:
            fields = next(csv.reader([line], strict=True))
        except (csv.Error, StopIteration):
            problems.append(FileProblem(line_no, "not a valid CSV line"))
            continue
        if line_no == 1:
            if tuple(fields) != HEADER:
                problems.append(FileProblem(1, f"header must be {','.join(HEADER)}"))
            continue
        row = _parse_row(line_no, fields, company, pay_date, problems)
        if row is None:
            continue
        if row.order_no in seen_ours:
            problems.append(FileProblem(line_no, f"order_no repeats line {seen_ours[row.order_no]}"))
            continue
        if row.company_order_no in seen_theirs:
            problems.append(FileProblem(line_no, f"company_order_no repeats line {seen_theirs[row.company_order_no]}"))
            continue
        seen_ours[row.order_no] = line_no
        seen_theirs[row.company_order_no] = line_no
        rows.append(row)
    if problems:
        raise SettlementFileError(problems)
    return SettlementFile(company, pay_date, tuple(rows))


def _parse_row(line_no: int, fields: list[str], company: str, pay_date: dt.date,
               problems: list[FileProblem]) -> SettlementRow | None:
    if len(fields) != len(HEADER):
        problems.append(FileProblem(line_no, f"expected {len(HEADER)} fields, got {len(fields)}"))
        return None
    comp, date_text, ours, theirs, amount_text, fee_text = fields
    before = len(problems)
    if comp != company:
        problems.append(FileProblem(line_no, f"company {comp[:20]!r} is not {company}"))
    if not _DATE_RE.match(date_text) or date_text != pay_date.isoformat():
        problems.append(FileProblem(line_no, f"date {date_text[:20]!r} is not {pay_date.isoformat()}"))
    if not _ID_RE.match(ours):
        problems.append(FileProblem(line_no, "order_no must be 1..50 letters, digits, '_' or '-'"))
    if not _ID_RE.match(theirs):
        problems.append(FileProblem(line_no, "company_order_no must be 1..50 letters, digits, '_' or '-'"))
    amount = _fen(amount_text)
    fee = _fen(fee_text)
    if amount is None or amount <= 0:
        problems.append(FileProblem(line_no, "amount_fen must be a positive whole number of fen"))
    if fee is None:
        problems.append(FileProblem(line_no, "fee_fen must be a whole number of fen"))
    elif amount is not None and fee > amount:
        problems.append(FileProblem(line_no, "fee_fen is larger than amount_fen"))
    if len(problems) > before:
        return None
    assert amount is not None and fee is not None
    return SettlementRow(comp, pay_date, ours, theirs, amount, fee)


def _fen(text: str) -> int | None:
    if not _DIGITS_RE.match(text) or (len(text) > 1 and text[0] == "0"):
        return None
    value = int(text)
    return value if value < 2**63 else None


# ---------------------------------------------------------------- classification


@dataclass(frozen=True, slots=True)
class OurPayment:
    """One of our recharges that the company reported SUCCESS for this company and pay date."""

    order_no: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class AmountMismatch:
    order_no: str
    ours_fen: int
    theirs_fen: int


@dataclass(frozen=True, slots=True)
class SettlementComparison:
    matched: tuple[SettlementRow, ...]
    missing_ours: tuple[SettlementRow, ...]  # in their file, not in our records
    missing_theirs: tuple[OurPayment, ...]  # in our records, not in their file
    amount_mismatch: tuple[AmountMismatch, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing_ours or self.missing_theirs or self.amount_mismatch)


def compare(settlement: SettlementFile, ours: Iterable[OurPayment]) -> SettlementComparison:
    """Classify each line against our records for the same company and pay date (pure)."""
    by_order: dict[str, OurPayment] = {}
    for p in ours:
        assert p.order_no not in by_order, f"our records list {p.order_no} twice"
        by_order[p.order_no] = p
    matched: list[SettlementRow] = []
    missing_ours: list[SettlementRow] = []
    mismatch: list[AmountMismatch] = []
    for row in settlement.rows:
        mine = by_order.pop(row.order_no, None)
        if mine is None:
            missing_ours.append(row)
        elif mine.amount_fen != row.amount_fen:
            mismatch.append(AmountMismatch(row.order_no, mine.amount_fen, row.amount_fen))
        else:
            matched.append(row)
    missing_theirs = sorted(by_order.values(), key=lambda p: p.order_no)
    return SettlementComparison(tuple(matched), tuple(missing_ours), tuple(missing_theirs), tuple(mismatch))


# ---------------------------------------------------------------- settled or not


@dataclass
class SettledIndex:
    """Which payments are settled, from the settlement files received so far (and verified clean or
    not — that is the reconciliation's call). `add` the files as they arrive."""

    _settled: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    _files: set[tuple[str, dt.date]] = field(default_factory=set)

    @classmethod
    def of(cls, files: Iterable[SettlementFile]) -> SettledIndex:
        index = cls()
        for f in files:
            index.add(f)
        return index

    def add(self, settlement: SettlementFile) -> None:
        key = (settlement.company, settlement.pay_date)
        assert key not in self._files, f"settlement file {key} added twice"
        self._files.add(key)
        for row in settlement.rows:
            self._settled[(row.company, row.order_no)] = settlement.settle_date

    def has_file(self, company: str, pay_date: dt.date) -> bool:
        return (company, pay_date) in self._files

    def settled_on(self, company: str, order_no: str) -> dt.date | None:
        return self._settled.get((company, order_no))

    def is_settled(self, company: str, order_no: str) -> bool:
        return (company, order_no) in self._settled


def is_settled(company: str, order_no: str, files: Iterable[SettlementFile]) -> bool:
    """True when `order_no` appears in a received settlement file of `company`."""
    return any(f.company == company and any(r.order_no == order_no for r in f.rows) for f in files)
