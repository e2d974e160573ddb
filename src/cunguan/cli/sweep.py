"""`cunguan sweep ...`: operators' commands for cross-bank fund collection.

- run-due: what the scheduler does once (call it from cron / a systemd timer, e.g. every 10 minutes;
  repeated calls are harmless: one scheduled run per rule and date).
- show CUSTOMER: a customer's other-bank accounts, rules and recent runs (masked account numbers).
- demo-seed: a demo customer with accounts here and at two simulated banks, one signed agreement.
- deliver-sms: deliver pending SMS to a local file sink (the demo's 'phone').
- scheduler: run-due + deliver-sms every --interval seconds until stopped (a long-running alternative
  to cron; safe to run next to cron or a second scheduler).
"""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from cunguan.cli.options import DbOption
from cunguan.db.engine import create_engine

app = typer.Typer(help="Cross-bank fund collection (跨行资金归集).", no_args_is_help=True)
console = Console(width=160)


def _ctx(db: str | None):
    from cunguan.sweep.runtime import default_context

    return default_context(create_engine(db))


@app.command("run-due")
def run_due_cmd(
    db: str = DbOption,
    date: str = typer.Option(None, "--date", help="Beijing business date YYYY-MM-DD (default: today)."),
) -> None:
    """Run every rule due on DATE (and catch up a missed day once); resume interrupted runs; expiry."""
    from cunguan.money import format_yuan
    from cunguan.sweep.scheduler import run_due

    day = None
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            console.print("[red]--date must be YYYY-MM-DD[/]")
            raise typer.Exit(2) from None
    report = run_due(_ctx(db), day)
    for o in report.resumed + report.runs:
        console.print(f"rule {o.rule_id} run {o.run_id}: {o.status} moved {format_yuan(o.moved_fen)}"
                      + (f" ({o.reject_code})" if o.reject_code else ""))
    console.print(f"{report.day}: {len(report.runs)} run(s), {len(report.resumed)} resumed, "
                  f"{report.reminders} reminder(s), {report.invalidated} rule(s) invalidated, "
                  f"{len(report.busy)} busy")


@app.command("show")
def show_cmd(customer: str = typer.Argument(..., help="Customer number or login name."), db: str = DbOption) -> None:
    """A customer's other-bank accounts, rules (with next run date) and the last runs."""
    from cunguan.retail import store as retail
    from cunguan.retail.errors import UnknownCustomer
    from cunguan.sweep.agreements import other_accounts_of
    from cunguan.sweep.queries import recent_runs, rule_list

    ctx = _ctx(db)
    with ctx.engine.connect() as conn:
        try:
            cust = retail.find_customer(conn, customer)
        except UnknownCustomer as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        console.print(f"[bold]{cust.customer_no}[/] {cust.name} mobile ****{cust.mobile[-4:]}")
        accts = Table("id", "bank", "account", "payment agreement", "end", "names payee", "status",
                      title="other-bank accounts")
        for a in other_accounts_of(conn, cust.id, active_only=False):
            accts.add_row(str(a.id), a.bank_name, a.masked, a.payment_agreement_no or "-", str(a.end_date),
                          "yes" if a.names_payee else "NO", a.status)
        console.print(accts)
        rules = Table("id", "status", "mode", "amount", "cycle", "from", "to", "next run", title="rules")
        listed = rule_list(conn, ctx, cust.id)
        for r in listed:
            rules.add_row(str(r["id"]), r["status"], r["mode"], r["amount"] or "-", r["cycle"], r["other_account"],
                          r["collecting_account"], r["next_run_date"] or "-")
        console.print(rules)
        runs = Table("rule", "date", "kind", "status", "moved", "transfers", "reject", title="latest runs")
        for run in recent_runs(conn, cust.id):
            runs.add_row(str(run["rule_id"]), run["run_date"], run["kind"], run["status"], run["moved"],
                         str(run["transfers"]), run["reject_code"] or "")
        console.print(runs)


@app.command("demo-seed")
def demo_seed_cmd(db: str = DbOption, suffix: str = typer.Option("0001", help="Makes the demo numbers unique.")) -> None:
    """Create a demo customer (login zhang<suffix>, password demo-pass-1), one signed other-bank account and
    a FULL month-end rule on it."""
    from cunguan.db.migrate import upgrade
    from cunguan.sweep import demo
    from cunguan.sweep.agreements import add_other_account
    from cunguan.sweep.cycle import MONTH_END
    from cunguan.sweep.rules import create_rule

    ctx = _ctx(db)
    upgrade(ctx.engine)
    seeded = demo.seed(ctx.engine, ctx.connector, suffix=suffix)  # type: ignore[arg-type]
    other = add_other_account(ctx, seeded.customer.id, bank_no=demo.OTHER_BANK_NO, bank_name=demo.OTHER_BANK_NAME,
                              account_no=seeded.other_account_no, holder_name=seeded.customer.name,
                              payee_account_id=seeded.card.id)
    rule = create_rule(ctx, seeded.customer.id, other_account_id=other.id, collecting_account_id=seeded.card.id,
                       mode="FULL", amount_fen=None, cycle=MONTH_END)
    console.print(f"customer {seeded.customer.customer_no}: login {seeded.customer.login_name} / demo-pass-1; "
                  f"other-bank accounts {demo.OTHER_BANK_NO}/{seeded.other_account_no} (signed), "
                  f"{demo.SECOND_BANK_NO}/{seeded.second_account_no} (not yet added); rule {rule.id}: FULL at month end "
                  f"from {rule.effective_from}")


@app.command("deliver-sms")
def deliver_sms_cmd(db: str = DbOption, sink: str = typer.Option("var/sms.jsonl", help="Local sink file.")) -> None:
    """Deliver pending SMS from the outbox to a local file sink."""
    from cunguan.notify.sms import FileSmsSink, deliver_pending

    sent = deliver_pending(create_engine(db), FileSmsSink(sink))
    console.print(f"{sent} message(s) delivered to {sink}")


@app.command("scheduler")
def scheduler_cmd(
    db: str = DbOption,
    interval: int = typer.Option(60, min=1, max=3600, help="Seconds between ticks."),
    sink: str = typer.Option("var/sms.jsonl", help="Local SMS sink file."),
    ticks: int = typer.Option(0, min=0, help="Stop after this many ticks (0: run until stopped)."),
) -> None:
    """Run the collection scheduler in the foreground: every INTERVAL seconds, run-due then deliver SMS."""
    import time

    from cunguan.notify.sms import FileSmsSink
    from cunguan.sweep.background import tick

    ctx = _ctx(db)
    sender = FileSmsSink(sink)
    done = 0
    while True:
        report, sent = tick(ctx, sender)
        console.print(f"{report.day}: {len(report.runs)} run(s), {len(report.resumed)} resumed, {sent} SMS")
        done += 1
        if ticks and done >= ticks:
            return
        time.sleep(interval)
