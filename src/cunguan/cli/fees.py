"""`cunguan fees ...`: the bank's custody fee (scenario 15).

- configure: a platform's fee plan: `--rate-bp 5` or `--rate 0.0005` (a year, on the average daily
  custody balance) or `--flat 1000.00` (yuan per period), `--period MONTHLY|QUARTERLY|HALF_YEARLY|YEARLY`,
  optional `--start YYYY-MM-DD`. Opens the platform own account.
- deposit: the platform pays into its own account (demo and tests; from BANK:CLEARING), with a
  reference that makes a repeat harmless.
- charge: what the background check does once: collect arrears, charge every period that ended
  before today (or `--date`, which may only be today or earlier: a period is never charged before it
  has really ended). Safe to repeat and to run next to the server's check.
- list: plans, or one platform's charges and own-account movements.
Formula and accounts: see cunguan/custody/custody_fees.py.
"""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.custody.errors import CustodyError

app = typer.Typer(help="The bank's custody fee, deducted from platform own accounts (托管费).",
                  no_args_is_help=True)
console = Console(width=160)


def _engine(db: str | None):
    from cunguan.db.engine import create_engine
    from cunguan.db.migrate import upgrade

    engine = create_engine(db)
    upgrade(engine)
    return engine


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        console.print(f"[red]{name} must be YYYY-MM-DD[/]")
        raise typer.Exit(2) from None


def _refused(exc: CustodyError) -> typer.Exit:
    console.print(f"[red]refused[/] {exc.code} {exc.message}")
    return typer.Exit(1)


@app.command("configure")
def configure_cmd(
    platform_no: str = typer.Option(..., "--platform-no", help="Platform number."),
    period: str = typer.Option("MONTHLY", "--period", help="MONTHLY, QUARTERLY, HALF_YEARLY or YEARLY."),
    rate_bp: str = typer.Option(None, "--rate-bp", help="Annual rate in basis points, e.g. 5 or 2.5."),
    rate: str = typer.Option(None, "--rate", help="Annual rate as a fraction (0.0005) or percent (0.05%)."),
    flat: str = typer.Option(None, "--flat", help="Flat fee per period in yuan, e.g. 1000.00."),
    start: str = typer.Option(None, "--start", help="First day covered, YYYY-MM-DD (new plan: today)."),
    db: str = DbOption,
) -> None:
    """Create or change a platform's custody fee plan."""
    from cunguan.clock import Clock
    from cunguan.custody import custody_fees as cf
    from cunguan.db.tx import run_in_transaction
    from cunguan.money import AmountError, parse_yuan

    if sum(x is not None for x in (rate_bp, rate, flat)) != 1:
        console.print("[red]give exactly one of --rate-bp, --rate or --flat[/]")
        raise typer.Exit(2)
    try:
        ppm = cf.parse_rate_bp(rate_bp) if rate_bp is not None else cf.parse_rate(rate) if rate is not None else None
        flat_fen = parse_yuan(flat, field="flat", allow_zero=True) if flat is not None else None
    except (CustodyError, AmountError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    start_date = _date(start, "--start")
    engine = _engine(db)
    try:
        plan = run_in_transaction(engine, lambda conn: cf.configure(
            conn, Clock(), platform_no=platform_no, period=period.upper(), annual_rate_ppm=ppm,
            flat_fee_fen=flat_fen, start_date=start_date))
    except CustodyError as exc:
        raise _refused(exc) from None
    console.print(f"[green]fee plan[/] {plan.platform_no}: {plan.describe()}; own account "
                  f"{cf.own_account_code(plan.platform_no)}")


@app.command("deposit")
def deposit_cmd(
    platform_no: str = typer.Option(..., "--platform-no", help="Platform number."),
    amount: str = typer.Option(..., "--amount", help="Yuan, e.g. 5000.00."),
    ref: str = typer.Option(..., "--ref", help="The payment's reference (a repeat is not credited twice)."),
    db: str = DbOption,
) -> None:
    """The platform pays into its own account (from the bank's clearing account)."""
    from cunguan.clock import Clock
    from cunguan.custody import custody_fees as cf
    from cunguan.db.tx import run_in_transaction
    from cunguan.money import AmountError, format_yuan, parse_yuan

    try:
        fen = parse_yuan(amount, field="amount")
    except AmountError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    engine = _engine(db)
    try:
        result = run_in_transaction(engine, lambda conn: cf.deposit(conn, Clock(), platform_no=platform_no,
                                                                     amount_fen=fen, ref=ref))
    except CustodyError as exc:
        raise _refused(exc) from None
    with engine.connect() as conn:
        balance, _frozen = cf.own_balance(conn, platform_no)
    console.print(f"{'already deposited' if result.replayed else '[green]deposited[/]'} {format_yuan(fen)} "
                  f"({ref}); own account balance {format_yuan(balance)}")


@app.command("charge")
def charge_cmd(
    date: str = typer.Option(None, "--date", help="Charge periods that ended before this Beijing date "
                                                 "(YYYY-MM-DD, at most today; default today)."),
    platform_no: str = typer.Option(None, "--platform-no", help="Only this platform."),
    db: str = DbOption,
) -> None:
    """Collect arrears and charge every due period (idempotent per platform and period)."""
    from cunguan.clock import Clock
    from cunguan.custody import custody_fees as cf
    from cunguan.money import format_yuan

    clock = Clock()
    day = _date(date, "--date")
    if day is not None and day > clock.beijing_date():
        console.print("[red]--date may not be in the future: a period is charged only once it has ended[/]")
        raise typer.Exit(2)
    report = cf.run_due(_engine(db), clock, day, platform_no=platform_no)
    for number, start, amount in report.collected:
        console.print(f"{number} arrears for period from {start}: collected {format_yuan(amount)}")
    for c in report.charged:
        console.print(f"{c.platform_no} {c.period_start}..{c.period_end}: fee {format_yuan(c.fee_fen)}, paid "
                      f"{format_yuan(c.paid_fen)} {c.status}")
    for number, error in report.failed:
        console.print(f"[red]{number} failed ({error}); see the log[/]")
    console.print(f"{report.day}: {len(report.charged)} charge(s), {len(report.collected)} arrears collection(s)")
    if report.failed:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    platform_no: str = typer.Option(None, "--platform-no", help="Show this platform's charges and movements."),
    db: str = DbOption,
) -> None:
    """Fee plans; with --platform-no, that platform's charges and own-account movements."""
    from cunguan.custody import custody_fees as cf
    from cunguan.money import format_yuan

    engine = _engine(db)
    with engine.connect() as conn:
        if platform_no is None:
            table = Table("platform", "method", "price", "period", "from", "own balance", "owed", title="fee plans")
            for p in cf.list_plans(conn):
                price = cf.format_rate(p.annual_rate_ppm) if p.method == cf.RATE else format_yuan(p.flat_fee_fen)
                table.add_row(p.platform_no, p.method, price, p.period, str(p.start_date),
                              format_yuan(cf.own_balance(conn, p.platform_no)[0]),
                              format_yuan(cf.owed_total(conn, p.platform_no)))
            console.print(table)
            return
        plan = cf.find_plan(conn, platform_no)
        console.print(f"{platform_no}: {plan.describe() if plan else 'no fee plan'}; own account balance "
                      f"{format_yuan(cf.own_balance(conn, platform_no)[0])}, owed "
                      f"{format_yuan(cf.owed_total(conn, platform_no))}")
        charges = Table("period", "days", "avg daily balance", "fee", "paid", "owed", "status", title="charges")
        for c in cf.charges(conn, platform_no):
            charges.add_row(f"{c.period_start}..{c.period_end}", str(c.days), f"{c.average_daily_balance:.2f}",
                            format_yuan(c.fee_fen), format_yuan(c.paid_fen), format_yuan(c.owed_fen), c.status)
        console.print(charges)
        moves = Table("kind", "ref", "amount", "posting", title="own account movements")
        for m in cf.movements(conn, platform_no):
            sign = "+" if m.kind == "DEPOSIT" else "-"
            moves.add_row(m.kind, m.ref, sign + format_yuan(m.amount_fen), str(m.posting_seq))
        console.print(moves)
