"""Keys for the Lanmao unit tests, generated once per session (RSA generation is slow, not I/O)."""

from __future__ import annotations

import pytest

from cunguan.client import signing


@pytest.fixture(scope="session")
def rsa_key():
    return signing.generate_private_key()


@pytest.fixture(scope="session")
def other_rsa_key():
    return signing.generate_private_key()
