"""Typed errors of the operator console. The web layer turns each into a friendly page with its
HTTP status; `message` is safe to show (no secrets, no full ID or card numbers)."""

from __future__ import annotations


class ConsoleError(Exception):
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ConsoleError):
    """A form field is missing or malformed."""


class LoginFailed(ConsoleError):
    """Unknown username, wrong password, disabled or locked operator: one message for all, so the
    page does not tell which usernames exist."""

    http_status = 401


class NotLoggedIn(ConsoleError):
    http_status = 401


class Forbidden(ConsoleError):
    """The operator's role does not allow the action."""

    http_status = 403


class CsrfRefused(ConsoleError):
    """A POST without the session's CSRF token (or with a wrong one)."""

    http_status = 403


class NotFound(ConsoleError):
    http_status = 404


class OperatorExists(ConsoleError):
    http_status = 409
