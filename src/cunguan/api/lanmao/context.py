"""What a service handler gets besides the request: the calling platform (already authenticated),
the engine (the handler opens its own unit of work with `run_in_transaction`), the clock, settings,
and the bank signer for anything it must sign (e.g. a page's callback form)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from cunguan.clock import Clock
from cunguan.custody.platforms import Platform
from cunguan.settings import Settings


@dataclass(frozen=True)
class ServiceContext:
    platform: Platform
    engine: Engine
    clock: Clock
    settings: Settings
    service_name: str
    key_serial: str
    user_device: str | None
    correlation_id: str
    base_url: str
    """The server's own public base URL (scheme://host:port), for links in pages."""
    bank_sign: Callable[[bytes], str]

    @property
    def platform_no(self) -> str:
        return self.platform.platform_no
