"""User roles (protocol §3.1) and what each may do.

- Platform roles (`PLATFORM_*`) belong to the bank-created system accounts `SYS_GENERATE_000`…`007`;
  nobody registers them through a registration service, and `SYS_GENERATE_*` numbers are reserved.
- Institution roles (guarantor, partner institution) are enterprises only.
- Each role may grant only the no-password authorizations that fit what it does (§3.7, §5.1): an
  investor bids and buys claims, a borrower repays, a guarantor or partner compensates; anyone may
  authorize automatic recharge and withdrawal. The spec is silent here; this table is our reading of
  §5.1 and is the one place to change it.
"""

from __future__ import annotations

SYSTEM_USER_PREFIX = "SYS_GENERATE_"

PLATFORM_ROLES: dict[str, str] = {
    "PLATFORM_FUNDS_TRANSFER": "SYS_GENERATE_000",
    "PLATFORM_COMPENSATORY": "SYS_GENERATE_001",
    "PLATFORM_MARKETING": "SYS_GENERATE_002",
    "PLATFORM_PROFIT": "SYS_GENERATE_003",
    "PLATFORM_INCOME": "SYS_GENERATE_004",
    "PLATFORM_INTEREST": "SYS_GENERATE_005",
    "PLATFORM_ALTERNATIVE_RECHARGE": "SYS_GENERATE_006",
    "PLATFORM_URGENT": "SYS_GENERATE_007",
}

PERSONAL_ROLES = ("INVESTOR", "BORROWERS", "INTERMEDIATOR", "SUPPLIER")
ENTERPRISE_ROLES = ("INVESTOR", "BORROWERS", "GUARANTEECORP", "INTERMEDIATOR", "COLLABORATOR", "SUPPLIER")
ALL_ROLES = tuple(dict.fromkeys(ENTERPRISE_ROLES + PERSONAL_ROLES + tuple(PLATFORM_ROLES)))

AUTH_TYPES = ("TENDER", "REPAYMENT", "CREDIT_ASSIGNMENT", "COMPENSATORY", "WITHDRAW", "RECHARGE")

_MONEY = ("RECHARGE", "WITHDRAW")
AUTH_TYPES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "INVESTOR": ("TENDER", "CREDIT_ASSIGNMENT", *_MONEY),
    "BORROWERS": ("REPAYMENT", *_MONEY),
    "GUARANTEECORP": ("COMPENSATORY", "REPAYMENT", *_MONEY),
    "COLLABORATOR": ("COMPENSATORY", "REPAYMENT", *_MONEY),
    "INTERMEDIATOR": _MONEY,
    "SUPPLIER": _MONEY,
}
for _role in PLATFORM_ROLES:
    AUTH_TYPES_BY_ROLE[_role] = ()
