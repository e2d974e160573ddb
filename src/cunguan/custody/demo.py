"""The demo platform `cunguan serve` creates on first start, so that a fresh install can be called
at once: a platform with a fresh RSA-2048 key pair whose files sit in `var/demo/`.

Files (the private key is written 0600 and its content is never printed):
  var/demo/platform_private.pem   the demo platform's signing key (PKCS#8) — give it to a client
  var/demo/platform_public.pem    its public key (what the bank registered)
  var/demo/bank_public.pem        the bank's public key, to verify responses and notifications
Re-running reuses existing key files; if the database already holds the demo platform nothing is
created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from cunguan.client import signing
from cunguan.clock import Clock
from cunguan.custody import platforms
from cunguan.db.tx import run_in_transaction
from cunguan.settings import Settings

DEMO_PLATFORM_NO = "6000000001"
DEMO_NAME = "演示平台 (demo)"
DEMO_DIR = Path("var") / "demo"


@dataclass(frozen=True)
class DemoPlatform:
    platform_no: str
    created: bool
    private_key_path: Path
    public_key_path: Path
    bank_public_key_path: Path
    lanmao_base_url: str

    def describe(self) -> str:
        state = "created" if self.created else "already present"
        return (f"Demo platform {self.platform_no} ({state}); key serial 1\n"
                f"  platform private key: {self.private_key_path}\n"
                f"  platform public key:  {self.public_key_path}\n"
                f"  bank public key:      {self.bank_public_key_path}\n"
                f"  Lanmao base URL:      {self.lanmao_base_url}  (+ /service, /gateway, /download)")


def _write_private(path: Path, pem: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(pem)


def _demo_key(directory: Path) -> str:
    """The demo platform's public key PEM, creating the key pair files when absent."""
    private_path = directory / "platform_private.pem"
    public_path = directory / "platform_public.pem"
    if private_path.exists():
        key = signing.load_private_key(private_path.read_text(encoding="ascii"))
    else:
        key = signing.generate_private_key()
        _write_private(private_path, signing.private_key_pem(key))
    public_pem = signing.public_key_pem(key)
    public_path.write_text(public_pem, encoding="ascii")
    return public_pem


def ensure_demo_platform(engine: Engine, *, base_url: str, directory: Path = DEMO_DIR,
                         settings: Settings | None = None, clock: Clock | None = None,
                         notify_url: str | None = None) -> DemoPlatform:
    settings = settings or Settings.from_env()
    directory.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        exists = platforms.find_platform(conn, DEMO_PLATFORM_NO) is not None
        conn.rollback()
    created = False
    if not exists:
        public_pem = _demo_key(directory)
        now = platforms.now_us(clock or Clock())
        run_in_transaction(engine, lambda conn: platforms.create_platform(
            conn, now, platform_no=DEMO_PLATFORM_NO, name=DEMO_NAME,
            notify_url=notify_url or f"{base_url.rstrip('/')}/demo-platform/notify",
            public_key_pem=public_pem, key_serial="1"))
        created = True
    bank_path = directory / "bank_public.pem"
    bank_path.write_text(platforms.bank_public_key_pem(engine, settings), encoding="ascii")
    return DemoPlatform(DEMO_PLATFORM_NO, created, directory / "platform_private.pem",
                        directory / "platform_public.pem", bank_path,
                        f"{base_url.rstrip('/')}{settings.lanmao_prefix}")
