"""The table of contents of Lanmao services: each room adds one `module:function` line to
`ROOM_REGISTRARS`; the function receives the Registry and registers its handlers.

Rooms are registered first, then the built-ins fill only the names still free, so a room's full
implementation (e.g. QUERY_USER_INFORMATION for real users) replaces the built-in one without edits
here beyond its line. A listed module that fails to import fails loudly: a service that silently
disappears would answer 100006 in production.
"""

from __future__ import annotations

import importlib

from cunguan.api.lanmao import builtin
from cunguan.api.lanmao.registry import Registry

ROOM_REGISTRARS: tuple[str, ...] = (
    "cunguan.api.lanmao.user_handlers:register",  # the 15 custody user services (custody/user_catalog)
    "cunguan.api.lanmao.trade_handlers:register",  # projects, freezes, sales, SYNC_TRANSACTION (trade core)
    "cunguan.api.lanmao.plan_handlers:register",  # wealth-management plans (custody/plans), INTELLIGENT_APPEND
    "cunguan.api.lanmao.money_handlers:register",  # DIRECT_RECHARGE, AUTO/CONFIRM/CANCEL/INTERCEPT_WITHDRAW
    "cunguan.api.lanmao.migration_handlers:register",  # CHANGE_USER_BANKCARD (migrated users)
    "cunguan.api.lanmao.async_handlers:register",  # ASYNC_TRANSACTION batches (custody/async_batches)
    "cunguan.api.lanmao.query_handlers:register",  # QUERY_TRANSACTION across the rooms' records
    "cunguan.api.lanmao.checkfile_handlers:register",  # DOWNLOAD_CHECKFILE, CONFIRM_CHECKFILE (check files)
)


def build_registry(registrars: tuple[str, ...] = ROOM_REGISTRARS) -> Registry:
    registry = Registry()
    for target in registrars:
        module_name, _, func_name = target.partition(":")
        getattr(importlib.import_module(module_name), func_name or "register")(registry)
    builtin.register(registry)
    return registry
