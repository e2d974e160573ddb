"""SHA1withRSA signing and key loading (protocol §1.5)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cunguan.client import signing


def test_sign_verify_round_trip(rsa_key) -> None:
    data = '{"platformUserNo":"张三","amount":100.00}'.encode()
    sig = signing.sign(rsa_key, data)
    assert "\n" not in sig and len(base64.b64decode(sig)) == 256
    assert signing.verify(rsa_key.public_key(), data, sig)


def test_signature_is_deterministic_pkcs1v15(rsa_key) -> None:
    assert signing.sign(rsa_key, b"abc") == signing.sign(rsa_key, b"abc")


def test_tampered_data_or_signature_fails(rsa_key, other_rsa_key) -> None:
    sig = signing.sign(rsa_key, b"payload")
    assert not signing.verify(rsa_key.public_key(), b"payloaD", sig)
    assert not signing.verify(other_rsa_key.public_key(), b"payload", sig)
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    assert not signing.verify(rsa_key.public_key(), b"payload", base64.b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("bad", ["", "!!!", "QUJD", "A" * 3000, "é" * 10, "QUJD=="])
def test_garbage_signatures_fail_without_raising(rsa_key, bad: str) -> None:
    assert not signing.verify(rsa_key.public_key(), b"payload", bad)


def test_wrapped_base64_is_tolerated(rsa_key) -> None:
    sig = signing.sign(rsa_key, b"payload")
    wrapped = "\r\n".join(sig[i:i + 76] for i in range(0, len(sig), 76))
    assert signing.verify(rsa_key.public_key(), b"payload", wrapped)


def test_public_key_forms(rsa_key) -> None:
    pub = rsa_key.public_key()
    spki_pem = signing.public_key_pem(pub)
    pkcs1_pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    der_b64 = base64.b64encode(pub.public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    for text in (spki_pem, pkcs1_pem, der_b64, "\n" + der_b64[:64] + "\n" + der_b64[64:] + "\n"):
        assert signing.public_key_pem(signing.load_public_key(text)) == spki_pem


def test_private_key_forms(rsa_key) -> None:
    pem = signing.private_key_pem(rsa_key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    der_b64 = base64.b64encode(rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())).decode()
    for text in (pem, der_b64):
        assert signing.sign(signing.load_private_key(text), b"x") == signing.sign(rsa_key, b"x")


def test_unusable_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(signing.KeyFormatError, match="1024 bits"):
        signing.load_public_key(signing.public_key_pem(small))
    for junk in ("", "hello", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not base64!!"):
        with pytest.raises(signing.KeyFormatError):
            signing.load_public_key(junk)
    with pytest.raises(signing.KeyFormatError) as info:
        signing.load_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
    assert "AAAA" not in str(info.value)


def test_ec_key_is_not_rsa() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(signing.KeyFormatError, match="not an RSA key"):
        signing.load_public_key(ec_pem)
