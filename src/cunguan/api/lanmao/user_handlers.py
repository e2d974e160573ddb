"""The 15 custody user services on the Lanmao wire (protocol §2.1, §2.6, §2.7), and what they need
at start-up.

- Direct services answer the JSON envelope through `user_catalog.run` (one transaction each).
  QUERY_USER_INFORMATION answers the platform's `SYS_GENERATE_*` accounts through the built-in
  `builtin.query_system_account`, real users through the catalogue.
- Gateway services store a one-time page session (custody/user_services.open_page) and send the
  browser on to the bank's page with a 303 (web/gateway_pages.py renders and completes it).
- `install_runtime(app)` configures the card verifier and runs the notification delivery worker for
  the app's lifetime. Both are settings from the environment (the shared Settings has no room for
  them yet):

| env | default | meaning |
|---|---|---|
| `CUNGUAN_CARD_VERIFIER` | `simulator` | `simulator`: SimulatedCardBank(auto_enrol=True) (demo); `simulator-strict`: knows no card until told; `none`: leave it unset (services then fail with 100001). Only applied when nothing is configured yet, so a test's own `card_verifier.configure(...)` wins. |
| `CUNGUAN_NOTIFY_WORKER` | `on` | `off` runs no delivery threads in this process (tests, or a separate `cunguan notify` worker) |
| `CUNGUAN_NOTIFY_THREADS` | `2` | delivery threads (1..16) |
| `CUNGUAN_NOTIFY_POLL_S` | `1.0` | how long an idle delivery thread waits before looking for new rows (0.01..60) |

`app.state.notify_worker = False` (set before start-up) also disables the worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.responses import RedirectResponse

from cunguan.api import background
from cunguan.api.lanmao import builtin
from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import card_verifier, platforms, user_catalog, user_services
from cunguan.custody.roles import SYSTEM_USER_PREFIX

log = logging.getLogger("cunguan.lanmao.users")

PAGE_PATH = "/gateway/page"
"""The bank's page lives at {base}/gateway/page/{token} (web/gateway_pages.py)."""
PAGE_COOKIE = "cg_page"
"""Carries the page's CSRF secret, HttpOnly and scoped to the page's path."""


def direct(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return user_catalog.run(ctx.service_name, ctx.engine, ctx.clock, ctx.platform_no, req)


def query_user_information(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    user_no = req.get("platformUserNo")
    if isinstance(user_no, str) and user_no.startswith(SYSTEM_USER_PREFIX):
        return builtin.query_system_account(ctx, req)
    return direct(ctx, req)


def open_gateway_page(ctx: ServiceContext, req: dict[str, Any]) -> RedirectResponse:
    """The verified gateway request becomes a page session; the browser follows the 303 to it."""
    opened = user_services.open_page(ctx.engine, ctx.clock, platform_no=ctx.platform_no,
                                     service_name=ctx.service_name, key_serial=ctx.key_serial,
                                     user_device=ctx.user_device, req=req)
    location = f"{ctx.settings.lanmao_prefix}{PAGE_PATH}/{opened.token}"
    response = RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})
    max_age = max(1, (opened.expires_us - user_services.now_us(ctx.clock)) // 1_000_000)
    response.set_cookie(PAGE_COOKIE, opened.csrf, max_age=max_age, path=location, httponly=True, samesite="lax",
                        secure=ctx.base_url.startswith("https://"))
    return response


def register(registry: Registry) -> None:
    for name, service in user_catalog.CATALOG.items():
        if name == "QUERY_USER_INFORMATION":
            registry.register(name, query_user_information)
        elif service.mode == "service":
            registry.register(name, direct)
        else:
            assert name in user_services.PAGE_RULES, name
            registry.register(name, open_gateway_page)


# ---------------------------------------------------------------- start-up


def verifier_from_env(env: Mapping[str, str]) -> card_verifier.CardVerifier | None:
    kind = (env.get("CUNGUAN_CARD_VERIFIER") or "simulator").strip().lower()
    if kind == "simulator":
        return card_verifier.SimulatedCardBank(auto_enrol=True)
    if kind == "simulator-strict":
        return card_verifier.SimulatedCardBank()
    if kind == "none":
        return None
    raise ValueError(f"CUNGUAN_CARD_VERIFIER must be simulator, simulator-strict or none (got {kind!r})")


def install_runtime(app: FastAPI, env: Mapping[str, str] | None = None) -> None:
    """Configure the card verifier now; run the delivery worker between start-up and shutdown."""
    env = os.environ if env is None else env
    if card_verifier.configured() is None:
        card_verifier.configure(verifier_from_env(env))
    threads = int(env.get("CUNGUAN_NOTIFY_THREADS") or 2)
    poll_s = min(60.0, max(0.01, float(env.get("CUNGUAN_NOTIFY_POLL_S") or 1.0)))

    def start(a: FastAPI) -> background.Stop:
        from cunguan.notify.worker import start_background

        engine, settings = a.state.engine, getattr(a.state, "settings", None)

        def sign(data: bytes) -> str:
            return platforms.bank_signer(engine, settings)(data)

        return start_background(engine, sign, background.AppClock(a), threads=threads, poll_interval_s=poll_s)

    background.run_during_lifespan(app, env, "notify", start)
