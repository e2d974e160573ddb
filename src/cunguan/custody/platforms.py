"""Platforms: who may call the custody interface, with which keys, and the accounts the bank opens
for them; plus the bank's own signing key.

A platform is created in one transaction with everything it needs on the ledger: its custody cash
account (the asset side, may overdraw) and its eight system accounts `SYS_GENERATE_000`…`007`
(protocol §3.1). Every lookup takes a platform number: nothing here finds a user or an account
without it, so a platform never reaches another platform's data.

The bank key signs every direct response and every notification. It is generated on first use and
kept in `custody_bank_keys` (so all server processes on one database share it), unless
`Settings.bank_private_key_file` names a PEM file. The private key is never logged or printed.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from cunguan.client import signing
from cunguan.clock import (
    Clock,
    now_us,  # noqa: F401  (re-exported)
)
from cunguan.custody.errors import (
    InvalidPlatformData,
    KeyExists,
    PlatformExists,
    PlatformNotFound,
)
from cunguan.db import ledger_store
from cunguan.db.tables.custody_platforms import custody_bank_keys, custody_platform_keys, custody_platforms
from cunguan.db.tx import run_in_transaction
from cunguan.settings import Settings

PLATFORM_NO_RE = re.compile(r"[A-Za-z0-9_-]{1,13}")
"""Same rule as the user store: 10 digits in every sample; ≤ 13 keeps ledger owner refs short."""
KEY_SERIAL_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MAX_NAME_LEN = 100
MAX_URL_LEN = 500

ACTIVE = "ACTIVE"
DISABLED = "DISABLED"

SYSTEM_ACCOUNTS: dict[str, str] = {
    "SYS_GENERATE_000": "PLATFORM_FUNDS_TRANSFER",
    "SYS_GENERATE_001": "PLATFORM_COMPENSATORY",
    "SYS_GENERATE_002": "PLATFORM_MARKETING",
    "SYS_GENERATE_003": "PLATFORM_PROFIT",
    "SYS_GENERATE_004": "PLATFORM_INCOME",
    "SYS_GENERATE_005": "PLATFORM_INTEREST",
    "SYS_GENERATE_006": "PLATFORM_ALTERNATIVE_RECHARGE",
    "SYS_GENERATE_007": "PLATFORM_URGENT",
}
"""platformUserNo -> userRole of the bank-created system accounts."""

OWNER_SYSTEM = "PLATFORM_SYSTEM"
OWNER_CUSTODY = "CUSTODY_CASH"
BANK_KEY_SERIAL = "1"


@dataclass(frozen=True)
class Platform:
    platform_no: str
    name: str
    notify_url: str
    status: str
    custody_account_id: int

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class SystemAccount:
    platform_user_no: str
    user_role: str
    account_id: int
    balance_fen: int
    frozen_fen: int

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.frozen_fen


def system_account_code(platform_no: str, platform_user_no: str) -> str:
    """Ledger code of a system account, e.g. `P:6000000001:SYS_GENERATE_002`."""
    assert platform_user_no in SYSTEM_ACCOUNTS
    return f"P:{platform_no}:{platform_user_no}"


def custody_account_code(platform_no: str) -> str:
    return f"P:{platform_no}:CUSTODY_CASH"


# ---------------------------------------------------------------- validation


def check_platform_no(value: object) -> str:
    if not isinstance(value, str) or not PLATFORM_NO_RE.fullmatch(value):
        raise InvalidPlatformData("platformNo must be 1-13 letters, digits, '_' or '-'", field="platformNo")
    return value


def check_key_serial(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not KEY_SERIAL_RE.fullmatch(value):
        raise InvalidPlatformData("keySerial must be 1-32 letters, digits, '.', '_' or '-'", field="keySerial")
    return value


def _check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LEN:
        raise InvalidPlatformData(f"name must be 1-{MAX_NAME_LEN} characters", field="name")
    if any(ord(ch) < 32 for ch in value):
        raise InvalidPlatformData("name must not contain control characters", field="name")
    return value.strip()


def check_notify_url(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LEN:
        raise InvalidPlatformData(f"notifyUrl must be an http(s) URL of at most {MAX_URL_LEN} characters",
                                  field="notifyUrl")
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in value):
        raise InvalidPlatformData("notifyUrl must not contain spaces or control characters", field="notifyUrl")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidPlatformData("notifyUrl must be an absolute http or https URL", field="notifyUrl")
    return value


def normalize_public_key(text: str | bytes) -> str:
    """Any accepted form (PEM SPKI, PEM PKCS#1, bare Base64 DER) -> PEM SPKI text; RSA ≥ 2048 bits."""
    try:
        return signing.public_key_pem(signing.load_public_key(text))
    except signing.KeyFormatError as exc:
        raise InvalidPlatformData(f"public key: {exc}", field="publicKey") from None


# ---------------------------------------------------------------- platforms


def _to_platform(row) -> Platform:
    return Platform(row["platform_no"], row["name"], row["notify_url"], row["status"], int(row["custody_account_id"]))


def create_platform(conn: Connection, now: int, *, platform_no: str, name: str, notify_url: str,
                    public_key_pem: str | bytes, key_serial: str = "1") -> Platform:
    """Insert the platform, its first key, its custody cash account and its system accounts, in the
    caller's transaction (all or nothing)."""
    platform_no = check_platform_no(platform_no)
    key_serial = check_key_serial(key_serial)
    name = _check_name(name)
    notify_url = check_notify_url(notify_url)
    pem = normalize_public_key(public_key_pem)
    if find_platform(conn, platform_no) is not None:
        raise PlatformExists(f"platform {platform_no} already exists", field="platformNo")
    custody_id = ledger_store.open_account(conn, custody_account_code(platform_no), owner_type=OWNER_CUSTODY,
                                           owner_ref=platform_no, allow_overdraw=True)
    for user_no in SYSTEM_ACCOUNTS:
        ledger_store.open_account(conn, system_account_code(platform_no, user_no), owner_type=OWNER_SYSTEM,
                                  owner_ref=f"{platform_no}:{user_no}")
    try:
        conn.execute(custody_platforms.insert().values(
            platform_no=platform_no, name=name, notify_url=notify_url, status=ACTIVE,
            custody_account_id=custody_id, created_us=now, updated_us=now))
        conn.execute(custody_platform_keys.insert().values(
            platform_no=platform_no, key_serial=key_serial, public_key_pem=pem, status=ACTIVE, created_us=now))
    except IntegrityError:
        raise PlatformExists(f"platform {platform_no} already exists", field="platformNo") from None
    platform = find_platform(conn, platform_no)
    assert platform is not None
    return platform


def add_key(conn: Connection, now: int, *, platform_no: str, key_serial: str, public_key_pem: str | bytes) -> None:
    """Register one more key serial (rotation). Existing serials keep working."""
    key_serial = check_key_serial(key_serial)
    pem = normalize_public_key(public_key_pem)
    get_platform(conn, platform_no)
    if platform_key_pem(conn, platform_no, key_serial, include_revoked=True) is not None:
        raise KeyExists(f"keySerial {key_serial} already exists for platform {platform_no}", field="keySerial")
    try:
        conn.execute(custody_platform_keys.insert().values(
            platform_no=platform_no, key_serial=key_serial, public_key_pem=pem, status=ACTIVE, created_us=now))
    except IntegrityError:
        raise KeyExists(f"keySerial {key_serial} already exists for platform {platform_no}",
                        field="keySerial") from None


def revoke_key(conn: Connection, *, platform_no: str, key_serial: str) -> bool:
    result = conn.execute(update(custody_platform_keys).where(
        custody_platform_keys.c.platform_no == platform_no, custody_platform_keys.c.key_serial == key_serial,
    ).values(status="REVOKED"))
    return result.rowcount == 1


def set_status(conn: Connection, now: int, platform_no: str, status: str) -> None:
    assert status in (ACTIVE, DISABLED)
    result = conn.execute(update(custody_platforms).where(custody_platforms.c.platform_no == platform_no)
                          .values(status=status, updated_us=now))
    if result.rowcount != 1:
        raise PlatformNotFound(f"platformNo {platform_no} does not exist", field="platformNo")


def find_platform(conn: Connection, platform_no: str) -> Platform | None:
    if not isinstance(platform_no, str) or not PLATFORM_NO_RE.fullmatch(platform_no):
        return None
    row = conn.execute(select(custody_platforms).where(custody_platforms.c.platform_no == platform_no)) \
        .mappings().first()
    return _to_platform(row) if row is not None else None


def get_platform(conn: Connection, platform_no: str) -> Platform:
    platform = find_platform(conn, platform_no)
    if platform is None:
        raise PlatformNotFound(f"platformNo {str(platform_no)[:32]!r} is not registered", field="platformNo")
    return platform


def list_platforms(conn: Connection) -> list[Platform]:
    rows = conn.execute(select(custody_platforms).order_by(custody_platforms.c.platform_no)).mappings()
    return [_to_platform(r) for r in rows]


def list_keys(conn: Connection, platform_no: str) -> list[tuple[str, str]]:
    """(key_serial, status) of a platform's keys."""
    rows = conn.execute(select(custody_platform_keys.c.key_serial, custody_platform_keys.c.status)
                        .where(custody_platform_keys.c.platform_no == platform_no)
                        .order_by(custody_platform_keys.c.key_serial))
    return [(r[0], r[1]) for r in rows]


def platform_key_pem(conn: Connection, platform_no: str, key_serial: str, *,
                     include_revoked: bool = False) -> str | None:
    """The PEM public key registered for (platform_no, key_serial), or None."""
    if not isinstance(key_serial, str) or not KEY_SERIAL_RE.fullmatch(key_serial):
        return None
    row = conn.execute(select(custody_platform_keys.c.public_key_pem, custody_platform_keys.c.status).where(
        custody_platform_keys.c.platform_no == platform_no, custody_platform_keys.c.key_serial == key_serial,
    )).first()
    if row is None or (row[1] != ACTIVE and not include_revoked):
        return None
    return str(row[0])


def system_account(conn: Connection, platform_no: str, platform_user_no: str) -> SystemAccount | None:
    """A platform's system account with its balances, or None if the number is not a system account
    of that platform."""
    if platform_user_no not in SYSTEM_ACCOUNTS or find_platform(conn, platform_no) is None:
        return None
    row = ledger_store.find_account(conn, system_account_code(platform_no, platform_user_no))
    if row is None:
        return None
    return SystemAccount(platform_user_no, SYSTEM_ACCOUNTS[platform_user_no], int(row["id"]),
                         int(row["balance_fen"]), int(row["frozen_fen"]))


# ---------------------------------------------------------------- the bank key


@dataclass(frozen=True)
class BankKey:
    key_serial: str
    private_key: rsa.RSAPrivateKey
    public_key_pem: str

    def sign(self, data: bytes) -> str:
        return signing.sign(self.private_key, data)

    def __repr__(self) -> str:  # never print key material
        return f"BankKey(serial={self.key_serial!r})"


_bank_keys: weakref.WeakKeyDictionary[Engine, BankKey] = weakref.WeakKeyDictionary()
_file_keys: dict[str, BankKey] = {}
_bank_lock = threading.Lock()


def _load_stored(conn: Connection) -> BankKey | None:
    row = conn.execute(select(custody_bank_keys).where(custody_bank_keys.c.key_serial == BANK_KEY_SERIAL)) \
        .mappings().first()
    if row is None:
        return None
    return BankKey(row["key_serial"], signing.cached_private_key(row["private_key_pem"]), row["public_key_pem"])


def install_bank_key(conn: Connection, private_key_pem: str, now: int) -> bool:
    """Store a given bank key if none is stored yet (tests, migrations from another system).
    Returns True if it was stored, False if a key already existed."""
    key = signing.cached_private_key(private_key_pem)
    if _load_stored(conn) is not None:
        return False
    # A concurrent installer may still win the primary key: the caller sees IntegrityError and re-reads.
    conn.execute(custody_bank_keys.insert().values(
        key_serial=BANK_KEY_SERIAL, public_key_pem=signing.public_key_pem(key),
        private_key_pem=signing.private_key_pem(key), created_us=now))
    return True


def bank_key(engine: Engine, settings: Settings | None = None, *, clock: Clock | None = None) -> BankKey:
    """The bank's signing key: from `settings.bank_private_key_file` when set, else from the database,
    generating and storing a fresh RSA-2048 pair the first time (two racing processes agree: the loser
    of the insert reads the winner's key). Cached per engine."""
    path = settings.bank_private_key_file if settings is not None else None
    if path:
        with _bank_lock:
            cached = _file_keys.get(path)
            if cached is None:
                private = signing.load_private_key(Path(path).read_text(encoding="ascii"))
                cached = BankKey("file", private, signing.public_key_pem(private))
                _file_keys[path] = cached
            return cached
    with _bank_lock:
        cached = _bank_keys.get(engine)
        if cached is not None:
            return cached
        with engine.connect() as conn:
            stored = _load_stored(conn.execution_options(sqlite_deferred=True))
            conn.rollback()
        if stored is None:
            fresh = signing.private_key_pem(signing.generate_private_key())
            when = now_us(clock or Clock())
            try:
                run_in_transaction(engine, lambda conn: install_bank_key(conn, fresh, when))
            except IntegrityError:
                pass  # another process stored its key first; use that one
            with engine.connect() as conn:
                stored = _load_stored(conn)
                conn.rollback()
        assert stored is not None
        _bank_keys[engine] = stored
        return stored


def bank_signer(engine: Engine, settings: Settings | None = None) -> Callable[[bytes], str]:
    """`sign(data: bytes) -> str`: Base64 SHA1withRSA of `data` with the bank key, for notifications
    (sign `respData.encode("utf-8")`) and direct responses (sign the raw body bytes)."""
    key = bank_key(engine, settings)
    return key.sign


def bank_public_key_pem(engine: Engine, settings: Settings | None = None) -> str:
    return bank_key(engine, settings).public_key_pem


def beijing_timestamp(when: dt.datetime) -> str:
    """`yyyyMMddHHmmss` in Beijing time, the wire's T format."""
    from cunguan.clock import to_beijing

    return to_beijing(when).strftime("%Y%m%d%H%M%S")
