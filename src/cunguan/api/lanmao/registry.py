"""Which serviceName goes to which handler, and through which endpoint (§2).

`KNOWN_SERVICES` is the protocol's catalogue with each service's mode. A known service without a
handler answers 100006 "not yet available"; a name outside the catalogue answers 100006 "unknown".

Handlers are plain callables `handler(ctx: ServiceContext, req: dict) -> result`:
- service mode: returns a dict of response fields (amounts as `Decimal`, e.g. `money.fen_to_decimal`);
  the envelope adds `code "0"`, `status "SUCCESS"` and the `requestNo` echo unless the dict sets
  them. A refusal is raised as a typed error (see api/lanmao/errors.py).
- gateway mode: returns the HTML page (`str`) or a Starlette `Response` (pages are an adapter too).
- download mode: returns the ZIP bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["service", "gateway", "download"]
Handler = Callable[[Any, dict[str, Any]], Any]

_GATEWAY = """
PERSONAL_REGISTER_EXPAND ENTERPRISE_REGISTER PERSONAL_BIND_BANKCARD_EXPAND ENTERPRISE_BIND_BANKCARD
UNBIND_BANKCARD RESET_PASSWORD CHECK_PASSWORD MODIFY_MOBILE_EXPAND ENTERPRISE_INFORMATION_UPDATE
ACTIVATE_STOCKED_USER RECHARGE WITHDRAW USER_PRE_TRANSACTION VERIFY_DEDUCT USER_AUTHORIZATION
""".split()

_SERVICE = """
AUDIT_BIND_CARD CHANGE_USER_BANKCARD UNFREEZE_TRADE_PASSWORD DIRECT_RECHARGE AUTO_WITHDRAW
CONFIRM_WITHDRAW CANCEL_WITHDRAW INTERCEPT_WITHDRAW ESTABLISH_PROJECT MODIFY_PROJECT
USER_AUTO_PRE_TRANSACTION FREEZE_PRE_TRANSACTION CANCEL_PRE_TRANSACTION SYNC_TRANSACTION DEBENTURE_SALE
CANCEL_DEBENTURE_SALE FREEZE UNFREEZE ASYNC_TRANSACTION ESTABLISH_INTELLIGENT_PROJECT
PURCHASE_INTELLIGENT_PROJECT INTELLIGENT_PROJECT_UNFREEZE INTELLIGENT_PROJECT_DEBENTURE_SALE
CANCEL_USER_AUTHORIZATION AUTHORIZATION_ENTRUST_PAY QUERY_USER_INFORMATION QUERY_TRANSACTION
QUERY_PROJECT_INFORMATION QUERY_AUTHORIZATION_ENTRUST_PAY_RECORD QUERY_INTELLIGENT_PROJECT_ORDER
CONFIRM_CHECKFILE
""".split()

KNOWN_SERVICES: dict[str, Mode] = {
    **{name: "gateway" for name in _GATEWAY},
    **{name: "service" for name in _SERVICE},
    "DOWNLOAD_CHECKFILE": "download",
}

QUERY_SERVICES = frozenset(name for name in _SERVICE if name.startswith("QUERY_"))
"""Services without a requestNo of their own (plus DOWNLOAD_CHECKFILE)."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    mode: Mode
    handler: Handler


class Registry:
    """serviceName -> ServiceSpec. One per app (`app.state.lanmao_registry`), so tests can add to it."""

    def __init__(self) -> None:
        self._specs: dict[str, ServiceSpec] = {}

    def register(self, name: str, handler: Handler, *, mode: Mode | None = None, replace: bool = False) -> None:
        known = KNOWN_SERVICES.get(name)
        if mode is None:
            if known is None:
                raise ValueError(f"{name} is not in the protocol catalogue; give its mode explicitly")
            mode = known
        if known is not None and mode != known:
            raise ValueError(f"{name} is a {known} service, not {mode}")
        if name in self._specs and not replace:
            raise ValueError(f"{name} is already registered")
        self._specs[name] = ServiceSpec(name, mode, handler)

    def get(self, name: str) -> ServiceSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs


def mode_of(name: str, registry: Registry) -> Mode | None:
    spec = registry.get(name)
    return spec.mode if spec is not None else KNOWN_SERVICES.get(name)
