"""Platforms on a real database: creation with its ledger accounts in one transaction, keys and
rotation, scoping, the bank key."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from cunguan.client import signing
from cunguan.custody import platforms
from cunguan.custody.errors import InvalidPlatformData, KeyExists, PlatformExists, PlatformNotFound
from cunguan.db import ledger_store
from cunguan.db.engine import create_engine
from cunguan.db.tables.custody_platforms import custody_bank_keys, custody_platforms
from cunguan.db.tables.ledger import accounts
from cunguan.db.tx import run_in_transaction
from cunguan.settings import Settings

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def key_a():
    return signing.generate_private_key()


@pytest.fixture(scope="module")
def key_b():
    return signing.generate_private_key()


def _create(engine, platform_no: str, key, **kw):
    args = dict(platform_no=platform_no, name="平台", notify_url="https://platform.example/notify",
                public_key_pem=signing.public_key_pem(key))
    args.update(kw)
    return run_in_transaction(engine, lambda c: platforms.create_platform(c, 1, **args))


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_create_opens_custody_and_system_accounts(engine, key_a) -> None:
    platform = _create(engine, "6000000001", key_a)
    assert platform.active and platform.notify_url == "https://platform.example/notify"
    with engine.connect() as conn:
        custody = ledger_store.find_account(conn, "P:6000000001:CUSTODY_CASH")
        assert custody is not None and custody["id"] == platform.custody_account_id and custody["allow_overdraw"]
        for user_no, role in platforms.SYSTEM_ACCOUNTS.items():
            row = ledger_store.find_account(conn, f"P:6000000001:{user_no}")
            assert row is not None and not row["allow_overdraw"] and row["owner_type"] == "PLATFORM_SYSTEM"
            info = platforms.system_account(conn, "6000000001", user_no)
            assert info is not None and info.user_role == role and info.balance_fen == 0
        assert platforms.platform_key_pem(conn, "6000000001", "1") == signing.public_key_pem(key_a)
    assert len(platforms.SYSTEM_ACCOUNTS) == 8
    assert sorted(platforms.SYSTEM_ACCOUNTS) == [f"SYS_GENERATE_00{i}" for i in range(8)]


def test_create_is_all_or_nothing(engine, key_a) -> None:
    _create(engine, "6000000001", key_a)
    before = _count(engine, accounts)
    with pytest.raises(PlatformExists):
        _create(engine, "6000000001", key_a)
    for bad in (dict(notify_url="ftp://x/y"), dict(notify_url="http://a b/"), dict(name=""),
                dict(public_key_pem="garbage"), dict(key_serial="a b"), dict(platform_no="60000000012345")):
        with pytest.raises(InvalidPlatformData):
            _create(engine, bad.pop("platform_no", "6000000002"), key_a, **bad)
    assert _count(engine, accounts) == before
    assert _count(engine, custody_platforms) == 1


def test_failure_after_accounts_rolls_them_back(engine, key_a, monkeypatch) -> None:
    """Accounts are opened before the platform row: a failing insert must take them back out."""
    def explode(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(platforms.custody_platform_keys, "insert", explode)
    with pytest.raises(RuntimeError):
        _create(engine, "6000000003", key_a)
    monkeypatch.undo()
    assert _count(engine, accounts) == 0 and _count(engine, custody_platforms) == 0


def test_key_rotation_and_revocation(engine, key_a, key_b) -> None:
    _create(engine, "6000000001", key_a)
    run_in_transaction(engine, lambda c: platforms.add_key(c, 2, platform_no="6000000001", key_serial="2",
                                                           public_key_pem=signing.public_key_pem(key_b)))
    with pytest.raises(KeyExists):
        run_in_transaction(engine, lambda c: platforms.add_key(c, 3, platform_no="6000000001", key_serial="2",
                                                               public_key_pem=signing.public_key_pem(key_a)))
    with pytest.raises(PlatformNotFound):
        run_in_transaction(engine, lambda c: platforms.add_key(c, 3, platform_no="6000000009", key_serial="1",
                                                               public_key_pem=signing.public_key_pem(key_a)))
    with engine.connect() as conn:
        assert platforms.list_keys(conn, "6000000001") == [("1", "ACTIVE"), ("2", "ACTIVE")]
        assert platforms.platform_key_pem(conn, "6000000001", "2") == signing.public_key_pem(key_b)
    run_in_transaction(engine, lambda c: platforms.revoke_key(c, platform_no="6000000001", key_serial="1"))
    with engine.connect() as conn:
        assert platforms.platform_key_pem(conn, "6000000001", "1") is None
        assert platforms.platform_key_pem(conn, "6000000001", "2") is not None


def test_lookups_are_scoped_by_platform(engine, key_a, key_b) -> None:
    _create(engine, "6000000001", key_a)
    _create(engine, "6000000002", key_b)
    with engine.connect() as conn:
        assert platforms.platform_key_pem(conn, "6000000002", "1") == signing.public_key_pem(key_b)
        assert platforms.system_account(conn, "6000000001", "SYS_GENERATE_001").account_id != \
            platforms.system_account(conn, "6000000002", "SYS_GENERATE_001").account_id  # type: ignore[union-attr]
        assert platforms.system_account(conn, "6000000003", "SYS_GENERATE_001") is None
        assert platforms.system_account(conn, "6000000001", "SYS_GENERATE_008") is None
        assert platforms.find_platform(conn, "' OR '1'='1") is None
        assert [p.platform_no for p in platforms.list_platforms(conn)] == ["6000000001", "6000000002"]


def test_bank_key_is_generated_once_and_signs(engine) -> None:
    assert _count(engine, custody_bank_keys) == 0
    signer = platforms.bank_signer(engine)
    pem = platforms.bank_public_key_pem(engine)
    assert _count(engine, custody_bank_keys) == 1
    assert signing.verify(signing.load_public_key(pem), b"respData", signer(b"respData"))
    assert "PRIVATE" not in repr(platforms.bank_key(engine))


def test_bank_key_is_shared_by_racing_processes(engine, db_url) -> None:
    """Two engines (as two processes would) race to create the key: both end up with the same one."""
    engines = [create_engine(db_url) for _ in range(3)]
    results: list[str] = []
    errors: list[BaseException] = []

    def work(e) -> None:
        try:
            results.append(platforms.bank_public_key_pem(e))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert errors == [] and len(set(results)) == 1
    assert platforms.bank_public_key_pem(engine) == results[0]


def test_bank_key_from_file(engine, tmp_path, key_a) -> None:
    path = tmp_path / "bank.pem"
    path.write_text(signing.private_key_pem(key_a))
    settings = Settings(bank_private_key_file=str(path))
    assert platforms.bank_public_key_pem(engine, settings) == signing.public_key_pem(key_a)
    assert _count(engine, custody_bank_keys) == 0


def test_install_bank_key_keeps_the_first(engine, key_a, key_b) -> None:
    assert run_in_transaction(engine, lambda c: platforms.install_bank_key(c, signing.private_key_pem(key_a), 1))
    assert not run_in_transaction(engine, lambda c: platforms.install_bank_key(c, signing.private_key_pem(key_b), 1))
    assert platforms.bank_public_key_pem(engine) == signing.public_key_pem(key_a)


def test_bank_signer_output_is_what_platform_clients_verify(engine, key_a) -> None:
    from cunguan.client import LanmaoClient

    resp_data = '{"requestNo":"R1","code":"0","status":"SUCCESS","rechargeStatus":"SUCCESS","amount":10.00}'
    sign = platforms.bank_signer(engine)(resp_data.encode("utf-8"))
    with LanmaoClient("http://unused", "6000000001", key_a, platforms.bank_public_key_pem(engine)) as client:
        assert client.verify_notification({"respData": resp_data, "sign": sign})["rechargeStatus"] == "SUCCESS"
