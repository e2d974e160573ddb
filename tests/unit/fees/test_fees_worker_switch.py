"""The due-charge check's switch: on by default, off by env or app state, anything else refused."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from cunguan.api.background import worker_enabled
from cunguan.api.fees import signed_bytes


def test_worker_is_on_by_default_and_can_be_switched_off():
    app = FastAPI()
    assert worker_enabled(app, {}, "fee") is True
    assert worker_enabled(app, {"CUNGUAN_FEE_WORKER": "off"}, "fee") is False
    assert worker_enabled(app, {"CUNGUAN_FEE_WORKER": " OFF "}, "fee") is False
    app.state.fee_worker = False
    assert worker_enabled(app, {"CUNGUAN_FEE_WORKER": "on"}, "fee") is False


def test_worker_switch_refuses_unknown_values():
    with pytest.raises(ValueError, match="CUNGUAN_FEE_WORKER"):
        worker_enabled(FastAPI(), {"CUNGUAN_FEE_WORKER": "sometimes"}, "fee")


def test_the_signed_string_names_platform_key_and_time():
    assert signed_bytes("6000000001", "1", "20261101090000") == b"6000000001|1|20261101090000"
