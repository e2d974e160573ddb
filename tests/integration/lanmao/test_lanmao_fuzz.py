"""Property: whatever arrives, the pipeline answers with a well-formed error envelope whose code is a
specific one (never the 100001 of an unexpected failure), and nothing is written."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cunguan.api.lanmao import pipeline
from cunguan.api.lanmao.services import build_registry
from cunguan.client import signing, wire
from cunguan.clock import Clock
from cunguan.custody import platforms
from cunguan.db.tables import metadata
from cunguan.db.tx import run_in_transaction
from cunguan.settings import Settings

pytestmark = pytest.mark.db


@pytest.fixture
def runtime(engine):
    key = signing.generate_private_key()
    run_in_transaction(engine, lambda c: platforms.create_platform(
        c, 1, platform_no="6000000001", name="P", notify_url="http://127.0.0.1:9/n",
        public_key_pem=signing.public_key_pem(key)))
    rt = pipeline.Runtime(engine, Settings(), build_registry(), Clock(), "http://127.0.0.1")
    platforms.bank_key(engine)
    return rt, key


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def _check(rt, body: bytes | None = None, pairs=None) -> dict:
    wr = pipeline.process(rt, "service", body or b"", pairs, "cid")
    assert wr.status_code == 200 and "sign" in wr.headers
    parsed = wire.loads(wr.body)
    return parsed


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=st.binary(max_size=400))
def test_random_bodies(runtime, body: bytes) -> None:
    rt, _ = runtime
    parsed = _check(rt, body)
    assert parsed["code"] == "1" and parsed["errorCode"] != "100001"


@FUZZ
@given(req=st.one_of(
    st.text(max_size=200),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                 | st.decimals(allow_nan=False, allow_infinity=False).map(str),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=12).map(lambda v: wire.dumps({"platformUserNo": v, "timestamp": v})),
))
def test_random_signed_req_data(runtime, engine, req: str) -> None:
    """Correctly signed, arbitrary reqData: the answer is a specific error (or, rarely, a success)."""
    rt, key = runtime
    before = _counts(engine)
    form = [("serviceName", "QUERY_USER_INFORMATION"), ("platformNo", "6000000001"), ("reqData", req),
            ("keySerial", "1"), ("sign", signing.sign(key, req.encode("utf-8", "surrogatepass")))]
    parsed = _check(rt, pairs=form)
    assert parsed.get("errorCode") != "100001"
    assert _counts(engine) == before


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["serviceName", "platformNo", "reqData", "keySerial", "sign",
                                               "userDevice", "x"]), st.text(max_size=60), max_size=7))
def test_random_envelopes(runtime, fields: dict[str, str]) -> None:
    rt, _ = runtime
    parsed = _check(rt, pairs=list(fields.items()))
    assert parsed["code"] == "1" and parsed["errorCode"] != "100001"
