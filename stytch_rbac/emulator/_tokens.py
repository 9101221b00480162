"""Signing keys, the JWKS, session JWT minting and verification, opaque tokens and ids.

Generating an RSA-2048 key costs 30-60 ms, more than everything else an emulator
does to start. So the keys come from a per-process pool: every emulator starts
signing with the pool's first key (under a ``kid`` of its own), and a rotation
takes the next pool key this emulator has not used, generating it only the
first time any emulator in the process needs that many. ``fresh=True``
(``Emulator(fresh_keys=True)``) generates keys of the emulator's own instead.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from ..auth.claims import session_claims
from ..clock import Clock
from ._errors import EmulatorError

__all__ = ["JWT_LIFETIME", "KeyRing", "new_id", "new_token"]

JWT_LIFETIME = 300
"""Seconds a session JWT is valid (Stytch: five minutes, whatever the session length)."""


def new_id(kind: str) -> str:
    """A Stytch-shaped id such as ``member-test-<uuid>``."""
    return f"{kind}-test-{uuid.uuid4()}"


def new_token() -> str:
    """An opaque, unguessable session token (44 url-safe characters, like Stytch's)."""
    return secrets.token_urlsafe(33)


@dataclass(slots=True)
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    jwk: dict[str, Any]
    retire_at: float | None = None


_CERT_NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
_CERT_NOT_AFTER = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)


#: The subject (and issuer) of every key's certificate: a key is shared by the emulators of
#: a process under kids of their own, so its certificate names the key's role, not a kid.
CERTIFICATE_NAME = "stytch-rbac emulator signing key"


def _certificate(private: rsa.RSAPrivateKey) -> bytes:
    """A self-signed X.509 certificate (DER) for the key.

    Deterministic: fixed name and validity, a serial derived from the key's
    modulus and RSA PKCS#1 v1.5 signing, so a key reloaded from a snapshot
    serves the same bytes.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERTIFICATE_NAME)])
    modulus = private.public_key().public_numbers().n
    digest = hashlib.sha256(modulus.to_bytes((modulus.bit_length() + 7) // 8, "big")).digest()
    serial = int.from_bytes(digest[:19], "big") | 1
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(serial)
        .not_valid_before(_CERT_NOT_BEFORE)
        .not_valid_after(_CERT_NOT_AFTER)
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=64)
def _public_jwk(private: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The kid-less public part of the key's JWK, computed once per key object (pool keys
    are the same objects in every emulator: their certificate is signed once)."""
    public: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    der = _certificate(private)
    return {
        "x5c": [base64.b64encode(der).decode()],
        "x5tS256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode(),
        "n": public["n"],
        "e": public["e"],
    }


def _make_key(kid: str, private: rsa.RSAPrivateKey) -> _Key:
    """The key and its public JWK, shaped as Stytch serves it (reference 3.6).

    ``x5c`` holds the key's certificate (standard base64 DER, RFC 7517 4.7) for
    JWT libraries that prefer it to ``n``/``e``; ``x5tS256`` is its SHA-256
    thumbprint, base64url with padding as in Stytch's example (``"FyV...="``).
    """
    public = _public_jwk(private)
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "key_ops": ["verify"],
        "alg": "RS256",
        "kid": kid,
        "x5c": list(public["x5c"]),
        "x5tS256": public["x5tS256"],
        "n": public["n"],
        "e": public["e"],
    }
    return _Key(kid, private, jwk)


def _generate_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _KeyPool:
    """RSA private keys generated once per process, shared by every emulator's key ring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[rsa.RSAPrivateKey] = []

    def first_unused(self, used: set[int]) -> rsa.RSAPrivateKey:
        """The first pool key whose modulus is not in ``used`` (generated when none is left)."""
        with self._lock:
            for key in self._keys:
                if key.public_key().public_numbers().n not in used:
                    return key
            key = _generate_private()
            self._keys.append(key)
            return key


_POOL = _KeyPool()


class KeyRing:
    """The project's RS256 keys: one active signing key, retired keys kept for a grace period.

    Keys come from the process's pool unless ``fresh`` (see the module's docstring);
    either way a rotation never signs with a key this ring holds or held.
    """

    def __init__(self, clock: Clock, *, fresh: bool = False) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._fresh = fresh
        self._keys: list[_Key] = [self._new_key(set())]

    def _new_key(self, used: set[int]) -> _Key:
        private = _generate_private() if self._fresh else _POOL.first_unused(used)
        return _make_key(new_id("jwk"), private)

    def _moduli(self) -> set[int]:
        return {k.private.public_key().public_numbers().n for k in self._keys}

    @property
    def active_kid(self) -> str:
        """The ``kid`` new JWTs are signed with."""
        return self._keys[-1].kid

    def rotate(self, grace_seconds: float) -> str:
        """Start signing with a new key; the old ones stay in the JWKS for ``grace_seconds``."""
        with self._lock:
            used = self._moduli()
        new = self._new_key(used)
        with self._lock:
            retire_at = self._clock.time() + grace_seconds
            for key in self._keys:
                if key.retire_at is None or key.retire_at > retire_at:
                    key.retire_at = retire_at
            self._keys.append(new)
        return new.kid

    def _live(self) -> list[_Key]:
        now = self._clock.time()
        return [k for k in self._keys if k.retire_at is None or k.retire_at > now]

    def jwks(self) -> list[dict[str, Any]]:
        """The public JWKs currently served (the newest last)."""
        return [{**k.jwk, "x5c": list(k.jwk["x5c"])} for k in self._live()]

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT of ``claims`` with the active key's ``kid`` in the header."""
        key = self._keys[-1]
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})

    def verify(self, token: str, *, project_id: str) -> dict[str, Any]:
        """The claims of a JWT this project signed: signature, ``aud``, ``iss`` checked.

        Expiry is not checked here (``sessions.authenticate`` accepts an expired
        JWT while its session lives). Raises ``unable_to_parse_session_jwt`` (401).
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise _unparsable("the session JWT is malformed") from None
        key = next((k for k in self._live() if k.kid == kid), None)
        if key is None:
            raise _unparsable("the session JWT was not signed by a key of this project")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=["RS256"],
                audience=project_id,
                issuer=f"stytch.com/{project_id}",
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iat", "nbf", "sub", "aud", "iss"],
                },
            )
        except jwt.PyJWTError as exc:
            raise _unparsable(
                f"the session JWT failed verification ({type(exc).__name__})"
            ) from None
        try:
            session_claims(claims)
        except ValueError:
            raise _unparsable("the session JWT lacks the Stytch session claims") from None
        return claims

    def decode(self, token: str, *, audience: str) -> dict[str, Any] | None:
        """The claims of an RS256 JWT a live key of this ring signed for ``audience``, with
        ``exp``, ``iat`` and ``nbf`` present; ``None`` for anything else (forged, malformed,
        another project's, signed with a retired key). Time and issuer are the caller's."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        key = next((k for k in self._live() if k.kid == header.get("kid")), None)
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iat", "nbf", "sub", "aud", "iss"],
                },
            )
        except jwt.PyJWTError:
            return None
        return claims

    def to_json(self) -> list[dict[str, Any]]:
        """Every key with its private part, for a state snapshot."""
        return [
            {
                "kid": k.kid,
                "retire_at": k.retire_at,
                "pem": k.private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
            }
            for k in self._keys
        ]

    def load_json(self, data: list[dict[str, Any]]) -> None:
        """Replace the keys with those of a snapshot made by :meth:`to_json`."""
        keys: list[_Key] = []
        for row in data:
            private = serialization.load_pem_private_key(row["pem"].encode(), password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError("a snapshot key is not an RSA private key")
            key = _make_key(str(row["kid"]), private)
            key.retire_at = row.get("retire_at")
            keys.append(key)
        if not keys:
            raise ValueError("a snapshot holds no signing key")
        with self._lock:
            self._keys = keys


def _unparsable(message: str) -> EmulatorError:
    return EmulatorError(401, "unable_to_parse_session_jwt", message)
