"""The posting hash is pinned byte for byte: existing databases and the audit depend on it, so a change
to `posting_body` (or to how the writer uses it) must fail here, not in production."""

from __future__ import annotations

import hashlib

from cunguan.ledger.chain import GENESIS, posting_body, posting_hash

KNOWN = [
    ((GENESIS, 1, 1, 2, 100, "CNY", "T", "r", "k", 5, 10),
     "79ee2dceb8025c8359bcb0f0fcb7bc0eaf242acc8d32f9378ddfb560f620d70c"),
    ((bytes(range(32)), 123456789, 10, 20, 999999999999, "CNY", "TENDER", "订单-1|x", None, None, 1763900000000000),
     "08bf6178ab4180407616966848793a0ad2d7f5f5247b29c2f04448e267b847b4"),
    ((GENESIS, 2, 3, 4, 1, "USD", "", "", "", 0, 0),
     "8b6989fc15a482f519edbc887a99f7ca98004468f7229f6cf4663b2995a4f9a9"),
]


def test_posting_hash_matches_pinned_digests():
    for args, digest in KNOWN:
        assert posting_hash(*args).hex() == digest


def test_posting_body_is_the_pipe_joined_fields_and_the_hash_covers_prev_then_body():
    body = posting_body(7, 1, 2, 300, "CNY", "TENDER", "t|1", None, None, 99)
    assert body == b"7|1|2|300|CNY|TENDER|t|1|||99"
    prev = bytes([3]) * 32
    assert posting_hash(prev, 7, 1, 2, 300, "CNY", "TENDER", "t|1", None, None, 99) == hashlib.sha256(prev + body).digest()
