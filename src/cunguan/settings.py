"""Runtime settings that are not the database URL: read once from the environment, passed explicitly.

Everything has a default that matches the protocol reference, so `cunguan serve` needs no setup.

| setting | env | default | why |
|---|---|---|---|
| `lanmao_base_path` | `CUNGUAN_LANMAO_BASE_PATH` | `/bha-neo-app/lanmaotech` | every observed base URL ends so (§1.1) |
| `timestamp_window_s` | `CUNGUAN_LANMAO_TIMESTAMP_WINDOW_S` | 600 | reqData `timestamp` accepted ±10 min of our clock (§1.4 [I]) |
| `max_body_bytes` | `CUNGUAN_LANMAO_MAX_BODY_BYTES` | 4 MiB | an ASYNC_TRANSACTION batch fits; anything bigger is refused (100002) |
| `bank_private_key_file` | `CUNGUAN_BANK_PRIVATE_KEY_FILE` | none | the bank key from a PEM file instead of the database |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_BASE_PATH = "/bha-neo-app/lanmaotech"
DEFAULT_TIMESTAMP_WINDOW_S = 600
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    lanmao_base_path: str = DEFAULT_BASE_PATH
    timestamp_window_s: int = DEFAULT_TIMESTAMP_WINDOW_S
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    bank_private_key_file: str | None = None

    def __post_init__(self) -> None:
        path = self.lanmao_base_path
        if not path.startswith("/") or path.endswith("/") and path != "/":
            raise ValueError(f"lanmao_base_path must start with '/' and not end with '/' (got {path!r})")
        if not 0 < self.timestamp_window_s <= 24 * 3600:
            raise ValueError("timestamp_window_s must be within 1 s .. 1 day")
        if not 1024 <= self.max_body_bytes <= 64 * 1024 * 1024:
            raise ValueError("max_body_bytes must be within 1 KiB .. 64 MiB")

    @property
    def lanmao_prefix(self) -> str:
        """The router prefix: '' when mounted at the root."""
        return "" if self.lanmao_base_path == "/" else self.lanmao_base_path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            lanmao_base_path=env.get("CUNGUAN_LANMAO_BASE_PATH") or DEFAULT_BASE_PATH,
            timestamp_window_s=int(env.get("CUNGUAN_LANMAO_TIMESTAMP_WINDOW_S") or DEFAULT_TIMESTAMP_WINDOW_S),
            max_body_bytes=int(env.get("CUNGUAN_LANMAO_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            bank_private_key_file=env.get("CUNGUAN_BANK_PRIVATE_KEY_FILE") or None,
        )


def int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer environment setting within [low, high]; a clear error otherwise (read at start-up)."""
    raw = (env.get(name) or "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be an integer (got {raw!r})") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high} (got {value})")
    return value
