#!/usr/bin/env python3
"""Set-up and run in one step, needing only Python 3.11+ and git.

    python3 run.py serve [cunguan serve options]   install everything, start the server (SQLite default)
    python3 run.py test  [--db sqlite|postgresql] [pytest args]   install everything, run the test suite

Installs into ./.venv from the lock file (requirements.lock) only when the lock changed since the last
install, then hands over to the `cunguan` command or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".cunguan-lock-sha256"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _lock_digest() -> str:
    h = hashlib.sha256(LOCK.read_bytes())
    h.update((ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()


def ensure_installed() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Cunguan needs Python 3.11 or newer")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _lock_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing from requirements.lock ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__)
        return 2
    ensure_installed()
    cmd, rest = argv[0], argv[1:]
    if cmd == "serve":
        return subprocess.call([str(BIN / "cunguan"), "serve", *rest], cwd=ROOT)
    env = dict(os.environ)
    if rest[:1] == ["--db"] and len(rest) >= 2:
        env["CUNGUAN_TEST_DB"], rest = rest[1], rest[2:]
    env.setdefault("CUNGUAN_TEST_DB", "sqlite")
    return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
