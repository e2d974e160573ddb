"""Custody fees on the operator console: /console/fees (every plan) and /console/fees/{platformNo}
(one platform's plan, own account, charges and movements). Read-only, for every console role:
configuring plans and running charges are CLI commands (`cunguan fees ...`) and the background check.

The pages live in the console's shell (its session cookie, route wrapper, security headers and base
template) through the console module's helpers, so they look and behave like the rest of the console.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from cunguan.console.errors import NotFound
from cunguan.console.views import beijing_time
from cunguan.custody import custody_fees
from cunguan.custody.errors import PlatformNotFound
from cunguan.money import format_yuan
from cunguan.web import console_pages
from cunguan.web.console_pages import ConsoleRoute

router = APIRouter(prefix=f"{console_pages.PREFIX}/fees", include_in_schema=False, route_class=ConsoleRoute)

STATUS_LABEL = {custody_fees.PAID: "已扣收", custody_fees.OWED: "欠费"}
KIND_LABEL = {"DEPOSIT": "转入", "FEE": "扣收托管费", "ARREARS": "补扣欠费"}
PERIOD_LABEL = {"MONTHLY": "按月", "QUARTERLY": "按季", "HALF_YEARLY": "按半年", "YEARLY": "按年"}


def price(plan: custody_fees.Plan) -> str:
    if plan.method == custody_fees.RATE:
        return f"年费率 {custody_fees.format_rate(plan.annual_rate_ppm)}（按日均存管余额）"
    return f"固定 {format_yuan(plan.flat_fee_fen)} 元/期"


def _helpers() -> dict:
    return dict(yuan=format_yuan, when=beijing_time, price=price, STATUS_LABEL=STATUS_LABEL,
                KIND_LABEL=KIND_LABEL, PERIOD_LABEL=PERIOD_LABEL, own_code=custody_fees.own_account_code)


@router.get("", response_class=HTMLResponse)
def fees_page(request: Request) -> Response:
    session = console_pages._session(request)  # noqa: SLF001 - the console's own session check
    with console_pages._engine(request).connect() as conn:  # noqa: SLF001
        rows = custody_fees.statements(conn)
    return console_pages._render(request, "fees.html", session, rows=rows, **_helpers())  # noqa: SLF001


@router.get("/{platform_no}", response_class=HTMLResponse)
def fee_platform_page(request: Request, platform_no: str) -> Response:
    session = console_pages._session(request)  # noqa: SLF001
    with console_pages._engine(request).connect() as conn:  # noqa: SLF001
        try:
            st = custody_fees.statement(conn, platform_no[:32])
        except PlatformNotFound:
            raise NotFound("平台不存在") from None
    return console_pages._render(request, "fee_platform.html", session, st=st, **_helpers())  # noqa: SLF001


def install(app: FastAPI) -> None:
    """Include the fee pages. Must run before `console_pages.install`: the console ends with a catch-all
    404 route under /console, and routes match in the order they were included."""
    app.include_router(router)
