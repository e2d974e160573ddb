"""Migration e2e fixtures: the platform's tiny web site (start page, CALLBACK on /return, NOTIFY on
/notify), the platform's Lanmao client against the live server, the sample users imported into the
server's database, and a browser context of the session's shared Chromium."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from cunguan.client.platform_site import PlatformSite
from cunguan.clock import Clock
from cunguan.migration import importer

PLATFORM_NO = "6000000001"
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "migration"
SAMPLE_TRANSFER_FEN = 5_258_395


@pytest.fixture(autouse=True)
def _cheap_argon2(fast_hasher):
    """Cheap argon2 parameters (tests/e2e/conftest.py)."""


@pytest.fixture
def site() -> Iterator[PlatformSite]:
    s = PlatformSite("migration-site")
    yield s
    s.close()


@pytest.fixture
def client(make_lanmao_platform, site):
    return make_lanmao_platform(PLATFORM_NO, notify_url=f"{site.url}/notify")


@pytest.fixture
def people() -> dict[str, dict[str, str]]:
    with open(SAMPLES / "users.csv", encoding="utf-8", newline="") as fh:
        out: dict[str, dict[str, str]] = {}
        for row in csv.DictReader(fh):
            out.setdefault(row["platformUserNo"], row)
        return out


@pytest.fixture
def imported(engine, client, tmp_path) -> importer.ImportResult:
    """samples/migration imported into the live server's database (the platform exists: `client`)."""
    result = importer.import_directory(engine, Clock(), SAMPLES, PLATFORM_NO, transfer_fen=SAMPLE_TRANSFER_FEN,
                                       report_path=tmp_path / "report.csv")
    assert not result.refused
    return result


@pytest.fixture
def browse(chromium) -> Callable[[Callable[[Page], Any]], Any]:
    def run(scenario: Callable[[Page], Any]) -> Any:
        context = chromium.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            return scenario(page)
        finally:
            context.close()

    return run
