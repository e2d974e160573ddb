"""Typed retail errors, mapped to HTTP answers at the edge."""


class RetailError(Exception):
    code = "RETAIL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCustomer(RetailError):
    code = "UNKNOWN_CUSTOMER"


class UnknownAccount(RetailError):
    code = "UNKNOWN_ACCOUNT"


class LoginFailed(RetailError):
    code = "LOGIN_FAILED"


class Duplicate(RetailError):
    code = "DUPLICATE"
