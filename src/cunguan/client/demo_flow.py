"""`cunguan demo`: one whole custody lifecycle against a RUNNING server, the way a platform and its
users would drive it — the platform through the signed Lanmao interface (`LanmaoClient`), the users
through the bank's gateway pages driven with httpx as a form-posting browser (follow the 303, read the
page's CSRF field, post the form with the page cookie).

Steps: register an investor, a second investor (the buyer of the transfer) and a borrower on the bank's
PERSONAL_REGISTER_EXPAND page (the SMS code is read from the server's database, which is why the demo
takes the database URL); recharge both investors on the RECHARGE page and wait for the payment
company's confirmation; establish a project; the investor bids on the USER_PRE_TRANSACTION page;
release with a commission; the borrower pre-freezes and repays part of the principal with interest
(REPAYMENT authorization given at registration); the investor sells the remaining share to the buyer
(DEBENTURE_SALE, CREDIT_ASSIGNMENT authorization, SYNC_TRANSACTION); the borrower withdraws (AUTO_WITHDRAW,
NORMAL = T+1: the withdrawal is ACCEPTed and paid on the next working day).

Decisions (the issue is silent):
- Every run uses fresh user numbers, ID numbers, cards and phones (a random run id), so the demo can be
  run again and again against the same server. The cards are Luhn-valid ICBC cards: the server's default
  card verifier (`CUNGUAN_CARD_VERIFIER=simulator`) enrols a card it has not seen.
- The platform key is the demo platform's (`var/demo/platform_private.pem` written by `cunguan serve`;
  `--key-dir` points elsewhere); the bank's public key next to it verifies every answer and callback.
- The platform's own NOTIFY URL is whatever the platform registered; the demo does not depend on it: it
  reads every result off the CALLBACK the page returns and off the signed direct answers, and polls
  QUERY_TRANSACTION / QUERY_USER_INFORMATION for the asynchronous recharge outcome.
- A step that does not give the expected outcome raises `DemoFailed` naming the step and the answer.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from cunguan.client.client import LanmaoClient, ServiceResult
from cunguan.custody.sample_identities import make_card, make_prc_id

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_PLATFORM_NO = "6000000001"
DEFAULT_KEY_DIR = Path("var") / "demo"
PASSWORD = "Demo-pass-1"
RECHARGE_TIMEOUT_S = 30.0
POLL_S = 0.1

_CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')
_HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ERROR_RE = re.compile(r'id="error"[^>]*>(.*?)<', re.S)


class DemoFailed(RuntimeError):
    """A demo step did not end as expected."""


@dataclass(frozen=True)
class Person:
    user_no: str
    role: str
    real_name: str
    id_card_no: str
    bankcard_no: str
    mobile: str
    auth_list: str


@dataclass
class StepRecord:
    title: str
    outcome: str
    balances: dict[str, tuple[Decimal, Decimal, Decimal]]
    """platformUserNo → (balance, available, frozen) after the step."""


@dataclass
class DemoReport:
    platform_no: str
    users: dict[str, str]
    """label (investor, buyer, borrower) → platformUserNo."""
    steps: list[StepRecord] = field(default_factory=list)
    project_no: str = ""


class PageBrowser:
    """A browser without JavaScript on the bank's gateway pages: posts the platform's signed gateway
    form, follows the 303 to the page, keeps the page cookie, posts the page's form with its CSRF
    field, and reads the CALLBACK form the finished page auto-posts to `redirectUrl`."""

    def __init__(self, client: LanmaoClient, server_url: str, redirect_url: str) -> None:
        self.client = client
        self.server_url = server_url.rstrip("/")
        self.redirect_url = redirect_url
        self.http = httpx.Client(follow_redirects=False, timeout=client.timeout_s)
        self.url = ""
        self.csrf = ""
        self.last: httpx.Response | None = None

    def open(self, service: str, data: dict[str, Any]) -> httpx.Response:
        body = {"redirectUrl": self.redirect_url, "timestamp": self.client.timestamp(), **data}
        r = self.http.post(f"{self.client.base_url}/gateway", data=self.client.build_form(service, body))
        if r.status_code != 303:
            raise DemoFailed(f"{service}: the gateway did not open a page (HTTP {r.status_code}): {r.text[:300]}")
        location = r.headers["location"]
        self.url = location if location.startswith("http") else f"{self.server_url}{location}"
        page = self.http.get(self.url)
        found = _CSRF_RE.search(page.text)
        if page.status_code != 200 or found is None:
            raise DemoFailed(f"{service}: the bank page did not show (HTTP {page.status_code})")
        self.csrf = html.unescape(found.group(1))
        self.last = page
        return page

    def post(self, action: str, **fields: str) -> httpx.Response:
        self.last = self.http.post(self.url, data={"csrf": self.csrf, "action": action, **fields})
        return self.last

    @staticmethod
    def callback_form(page: httpx.Response) -> dict[str, str]:
        """The hidden fields of the auto-posting CALLBACK form (the page is finished)."""
        if 'id="callback-form"' not in page.text:
            err = _ERROR_RE.search(page.text)
            raise DemoFailed("the page did not finish: " + (html.unescape(err.group(1)).strip() if err else
                                                             f"HTTP {page.status_code}"))
        return {m.group(1): html.unescape(m.group(2)) for m in _HIDDEN_RE.finditer(page.text)}

    def callback(self, page: httpx.Response) -> dict[str, Any]:
        """The CALLBACK's respData, its bank signature verified."""
        return self.client.verify_notification(self.callback_form(page))

    def close(self) -> None:
        self.http.close()


# ---------------------------------------------------------------- helpers


def make_people(run_id: str) -> dict[str, Person]:
    """Fresh synthetic identities for one run (unique ID numbers, cards and phones per run id)."""
    n = int(run_id, 16)
    people = {}
    for i, (label, role, name, auth) in enumerate((
            ("investor", "INVESTOR", "张出借", "TENDER,CREDIT_ASSIGNMENT"),
            ("buyer", "INVESTOR", "李受让", "TENDER,CREDIT_ASSIGNMENT"),
            ("borrower", "BORROWERS", "王借款", "REPAYMENT,WITHDRAW"))):
        seq = (n + i * 331) % 1000
        born = dt.date(1980 + (n + i) % 20, 1 + (n + 2 * i) % 12, 1 + (n + 3 * i) % 28)
        people[label] = Person(
            user_no=f"DEMO-{label.upper()}-{run_id}", role=role, real_name=name,
            id_card_no=make_prc_id(born, seq=seq), bankcard_no=make_card(serial=(n * 3 + i) % 10**12),
            mobile=f"139{(n * 7 + i) % 10**8:08d}", auth_list=auth)
    return people


def _wait(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: not reached within {timeout_s:.0f} s")
        time.sleep(POLL_S)


def expect_ok(result: ServiceResult, step: str) -> dict[str, Any]:
    if result.outcome != "S" or not result.signature_valid:
        raise DemoFailed(f"{step}: {result.data.get('errorCode')} {result.data.get('errorMessage')} "
                         f"(outcome {result.outcome})")
    return result.data


def balances_of(client: LanmaoClient, user_no: str) -> tuple[Decimal, Decimal, Decimal]:
    data = expect_ok(client.call("QUERY_USER_INFORMATION", {"platformUserNo": user_no}), f"query {user_no}")
    return (Decimal(str(data["balance"])), Decimal(str(data["availableAmount"])), Decimal(str(data["freezeAmount"])))


# ---------------------------------------------------------------- the run


class DemoRun:
    """One lifecycle. `sms_code(mobile)` reads the newest code sent to a phone (the server's database)."""

    def __init__(self, client: LanmaoClient, server_url: str, sms_code: Callable[[str], str | None], *,
                 run_id: str | None = None, on_step: Callable[[StepRecord], None] | None = None) -> None:
        self.client = client
        self.server_url = server_url.rstrip("/")
        self.sms_code = sms_code
        self.run_id = run_id or secrets.token_hex(4)
        self.people = make_people(self.run_id)
        self.on_step = on_step
        self.report = DemoReport(client.platform_no, {k: p.user_no for k, p in self.people.items()})
        self.browser = PageBrowser(client, server_url, f"{self.server_url}/demo-platform/return")

    def no(self, prefix: str) -> str:
        return f"DEMO-{prefix}-{self.run_id}"

    def user(self, label: str) -> str:
        return self.people[label].user_no

    def record(self, title: str, outcome: str) -> StepRecord:
        balances = {p.user_no: balances_of(self.client, p.user_no) for p in self.people.values()
                    if p.user_no in self._registered}
        step = StepRecord(title, outcome, balances)
        self.report.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return step

    # ------------------------------------------------------------ steps

    def register(self, label: str) -> dict[str, Any]:
        p = self.people[label]
        b = self.browser
        b.open("PERSONAL_REGISTER_EXPAND", {
            "platformUserNo": p.user_no, "requestNo": self.no(f"REG-{label.upper()}"), "userRole": p.role,
            "checkType": "LIMIT", "idCardType": "PRC_ID", "userLimitType": "ID_CARD_NO_UNIQUE",
            "authList": p.auth_list, "failTime": self._in_days(730, "%Y%m%d"), "amount": "1000000"})
        typed = {"real_name": p.real_name, "id_card_no": p.id_card_no, "bankcard_no": p.bankcard_no,
                 "mobile": p.mobile}
        b.post("sms", **typed)
        code = self.sms_code(p.mobile)
        if not code:
            raise DemoFailed(f"register {label}: no SMS code reached {p.mobile[:3]}****{p.mobile[-4:]}")
        resp = b.callback(b.post("submit", **typed, sms_code=code, password=PASSWORD, password_confirm=PASSWORD))
        if resp.get("status") != "SUCCESS":
            raise DemoFailed(f"register {label}: {resp}")
        self._registered.add(p.user_no)
        return resp

    def recharge(self, label: str, amount: str) -> dict[str, Any]:
        user_no = self.user(label)
        request_no = self.no(f"RC-{label.upper()}")
        self.browser.open("RECHARGE", {"platformUserNo": user_no, "requestNo": request_no, "amount": amount,
                                       "expectPayCompany": "YEEPAY", "rechargeWay": "WEB",
                                       "expired": self._expired()})
        resp = self.browser.callback(self.browser.post("submit", password=PASSWORD))
        if resp.get("status") != "SUCCESS":
            raise DemoFailed(f"recharge {label}: {resp}")

        def done() -> str | None:
            r = self.client.call("QUERY_TRANSACTION", {"requestNo": request_no, "transactionType": "RECHARGE"})
            records = r.data.get("records") or []
            status = records[0].get("status") if records else None
            return status if status in ("SUCCESS", "FAIL") else None

        status = _wait(done, RECHARGE_TIMEOUT_S, f"recharge {label} confirmed by the payment company")
        if status != "SUCCESS":
            raise DemoFailed(f"recharge {label}: the payment company answered {status}")
        return resp

    def bid_on_page(self, label: str, project_no: str, amount: str) -> dict[str, Any]:
        self.browser.open("USER_PRE_TRANSACTION", {
            "platformUserNo": self.user(label), "requestNo": self.no("BID"), "bizType": "TENDER", "amount": amount,
            "projectNo": project_no, "expired": self._expired()})
        resp = self.browser.callback(self.browser.post("submit", password=PASSWORD))
        if resp.get("status") != "SUCCESS":
            raise DemoFailed(f"bid: {resp}")
        return resp

    def call(self, step: str, service: str, data: dict[str, Any]) -> dict[str, Any]:
        return expect_ok(self.client.call(service, data), step)

    def _expired(self) -> str:
        now = dt.datetime.strptime(self.client.timestamp(), "%Y%m%d%H%M%S")
        return (now + dt.timedelta(minutes=20)).strftime("%Y%m%d%H%M%S")

    def _in_days(self, days: int, fmt: str) -> str:
        now = dt.datetime.strptime(self.client.timestamp(), "%Y%m%d%H%M%S")
        return (now + dt.timedelta(days=days)).strftime(fmt)

    # ------------------------------------------------------------ the lifecycle

    def run(self) -> DemoReport:
        self._registered: set[str] = set()
        try:
            for label in ("investor", "buyer", "borrower"):
                resp = self.register(label)
                self.record(f"register {label} {self.user(label)} on the bank page",
                            f"{resp['accessType']} / {resp['auditStatus']}")
            self.recharge("investor", "1000.00")
            self.record("investor recharges 1000.00 on the RECHARGE page (YEEPAY)", "SUCCESS (unsettled until T+1)")
            self.recharge("buyer", "600.00")
            self.record("buyer recharges 600.00 on the RECHARGE page (YEEPAY)", "SUCCESS (unsettled until T+1)")
            project_no = self.no("PRJ")
            self.report.project_no = project_no
            self.call("establish", "ESTABLISH_PROJECT", {
                "requestNo": self.no("EST"), "platformUserNo": self.user("borrower"), "projectNo": project_no,
                "projectAmount": "1000.00", "projectName": "演示标的", "projectType": "STANDARDPOWDER",
                "projectPeriod": 90, "annnualInterestRate": "0.08", "repaymentWay": "FIRSEINTREST_LASTPRICIPAL"})
            self.record(f"platform establishes project {project_no} (1000.00)", "COLLECTING")
            self.bid_on_page("investor", project_no, "1000.00")
            self.record("investor bids 1000.00 on the bank page: frozen", "FREEZED")
            rel = self.call("release", "SYNC_TRANSACTION", {
                "requestNo": self.no("REL"), "tradeType": "TENDER", "projectNo": project_no, "details": [
                    {"bizType": "TENDER", "freezeRequestNo": self.no("BID"), "sourcePlatformUserNo": self.user("investor"),
                     "targetPlatformUserNo": self.user("borrower"), "amount": "1000.00"},
                    {"bizType": "COMMISSION", "sourcePlatformUserNo": self.user("borrower"), "amount": "10.00"}]})
            self.call("repaying", "MODIFY_PROJECT", {"requestNo": self.no("MOD"), "projectNo": project_no,
                                                     "status": "REPAYING"})
            self.record("release: bid → borrower, 10.00 commission → SYS_GENERATE_004; project REPAYING",
                        rel["transactionStatus"])
            self.call("repayment freeze", "USER_AUTO_PRE_TRANSACTION", {
                "requestNo": self.no("RPF"), "platformUserNo": self.user("borrower"), "bizType": "REPAYMENT",
                "amount": "506.67", "projectNo": project_no})
            rep = self.call("repay", "SYNC_TRANSACTION", {
                "requestNo": self.no("REP"), "tradeType": "REPAYMENT", "projectNo": project_no, "details": [
                    {"bizType": "REPAYMENT", "freezeRequestNo": self.no("RPF"), "sourcePlatformUserNo": self.user("borrower"),
                     "targetPlatformUserNo": self.user("investor"), "amount": "506.67", "income": "6.67"}]})
            self.record("borrower repays 500.00 principal + 6.67 interest to the investor (creditor check)",
                        rep["transactionStatus"])
            self.call("debenture sale", "DEBENTURE_SALE", {
                "requestNo": self.no("SALE"), "platformUserNo": self.user("investor"), "projectNo": project_no,
                "saleShare": "500.00"})
            self.call("buyer freeze", "USER_AUTO_PRE_TRANSACTION", {
                "requestNo": self.no("BUY"), "platformUserNo": self.user("buyer"), "bizType": "CREDIT_ASSIGNMENT",
                "amount": "505.00", "projectNo": project_no, "share": "500.00",
                "creditsaleRequestNo": self.no("SALE")})
            ca = self.call("transfer", "SYNC_TRANSACTION", {
                "requestNo": self.no("CA"), "tradeType": "CREDIT_ASSIGNMENT", "projectNo": project_no,
                "saleRequestNo": self.no("SALE"), "details": [
                    {"bizType": "CREDIT_ASSIGNMENT", "freezeRequestNo": self.no("BUY"),
                     "sourcePlatformUserNo": self.user("buyer"), "targetPlatformUserNo": self.user("investor"),
                     "amount": "505.00", "share": "500.00"}]})
            self.record("investor sells the remaining 500.00 share to the buyer for 505.00", ca["transactionStatus"])
            wd = self.call("withdraw", "AUTO_WITHDRAW", {
                "requestNo": self.no("WD"), "platformUserNo": self.user("borrower"), "withdrawType": "NORMAL",
                "amount": "483.33"})
            self.record("borrower withdraws 483.33 (NORMAL, T+1: paid on the next working day)",
                        str(wd["withdrawStatus"]))
        finally:
            self.browser.close()
        return self.report


def load_client(url: str, platform_no: str, key_dir: Path, *, lanmao_prefix: str) -> LanmaoClient:
    """The demo platform's client from the key files `cunguan serve` wrote (custody/demo.py)."""
    private = key_dir / "platform_private.pem"
    bank = key_dir / "bank_public.pem"
    for path in (private, bank):
        if not path.exists():
            raise DemoFailed(f"{path} not found: start `cunguan serve` once (it writes the demo keys) or pass --key-dir")
    return LanmaoClient(f"{url.rstrip('/')}{lanmao_prefix}", platform_no, private.read_text(encoding="ascii"),
                        bank.read_text(encoding="ascii"))


def sms_reader(engine) -> Callable[[str], str | None]:
    """Read the newest SMS code to a phone off the server's database (what the user reads on the phone)."""
    from cunguan.notify import sms_gateway

    def read(mobile: str) -> str | None:
        with engine.connect() as conn:
            return sms_gateway.latest_code(conn, mobile)

    return read
