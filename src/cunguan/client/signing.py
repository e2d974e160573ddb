"""SHA1withRSA as the Lanmao wire uses it (protocol §1.5): RSA PKCS#1 v1.5 over SHA-1, standard
Base64 with no line breaks.

This is the one place in the tree that signs or verifies Lanmao messages. It depends on nothing of
Cunguan, so the client package stays a leaf library that platforms can lift out, and the server
(`api/lanmao`, `custody/platforms`) imports it rather than keeping a second copy. Tests cross-check it
against an independent verifier (`openssl dgst -sha1 -verify`).
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_KEY_BITS = 2048
MAX_KEY_BITS = 8192
MAX_SIGN_B64_CHARS = 2048
"""An 8192-bit signature is 1024 bytes, 1368 Base64 characters: anything longer is not a signature."""


class KeyFormatError(ValueError):
    """A key that cannot be used: not RSA, not PEM/DER, too small or too large."""


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    assert MIN_KEY_BITS <= bits <= MAX_KEY_BITS
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 `BEGIN PRIVATE KEY`, unencrypted (the form the gem's YAML and the Java demo use)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_key_pem(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """SPKI `BEGIN PUBLIC KEY`."""
    if isinstance(key, rsa.RSAPrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _check_rsa(key: object, min_bits: int) -> None:
    if not isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        raise KeyFormatError("the key is not an RSA key")
    if not min_bits <= key.key_size <= MAX_KEY_BITS:
        raise KeyFormatError(f"RSA key of {key.key_size} bits (need {min_bits}..{MAX_KEY_BITS})")


def load_public_key(text: str | bytes, *, min_bits: int = MIN_KEY_BITS) -> rsa.RSAPublicKey:
    """A public key from PEM SPKI (`BEGIN PUBLIC KEY`), PEM PKCS#1 (`BEGIN RSA PUBLIC KEY`) or bare
    Base64 of the SPKI DER (how the Java demo and many platform configs carry it)."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    raw = raw.strip()
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
        else:
            der = base64.b64decode(b"".join(raw.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise KeyFormatError(f"not a readable public key ({type(exc).__name__})") from None
    _check_rsa(key, min_bits)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def load_private_key(text: str | bytes, *, min_bits: int = MIN_KEY_BITS) -> rsa.RSAPrivateKey:
    """A private key from PEM (PKCS#8 or PKCS#1) or bare Base64 PKCS#8 DER, unencrypted."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    raw = raw.strip()
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            der = base64.b64decode(b"".join(raw.split()), validate=True)
            key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        # The message never quotes the key material.
        raise KeyFormatError(f"not a readable private key ({type(exc).__name__})") from None
    _check_rsa(key, min_bits)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.lru_cache(maxsize=16)
def cached_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Loading a private key runs OpenSSL's consistency checks (tens of ms); a server loads the same
    bank key text over and over (one per engine), so cache by text."""
    return load_private_key(pem)


@functools.lru_cache(maxsize=1024)
def cached_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parsing a key costs more than verifying with it; keys are immutable text, so cache by text."""
    return load_public_key(pem)


def sign(key: rsa.RSAPrivateKey, data: bytes) -> str:
    """Base64 (no line breaks) of the SHA1withRSA signature of `data`."""
    assert isinstance(data, bytes | bytearray)
    raw = key.sign(bytes(data), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - the wire mandates SHA-1
    return base64.b64encode(raw).decode("ascii")


def decode_signature(sign_b64: str) -> bytes | None:
    """The raw signature bytes, or None when the text is not strict standard Base64. Line breaks are
    tolerated (some Java encoders wrap at 76 columns) but nothing else."""
    if not isinstance(sign_b64, str) or not sign_b64 or len(sign_b64) > MAX_SIGN_B64_CHARS:
        return None
    compact = sign_b64.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def verify(key: rsa.RSAPublicKey, data: bytes, sign_b64: str) -> bool:
    """True only when `sign_b64` is a valid SHA1withRSA signature of exactly `data`."""
    raw = decode_signature(sign_b64)
    if raw is None or len(raw) != (key.key_size + 7) // 8:
        return False
    try:
        key.verify(raw, bytes(data), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        return False
    return True
