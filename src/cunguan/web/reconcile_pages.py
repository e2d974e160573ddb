"""Daily reconciliation on the operator console: /console/reconcile.

- `/console/reconcile` — the latest runs of every platform;
- `/console/reconcile/{platformNo}/{YYYYMMDD}` — one date's report (latest run, or `?run=N`): the four
  checks, every difference, its adjustments with propose / approve / reject forms, a CSV download, and
  a chart of the last 30 reconciled days (an inline SVG drawn here on the server: bars = open
  differences, line = Σ virtual accounts; no script);
- `/console/reconcile/{platformNo}/{YYYYMMDD}/csv` — the CSV export of that run;
- POST `.../differences/{id}/propose`, `.../adjustments/{id}/approve|reject` — forms with the
  session's CSRF token, like every console form.
The pages live in the console's shell (its session cookie, route wrapper, security headers, base
template) through the console module's helpers. Roles are checked again by `reconcile.adjustments`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cunguan.console import views
from cunguan.console.actions import Conflict
from cunguan.console.errors import Forbidden, InvalidInput, NotFound
from cunguan.custody import platforms
from cunguan.money import format_yuan
from cunguan.reconcile import adjustments, report
from cunguan.web import console_pages
from cunguan.web.console_pages import ConsoleRoute

BASE = f"{console_pages.PREFIX}/reconcile"
router = APIRouter(prefix=BASE, include_in_schema=False, route_class=ConsoleRoute)

CHECK_LABEL = {"LEDGER": "账实核对", "SETTLEMENT": "支付公司结算", "PAYOUT": "出款通道", "ADVANCE": "垫资"}
KIND_LABEL = {"LEDGER_IMBALANCE": "存管账户与虚拟账户不平", "MISSING_OURS": "我方无记录", "MISSING_THEIRS": "对方无记录",
              "AMOUNT_MISMATCH": "金额不符", "ADVANCE_OVERDUE": "垫资逾期未还"}
STATUS_LABEL = {"OPEN": "待处理", "RESOLVED": "已调账", "PROPOSED": "待复核", "APPROVED": "已批准", "REJECTED": "已驳回",
                "CLEAN": "平", "DIFFERENCES": "有差异"}
DONE = {"proposed": "调账已提交，待另一名操作员复核。", "approved": "调账已批准并记账，差异已处理。",
        "rejected": "调账已驳回。"}
CHART_DAYS = 30
CHART_W, CHART_H, PAD = 640, 220, 32


def _day(text: str) -> dt.date:
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise NotFound("日期不正确（YYYYMMDD）") from None


def _id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound("记录不存在")
    return int(text)


def _go(path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(path + (("?" + urlencode(params)) if params else ""), status_code=303)


# ---------------------------------------------------------------- the chart (server-side SVG)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    line: str  # polyline points
    max_open: int
    max_virtual: str
    empty: bool


def chart(points: list[report.DayPoint]) -> Chart:
    """Bars: open differences per day; line: Σ virtual accounts at day end (scaled to its own maximum)."""
    if not points:
        return Chart(CHART_W, CHART_H, [], "", 0, "0.00", True)
    inner_w, inner_h = CHART_W - 2 * PAD, CHART_H - 2 * PAD
    slot = inner_w / len(points)
    max_open = max(1, max(p.open_count for p in points))
    max_v = max(1, max(abs(p.virtual_fen) for p in points))
    bars, line = [], []
    for i, p in enumerate(points):
        h = inner_h * p.open_count / max_open
        x = PAD + i * slot
        bars.append(Bar(round(x + slot * 0.15, 1), round(PAD + inner_h - h, 1), round(slot * 0.7, 1), round(h, 1),
                        p.day.strftime("%m-%d"), f"{p.day} 待处理差异 {p.open_count} · 虚拟账户合计 {format_yuan(p.virtual_fen)} 元"))
        vy = PAD + inner_h - inner_h * abs(p.virtual_fen) / max_v
        line.append(f"{round(x + slot / 2, 1)},{round(vy, 1)}")
    return Chart(CHART_W, CHART_H, bars, " ".join(line), max_open, format_yuan(max_v), False)


# ---------------------------------------------------------------- pages


def _helpers() -> dict:
    return dict(yuan=format_yuan, when=views.beijing_time, CHECK_LABEL=CHECK_LABEL, KIND_LABEL=KIND_LABEL,
                STATUS_LABEL=STATUS_LABEL, may_adjust=adjustments.may_adjust)


@router.get("", response_class=HTMLResponse)
def reconcile_index(request: Request) -> Response:
    session = console_pages._session(request)  # noqa: SLF001 - the console's own session check
    with console_pages._engine(request).connect() as conn:  # noqa: SLF001
        runs = report.recent_runs(conn)
    return console_pages._render(request, "reconcile.html", session, runs=runs, **_helpers())  # noqa: SLF001


def _day_page(request: Request, platform_no: str, date: str, status: int = 200, error: str | None = None
              ) -> HTMLResponse:
    session = console_pages._session(request)  # noqa: SLF001
    day = _day(date)
    run_param = request.query_params.get("run", "")
    run_no = int(run_param) if run_param.isdigit() and len(run_param) < 6 else None
    with console_pages._engine(request).connect() as conn:  # noqa: SLF001
        if platforms.find_platform(conn, platform_no[:32]) is None:
            raise NotFound("平台不存在")
        run = report.run_for(conn, platform_no, day, run_no)
        numbers = report.run_numbers(conn, platform_no, day)
        points = report.history(conn, platform_no, day, CHART_DAYS)
        adjs = adjustments.adjustments_for(conn, [d["id"] for d in run.differences]) if run else []
    by_diff: dict[int, list[adjustments.Adjustment]] = {}
    for a in adjs:
        by_diff.setdefault(a.difference_id, []).append(a)
    notice = DONE.get(request.query_params.get("done", ""))
    return console_pages._render(  # noqa: SLF001
        request, "reconcile_day.html", session, status, platform_no=platform_no, day=day, run=run, numbers=numbers,
        chart=chart(points), points=points, by_diff=by_diff, error=error, notice=notice,
        ymd=day.strftime("%Y%m%d"), **_helpers())


@router.get("/{platform_no}/{date}", response_class=HTMLResponse)
def reconcile_day_page(request: Request, platform_no: str, date: str) -> Response:
    return _day_page(request, platform_no, date)


@router.get("/{platform_no}/{date}/csv")
def reconcile_csv(request: Request, platform_no: str, date: str) -> Response:
    console_pages._session(request)  # noqa: SLF001
    day = _day(date)
    run_param = request.query_params.get("run", "")
    with console_pages._engine(request).connect() as conn:  # noqa: SLF001
        run = report.run_for(conn, platform_no[:32], day, int(run_param) if run_param.isdigit() and len(run_param) < 6
                             else None)
    if run is None:
        raise NotFound("该日尚未对账")
    return Response(report.to_csv(run).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{report.csv_name(run)}"'})


def _back(platform_no: str, date: str) -> str:
    return f"{BASE}/{platform_no}/{date}"


@router.post("/{platform_no}/{date}/differences/{difference_id}/propose")
async def propose(request: Request, platform_no: str, date: str, difference_id: str) -> Response:
    session, form = await console_pages._post(request)  # noqa: SLF001
    _day(date)
    try:
        adjustments.propose(
            console_pages._engine(request), console_pages._clock(request), session.operator,  # noqa: SLF001
            difference_id=_id(difference_id), debit_account=console_pages._text(form, "debit_account", 50),  # noqa: SLF001
            credit_account=console_pages._text(form, "credit_account", 50),  # noqa: SLF001
            amount=console_pages._text(form, "amount", 24),  # noqa: SLF001
            reason=console_pages._text(form, "reason", adjustments.MAX_REASON))  # noqa: SLF001
    except (InvalidInput, Conflict, Forbidden) as exc:
        return _day_page(request, platform_no, date, exc.http_status, exc.message)
    return _go(_back(platform_no, date), done="proposed")


@router.post("/{platform_no}/{date}/adjustments/{adjustment_id}/{decision}")
async def decide(request: Request, platform_no: str, date: str, adjustment_id: str, decision: str) -> Response:
    session, _form = await console_pages._post(request)  # noqa: SLF001
    _day(date)
    if decision not in ("approve", "reject"):
        raise NotFound("页面不存在")
    act = adjustments.approve if decision == "approve" else adjustments.reject
    try:
        act(console_pages._engine(request), console_pages._clock(request), session.operator,  # noqa: SLF001
            _id(adjustment_id))
    except (InvalidInput, Conflict, Forbidden) as exc:
        return _day_page(request, platform_no, date, exc.http_status, exc.message)
    return _go(_back(platform_no, date), done="approved" if decision == "approve" else "rejected")


def install(app: FastAPI) -> None:
    """Include the reconciliation pages. Must run before `console_pages.install` (its catch-all 404)."""
    app.include_router(router)
