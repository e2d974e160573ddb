"""Users imported by migration (存量用户, protocol §2.2 / §5.7): ACTIVATE_STOCKED_USER (the bank's page),
CHANGE_USER_BANKCARD (direct), and the bank's manual review of users activated with a passport or a
Hong Kong/Macau/Taiwan pass.

An imported user (cunguan.migration.importer) exists DEACTIVATED with `isImportUserActivate=false`,
no trade password, and a `migration_users` row saying whether the imported card is valid (a card of an
unsupported bank is imported but marked invalid), whether quick pay serves its bank, and whether the
document needs manual review. Activation on the bank's page (SMS code to the imported mobile, a new
trade password, optionally a new card unless `cardChange=UNMOD`, optional authList/failTime/amount)
ends in one of these states, all with `isImportUserActivate=true`:

| outcome | when | user |
|---|---|---|
| normal | valid card (imported or typed), PRC ID, four elements confirmed by the card's bank | ACTIVATED, FULL_CHECKED, PASSED |
| quick recharge unavailable | as normal, but the card's bank has no quick pay (migration/cleaning.QUICK_PAY_BANKS) | as normal; `quick_recharge_available()` is false |
| abnormal | the card is invalid and was not changed | DEACTIVATED (every function refuses: 100010) until CHANGE_USER_BANKCARD gives a valid card |
| manual review | passport / HK-Macau-Taiwan pass, or an enterprise | DEACTIVATED, AUDIT_AUTH (enterprise PART_CHECKED), auditStatus AUDIT until `review_stocked_user` |

Decisions where the spec is silent:
- CHANGE_USER_BANKCARD works for a user not yet activated, and for one activated abnormally (still
  blocked); it is refused for an activated user (they change cards with PERSONAL_BIND_BANKCARD_EXPAND).
  It takes effect at once (no AUDIT_BIND_CARD: the card was never usable), checks the four elements
  for a PRC ID holder, and lifts the block. An optional `bankcode` is read for enterprises (their
  accounts have no BIN to tell the bank).
- `cardChange` other than `UNMOD` (or absent) lets the user type another card on the page; the notify
  says `cardNolsChange` TRUE/FALSE (absent for enterprises).
- The review notifies ACTIVATE_STOCKED_USER (the user's requestNo becomes the activation's), with
  auditStatus PASSED or REFUSED, through custody/reviews.py; PASSED of a user whose card is still
  invalid leaves them blocked (abnormal) until the card is changed.
- The four-element check of activation runs inside the page's transaction (the generic page flow
  pre-verifies only the registration and card services); with the in-process simulator that is fine,
  with a real bank it should move to user_services._elements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cunguan.clock import Clock
from cunguan.custody import authorizations, bins, card_verifier, identity, passwords, requests, reviews
from cunguan.custody.card_verifier import CardVerifier, FourElements
from cunguan.custody.cards import record_bound_card
from cunguan.custody.fields import opt, opt_enum, opt_text
from cunguan.custody.masking import mask_card
from cunguan.custody.user_errors import InvalidField, WrongState
from cunguan.custody.user_store import User, check_platform_no, get_user, platform_user_no, update_user
from cunguan.db.tables.migration import migration_users

ACTIVATE = "ACTIVATE_STOCKED_USER"
CHANGE_CARD = "CHANGE_USER_BANKCARD"
IMPORTED, ACTIVATED, ABNORMAL, AUDIT = "IMPORTED", "ACTIVATED", "ABNORMAL", "AUDIT"


def quick_pay_bank(bankcode: str | None) -> bool:
    from cunguan.migration.cleaning import QUICK_PAY_BANKS

    return bankcode in QUICK_PAY_BANKS


def migration_state(conn: Connection, user: User, *, for_update: bool = False) -> dict | None:
    stmt = select(migration_users).where(migration_users.c.user_id == user.id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def _imported(conn: Connection, user: User) -> dict:
    state = migration_state(conn, user, for_update=True)
    if state is None:
        raise WrongState("platformUserNo is not a user imported by migration", field="platformUserNo")
    return state


def _set_state(conn: Connection, user: User, now_us: int, **values: object) -> None:
    conn.execute(update(migration_users).where(migration_users.c.user_id == user.id).values(updated_us=now_us,
                                                                                            **values))


def quick_recharge_available(conn: Connection, platform_no: str, user_no: str) -> bool:
    """False for an imported user whose card's bank has no quick pay (or whose card is invalid);
    True for everyone else (normally registered users are not restricted here)."""
    user = get_user(conn, platform_no, user_no)
    state = migration_state(conn, user)
    if state is None:
        return True
    return bool(state["card_valid"]) and bool(state["quick_pay"]) and not state["blocked"]


def _new_card(user: User, card_no: object, bankcode: object = None) -> bins.CardInfo:
    if user.user_type == "PERSONAL":
        return bins.validate_personal_card(card_no if isinstance(card_no, str) else None)
    return bins.validate_corporate_account(card_no if isinstance(card_no, str) else None,
                                           bankcode if isinstance(bankcode, str) else user.bankcode)


def _verify(user: User, card: bins.CardInfo, verifier: CardVerifier | None) -> bool:
    """Ask the card's bank about the four elements (PRC IDs only); True if it was asked and agreed."""
    if user.user_type != "PERSONAL" or user.id_card_type != identity.PRC_ID:
        return False
    card_verifier.resolve(verifier).verify(FourElements(user.name or "", user.id_card_no or "", card.card_no,
                                                        user.mobile or "", card.bankcode))
    return True


# ---------------------------------------------------------------- ACTIVATE_STOCKED_USER


@dataclass(frozen=True)
class ActivateStockedUserRequest:
    """reqData plus what the user typed on the bank's page (new trade password, optionally a card)."""

    request_no: str
    platform_user_no: str
    password: str | None = field(default=None, repr=False)
    bankcard_no: str | None = field(default=None, repr=False)
    card_change: str | None = None
    check_type: str | None = None
    auth_list: str | None = None
    fail_time: str | None = None
    amount: object = None
    redirect_url: str | None = None


@dataclass(frozen=True)
class ActivateStockedUserResult:
    request_no: str
    platform_user_no: str
    bankcard_no: str | None  # masked
    bankcode: str | None
    mobile: str | None
    access_type: str
    user_role: str
    audit_status: str
    active_status: str
    card_nols_change: str | None  # TRUE / FALSE; None (absent) for enterprises
    auth_list: str | None
    fail_time: str | None
    amount_fen: int | None


def activate_stocked_user(conn: Connection, clock: Clock, platform_no: str, req: ActivateStockedUserRequest, *,
                          verifier: CardVerifier | None = None) -> ActivateStockedUserResult:
    """ACTIVATE_STOCKED_USER: the imported user confirms the card (or types another), sets the trade
    password and becomes active (or abnormal / in review, see the module docstring)."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    opt_enum(req.check_type, "checkType", ("LIMIT",))
    card_change = opt_text(req.card_change, "cardChange", max_len=16)
    password = passwords.validate_new_password(req.password)
    today = clock.beijing_date()
    terms = authorizations.parse_terms(req.auth_list, req.fail_time, req.amount, today, required=False)
    requests.claim(conn, clock, platform_no, request_no, ACTIVATE, user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    state = _imported(conn, user)
    if user.is_import_user_activate:
        raise WrongState("platformUserNo has already been activated", field="platformUserNo")
    authorizations.check_role_allows(user, terms.types)
    typed = opt(req.bankcard_no)
    if typed is not None and str(typed).replace(" ", "") == user.bankcard_no:
        typed = None  # the imported card, typed again: not a change
    if typed is not None and card_change == "UNMOD":
        raise InvalidField("bankcardNo: the platform asked for the imported card to be kept (cardChange=UNMOD)",
                           field="bankcardNo")
    if typed is not None and user.user_type != "PERSONAL":
        raise WrongState("an enterprise changes its account with CHANGE_USER_BANKCARD, not on this page",
                         field="bankcardNo")
    now_us = requests.clock_us(clock)
    if typed is not None:
        card: bins.CardInfo | None = _new_card(user, typed)
    elif state["card_valid"]:
        card = bins.CardInfo(user.bankcard_no or "", user.bankcode or "", "DEBIT")
    else:
        card = None  # invalid imported card, unchanged: abnormal activation
    checked = _verify(user, card, verifier) if card is not None else False
    review = bool(state["review_required"]) or user.user_type == "ORGANIZATION"
    if review:
        access = "PART_CHECKED" if user.user_type == "ORGANIZATION" else "AUDIT_AUTH"
        audit, active, new_state = "AUDIT", "DEACTIVATED", AUDIT
    elif card is None:
        access, audit, active, new_state = "NOT_AUTH", "PASSED", "DEACTIVATED", ABNORMAL
    else:
        access, audit, active, new_state = ("FULL_CHECKED" if checked else "NOT_AUTH"), "PASSED", "ACTIVATED", ACTIVATED
    changes: dict[str, object] = dict(access_type=access, audit_status=audit, active_status=active,
                                      is_import_user_activate=True, request_no=request_no)
    if typed is not None and card is not None:
        changes.update(bankcard_no=card.card_no, bankcode=card.bankcode)
    passwords.set_password(conn, user.id, password, now_us)
    if card is not None:
        record_bound_card(conn, user, request_no, ACTIVATE, card.card_no, card.bankcode, user.mobile, now_us)
    user = update_user(conn, user, now_us, **changes)
    _set_state(conn, user, now_us, state=new_state, blocked=card is None, activation_request_no=request_no,
               card_changed=typed is not None, card_valid=card is not None,
               quick_pay=card is not None and user.user_type == "PERSONAL" and quick_pay_bank(card.bankcode))
    if terms.types:
        authorizations.grant(conn, user, terms, request_no, now_us)
    auth_list = ",".join(terms.types) or None
    fail_time = terms.fail_date.strftime("%Y%m%d") if terms.fail_date else None
    changed = None if user.user_type == "ORGANIZATION" else ("TRUE" if typed is not None else "FALSE")
    result = ActivateStockedUserResult(request_no, user_no, mask_card(user.bankcard_no) or None, user.bankcode,
                                       user.mobile, access, user.user_role, audit, active, changed, auth_list,
                                       fail_time, terms.amount_cap_fen)
    requests.record(conn, platform_no, request_no, user_no,
                    {"accessType": access, "auditStatus": audit, "activeStatus": active, "outcome": new_state,
                     "cardNolsChange": changed, "authList": auth_list})
    return result


# ---------------------------------------------------------------- CHANGE_USER_BANKCARD


@dataclass(frozen=True)
class ChangeUserBankcardRequest:
    request_no: str
    platform_user_no: str
    bankcard_no: str | None = field(default=None, repr=False)
    bankcode: str | None = None


@dataclass(frozen=True)
class ChangeUserBankcardResult:
    request_no: str
    platform_user_no: str
    bankcard_no: str  # masked
    bankcode: str
    active_status: str


def change_user_bankcard(conn: Connection, clock: Clock, platform_no: str, req: ChangeUserBankcardRequest, *,
                         verifier: CardVerifier | None = None) -> ChangeUserBankcardResult:
    """CHANGE_USER_BANKCARD: replace the imported card of a user not yet activated (or activated
    abnormally, which this unblocks); refused for an activated user."""
    check_platform_no(platform_no)
    request_no = requests.request_no(req.request_no)
    user_no = platform_user_no(req.platform_user_no)
    if opt(req.bankcard_no) is None:
        raise InvalidField("bankcardNo is required", field="bankcardNo")
    requests.claim(conn, clock, platform_no, request_no, CHANGE_CARD, user_no)
    user = get_user(conn, platform_no, user_no, for_update=True)
    state = _imported(conn, user)
    if user.is_import_user_activate and not state["blocked"]:
        raise WrongState("platformUserNo is already activated: change the card with PERSONAL_BIND_BANKCARD_EXPAND "
                         "(未激活换卡 only applies before activation)", field="platformUserNo")
    card = _new_card(user, req.bankcard_no, opt(req.bankcode))
    if card.card_no == user.bankcard_no and state["card_valid"]:
        raise WrongState("bankcardNo is already the user's card", field="bankcardNo")
    checked = _verify(user, card, verifier)
    now_us = requests.clock_us(clock)
    record_bound_card(conn, user, request_no, CHANGE_CARD, card.card_no, card.bankcode, user.mobile, now_us)
    changes: dict[str, object] = dict(bankcard_no=card.card_no, bankcode=card.bankcode)
    new_state = state["state"]
    if state["state"] == ABNORMAL:  # activated with an invalid card: the block ends now
        changes.update(active_status="ACTIVATED", access_type="FULL_CHECKED" if checked else user.access_type)
        new_state = ACTIVATED
    user = update_user(conn, user, now_us, **changes)
    _set_state(conn, user, now_us, card_valid=True, blocked=False, card_changed=True, state=new_state,
               quick_pay=user.user_type == "PERSONAL" and quick_pay_bank(card.bankcode))
    result = ChangeUserBankcardResult(request_no, user_no, mask_card(card.card_no), card.bankcode, user.active_status)
    requests.record(conn, platform_no, request_no, user_no,
                    {"bankcardNo": result.bankcard_no, "bankcode": card.bankcode})
    return result


# ---------------------------------------------------------------- the bank's review


def review_stocked_user(conn: Connection, clock: Clock, platform_no: str, user_no: str, *, operator_id: str,
                        decision: str, remark: str | None = None) -> reviews.ReviewResult:
    """PASSED or REFUSED for an imported user activated into review (passport, HK/Macau/Taiwan pass,
    enterprise). The platform gets an ACTIVATE_STOCKED_USER notify with the new auditStatus."""
    if decision not in ("PASSED", "REFUSED"):
        raise InvalidField("decision must be PASSED or REFUSED for an imported user", field="auditStatus")
    user = get_user(conn, platform_no, user_no, for_update=True)
    state = _imported(conn, user)
    if state["state"] != AUDIT:
        raise WrongState(f"platformUserNo is not waiting for review (migration state {state['state']})",
                         field="platformUserNo")
    result = reviews.decide_user(conn, clock, platform_no, user_no, operator_id=operator_id, decision=decision,
                                 remark=remark)
    now_us = requests.clock_us(clock)
    if decision == "PASSED":
        fresh = get_user(conn, platform_no, user_no)
        if state["blocked"]:
            fresh = update_user(conn, fresh, now_us, active_status="DEACTIVATED")
        _set_state(conn, fresh, now_us, state=ABNORMAL if state["blocked"] else ACTIVATED)
        return dataclasses.replace(result, active_status=fresh.active_status)
    return result
