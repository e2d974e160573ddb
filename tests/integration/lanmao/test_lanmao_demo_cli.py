"""The demo platform `cunguan serve` creates, the `cunguan platform` / `bank-key` commands, and the
interface under a non-default base path."""

from __future__ import annotations

import stat

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cunguan.api.lanmao import install
from cunguan.cli import app as cli_app
from cunguan.client import LanmaoClient, signing
from cunguan.custody import demo, platforms
from cunguan.db.tx import run_in_transaction
from cunguan.settings import Settings

pytestmark = pytest.mark.db


def test_demo_platform_is_created_once(engine, tmp_path) -> None:
    first = demo.ensure_demo_platform(engine, base_url="http://127.0.0.1:8000", directory=tmp_path)
    assert first.created and first.platform_no == demo.DEMO_PLATFORM_NO
    assert stat.S_IMODE(first.private_key_path.stat().st_mode) == 0o600
    assert first.lanmao_base_url == "http://127.0.0.1:8000/bha-neo-app/lanmaotech"
    private_text = first.private_key_path.read_text()
    assert private_text not in first.describe() and "PRIVATE" not in first.describe()
    second = demo.ensure_demo_platform(engine, base_url="http://127.0.0.1:8000", directory=tmp_path)
    assert not second.created and second.private_key_path.read_text() == private_text
    key = signing.load_private_key(private_text)
    with engine.connect() as conn:
        assert platforms.platform_key_pem(conn, demo.DEMO_PLATFORM_NO, "1") == signing.public_key_pem(key)
    assert first.bank_public_key_path.read_text() == platforms.bank_public_key_pem(engine)


def test_demo_key_files_are_reused_for_a_new_database(engine, tmp_path) -> None:
    key = signing.generate_private_key()
    (tmp_path / "platform_private.pem").write_text(signing.private_key_pem(key))
    info = demo.ensure_demo_platform(engine, base_url="http://h:1", directory=tmp_path)
    assert info.created
    with engine.connect() as conn:
        assert platforms.platform_key_pem(conn, demo.DEMO_PLATFORM_NO, "1") == signing.public_key_pem(key)


def test_platform_cli(db_url, engine, tmp_path) -> None:
    runner = CliRunner()
    k1, k2 = signing.generate_private_key(), signing.generate_private_key()
    (tmp_path / "k1.pem").write_text(signing.public_key_pem(k1))
    (tmp_path / "k2.pem").write_text(signing.public_key_pem(k2))
    create = ["platform", "create", "--platform-no", "6000000777", "--name", "测试平台", "--public-key",
              str(tmp_path / "k1.pem"), "--notify-url", "http://127.0.0.1:9/n", "--db", db_url]
    result = runner.invoke(cli_app, create)
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli_app, create).exit_code == 1
    result = runner.invoke(cli_app, ["platform", "add-key", "--platform-no", "6000000777", "--key-serial", "2",
                                     "--public-key", str(tmp_path / "k2.pem"), "--db", db_url])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(cli_app, ["platform", "add-key", "--platform-no", "6000000777", "--key-serial", "3",
                                  "--public-key", str(tmp_path / "missing.pem"), "--db", db_url])
    assert bad.exit_code != 0
    listing = runner.invoke(cli_app, ["platform", "list", "--db", db_url])
    assert listing.exit_code == 0 and "6000000777" in listing.output and "1, 2" in listing.output
    pub = runner.invoke(cli_app, ["bank-key", "public", "--db", db_url])
    assert pub.exit_code == 0 and pub.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in pub.output
    assert pub.stdout == platforms.bank_public_key_pem(engine)
    with engine.connect() as conn:
        assert platforms.list_keys(conn, "6000000777") == [("1", "ACTIVE"), ("2", "ACTIVE")]
    revoke = ["platform", "revoke-key", "--platform-no", "6000000777", "--key-serial", "1", "--db", db_url]
    assert runner.invoke(cli_app, revoke).exit_code == 0
    assert runner.invoke(cli_app, [*revoke[:-4], "--key-serial", "9", "--db", db_url]).exit_code == 1
    status = ["platform", "set-status", "--platform-no", "6000000777", "--db", db_url, "--status"]
    assert runner.invoke(cli_app, [*status, "disabled"]).exit_code == 0
    assert runner.invoke(cli_app, [*status, "CLOSED"]).exit_code != 0
    assert runner.invoke(cli_app, ["platform", "set-status", "--platform-no", "6000000999", "--status", "ACTIVE",
                                   "--db", db_url]).exit_code == 1
    with engine.connect() as conn:
        assert platforms.list_keys(conn, "6000000777") == [("1", "REVOKED"), ("2", "ACTIVE")]
        assert platforms.find_platform(conn, "6000000777").status == "DISABLED"  # type: ignore[union-attr]


def test_custom_base_path(engine) -> None:
    app = FastAPI()
    app.state.engine = engine
    install(app, settings=Settings(lanmao_base_path="/custody/v2"))
    key = signing.generate_private_key()
    run_in_transaction(engine, lambda c: platforms.create_platform(
        c, 1, platform_no="6000000001", name="P", notify_url="http://127.0.0.1:9/n",
        public_key_pem=signing.public_key_pem(key)))
    with TestClient(app) as http:
        client = LanmaoClient("http://testserver/custody/v2", "6000000001", key,
                              platforms.bank_public_key_pem(engine), http=http)
        assert client.call("QUERY_USER_INFORMATION", {"platformUserNo": "SYS_GENERATE_000"}).outcome == "S"
        assert http.post("/bha-neo-app/lanmaotech/service", data={}).status_code == 404


def test_settings_from_env() -> None:
    s = Settings.from_env({"CUNGUAN_LANMAO_BASE_PATH": "/x", "CUNGUAN_LANMAO_TIMESTAMP_WINDOW_S": "60"})
    assert s.lanmao_prefix == "/x" and s.timestamp_window_s == 60
    assert Settings.from_env({}).lanmao_base_path == "/bha-neo-app/lanmaotech"
    for bad in (dict(lanmao_base_path="x"), dict(lanmao_base_path="/x/"), dict(timestamp_window_s=0)):
        with pytest.raises(ValueError):
            Settings(**bad)
