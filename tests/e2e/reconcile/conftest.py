"""E2E fixtures: the tests use the `CustodyDay` builder (tests/support/checkfiles_builder.py) on the live
server's database and clock. The app's own money worker is switched off (CUNGUAN_MONEY_WORKER=off) so that the test drives the worker steps itself, on its clock."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_background_money_worker(monkeypatch):
    monkeypatch.setenv("CUNGUAN_MONEY_WORKER", "off")
