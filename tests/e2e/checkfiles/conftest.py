"""E2E fixtures: the integration tests' `CustodyDay` builder (tests/integration/checkfiles/
checkfiles_builder.py) on the live server's database and clock. The app's own money worker is switched
off (CUNGUAN_MONEY_WORKER=off) so that the test drives the worker steps itself, on its clock."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_builder():
    name = "cunguan_tests_checkfiles_builder"
    if name not in sys.modules:
        path = Path(__file__).parents[2] / "integration" / "checkfiles" / "checkfiles_builder.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


builder = load_builder()


@pytest.fixture(autouse=True)
def _no_background_money_worker(monkeypatch):
    monkeypatch.setenv("CUNGUAN_MONEY_WORKER", "off")
