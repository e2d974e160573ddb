"""ASYNC_TRANSACTION integration fixtures: a platform with funded users and the genuine test executor
(async_batches_support.py, importable by name from here and from the crash test's subprocess)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import async_batches_support as support  # noqa: E402


@pytest.fixture
def platform(engine):
    return support.make_platform(engine)
