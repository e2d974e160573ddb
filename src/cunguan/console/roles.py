"""Console roles and what each may do.

Decision (the issue names the roles, not every permission): the roles are nested —
operator ⊂ reviewer ⊂ admin. An operator only reads; a reviewer also decides user reviews and
re-sends notifications (both are case work on existing objects); an admin also creates platforms,
adds platform keys and creates operators. The check lives here, in the business layer, so a page
that forgets it still cannot act.
"""

from __future__ import annotations

from cunguan.console.errors import Forbidden

OPERATOR = "operator"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (OPERATOR, REVIEWER, ADMIN)
ROLE_LABEL = {OPERATOR: "操作员（只读）", REVIEWER: "审核员", ADMIN: "管理员"}

VIEW = "view"
REVIEW_USERS = "review_users"
RESEND_NOTIFICATIONS = "resend_notifications"
MANAGE_PLATFORMS = "manage_platforms"
MANAGE_OPERATORS = "manage_operators"

PERMISSIONS: dict[str, frozenset[str]] = {
    OPERATOR: frozenset({VIEW}),
    REVIEWER: frozenset({VIEW, REVIEW_USERS, RESEND_NOTIFICATIONS}),
    ADMIN: frozenset({VIEW, REVIEW_USERS, RESEND_NOTIFICATIONS, MANAGE_PLATFORMS, MANAGE_OPERATORS}),
}
assert all(PERMISSIONS[a] <= PERMISSIONS[b] for a, b in ((OPERATOR, REVIEWER), (REVIEWER, ADMIN)))


def check_role(role: object) -> str:
    if role not in ROLES:
        from cunguan.console.errors import InvalidInput

        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    return str(role)


def allows(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(role: str, permission: str) -> None:
    if not allows(role, permission):
        raise Forbidden(f"您的角色（{ROLE_LABEL.get(role, role)}）无权执行此操作")
