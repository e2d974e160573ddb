"""The posting hash chain: each posting's hash covers its content and the previous posting's hash,
so changing, removing or reordering any posting breaks every hash after it."""

from __future__ import annotations

import hashlib

GENESIS = bytes(32)


def posting_body(
    seq: int,
    debit: int,
    credit: int,
    amount_fen: int,
    currency: str,
    biz_type: str,
    ref: str,
    idem_key: str | None,
    freeze_id: int | None,
    created_us: int,
) -> bytes:
    """The bytes a posting's hash covers after the previous hash: the one definition of the format
    (the writer hashes these bytes itself, in its batch loop, so there is no second copy of it)."""
    return f"{seq}|{debit}|{credit}|{amount_fen}|{currency}|{biz_type}|{ref}|{idem_key or ''}|{freeze_id or ''}|{created_us}".encode()


def posting_hash(
    prev: bytes,
    seq: int,
    debit: int,
    credit: int,
    amount_fen: int,
    currency: str,
    biz_type: str,
    ref: str,
    idem_key: str | None,
    freeze_id: int | None,
    created_us: int,
) -> bytes:
    return hashlib.sha256(prev + posting_body(seq, debit, credit, amount_fen, currency, biz_type, ref, idem_key,
                                              freeze_id, created_us)).digest()
