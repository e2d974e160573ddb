"""The migration files: UTF-8 CSV (a BOM is tolerated), comma-separated, one header line, read as a
stream with the csv module (quoted fields may contain commas or line breaks). Amounts stay text here;
the cleaning rules parse them exactly (`cunguan.money.parse_yuan`, at most 2 decimals, no float).

Files of a migration directory (each optional except users.csv; columns in any order, extra columns
ignored, a missing column refuses the file before anything is read):

| file | columns |
|---|---|
| users.csv | platformUserNo, userType, userRole, name, idCardType, idCardNo, bankcardNo, bankcode, mobile |
| balances.csv | platformUserNo, balance |
| projects.csv | projectNo, borrowerPlatformUserNo, projectName, projectAmount, annualInterestRate, repaymentWay, projectPeriod |
| shares.csv | projectNo, platformUserNo, share |

Line numbers are physical line numbers of the file (the header is line 1), so the report points at
the line an operator opens in an editor.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USERS_FILE = "users.csv"
BALANCES_FILE = "balances.csv"
PROJECTS_FILE = "projects.csv"
SHARES_FILE = "shares.csv"

USER_COLUMNS = ("platformUserNo", "userType", "userRole", "name", "idCardType", "idCardNo", "bankcardNo",
                "bankcode", "mobile")
BALANCE_COLUMNS = ("platformUserNo", "balance")
PROJECT_COLUMNS = ("projectNo", "borrowerPlatformUserNo", "projectName", "projectAmount", "annualInterestRate",
                   "repaymentWay", "projectPeriod")
SHARE_COLUMNS = ("projectNo", "platformUserNo", "share")
COLUMNS = {USERS_FILE: USER_COLUMNS, BALANCES_FILE: BALANCE_COLUMNS, PROJECTS_FILE: PROJECT_COLUMNS,
           SHARES_FILE: SHARE_COLUMNS}

MAX_FIELD_CHARS = 1000
"""A field longer than this is malformed input, not data (explicit limit; csv's own is 128 KiB)."""
DIGEST_BLOCK = 1 << 20


class FileFormatError(ValueError):
    """The file cannot be read as the format says (header, encoding, CSV syntax): nothing is imported."""


@dataclass(frozen=True)
class Row:
    line_no: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


class ByteCounter:
    """How far into the file the reader is (for a progress bar)."""

    def __init__(self) -> None:
        self.bytes_read = 0


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks: the identity of an import run."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(DIGEST_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _lines(fh, counter: ByteCounter) -> Iterator[str]:
    first = True
    for raw in fh:
        counter.bytes_read += len(raw)
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"not UTF-8 near byte {counter.bytes_read}: {exc.reason}") from None


def read_rows(path: Path, columns: tuple[str, ...], *, counter: ByteCounter | None = None) -> Iterator[Row]:
    """Stream the data rows of a CSV file as `Row`s (values stripped; absent cells are "")."""
    counter = counter or ByteCounter()
    with open(path, "rb") as fh:
        reader = csv.reader(_lines(fh, counter), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise FileFormatError(f"{path.name} is empty (a header line is required)") from None
        except csv.Error as exc:
            raise FileFormatError(f"{path.name}: line 1: {exc}") from None
        header = [h.strip() for h in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise FileFormatError(f"{path.name}: header lacks column(s) {', '.join(missing)}")
        index = {c: header.index(c) for c in columns}
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileFormatError(f"{path.name}: line {reader.line_num}: {exc}") from None
            if not cells or all(not c.strip() for c in cells):
                continue  # blank line
            if any(len(c) > MAX_FIELD_CHARS for c in cells):
                raise FileFormatError(f"{path.name}: line {reader.line_num}: a field is longer than "
                                      f"{MAX_FIELD_CHARS} characters")
            values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
            yield Row(reader.line_num, values)
