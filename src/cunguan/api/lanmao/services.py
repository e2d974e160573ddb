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
)


def build_registry(registrars: tuple[str, ...] = ROOM_REGISTRARS) -> Registry:
    registry = Registry()
    for target in registrars:
        module_name, _, func_name = target.partition(":")
        getattr(importlib.import_module(module_name), func_name or "register")(registry)
    builtin.register(registry)
    return registry
